"""Workspace settings → User Interviews (SPEC W7): each workspace's own API key, encrypted at
rest, tested, used for every call; its own webhook receiver, subscription and secret."""

# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name


import pytest
from django.db import connection as db_connection
from django.urls import reverse

from rally.models import ActivityEntry, OutboxOperation
from rally.services import outbox_enqueue
from recruitment import connections, outbox
from recruitment.models import UIConnection, WebhookEndpoint, WebhookEvent
from recruitment.user_interviews import errors
from tests.rally.factories import MembershipFactory, WorkspaceFactory
from tests.recruitment.factories import UIConnectionFactory, WebhookEndpointFactory
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    SANDBOX_URL,
    another_secret,
    deliver,
    event_document,
    sandbox_transport,
)

pytestmark = pytest.mark.django_db

BETA_KEY = "ui_live_beta_0001"


@pytest.fixture
def sandbox_accounts(sandbox_transport, settings, monkeypatch):
    """The sandbox in-process, accepting the workspace's own key (and not the dev default,
    which is unset as in production)."""
    settings.SANDBOX_API_KEYS = [BETA_KEY]
    settings.UI_API_KEY = ""
    settings.UI_API_URL = SANDBOX_URL
    settings.RALLY_BASE_URL = "http://testserver"
    real = connections.ui_client_for

    def in_process(workspace_id, **options):
        return real(workspace_id, transport=sandbox_transport, sleep=lambda seconds: None,
                    **options)

    monkeypatch.setattr(connections, "ui_client_for", in_process)
    return sandbox_transport


def _save_key(client, key):
    return client.post(reverse("recruitment:connection"), {"api_key": key})


def test_the_key_is_kept_encrypted_and_only_its_hint_is_shown(admin, client_for):
    client = client_for(admin)
    response = _save_key(client, f"  {BETA_KEY} ")
    assert response.status_code == 302
    saved = UIConnection.objects.get(workspace=admin.workspace)
    assert (saved.api_key, saved.api_key_hint, saved.test_ok) == (BETA_KEY, "0001", None)
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM recruitment_uiconnection WHERE id = %s",
                       [saved.pk])
        stored = cursor.fetchone()[0]
    assert BETA_KEY not in stored and stored.startswith("gAAAA")  # a Fernet token
    page = client.get(reverse("recruitment:connection")).content.decode()
    assert "0001" in page and BETA_KEY not in page
    assert ActivityEntry.objects.filter(workspace=admin.workspace,
                                        action="workspace.ui_key_saved").count() == 1


def test_a_blank_or_spaced_key_is_refused_and_nothing_is_saved(admin, client_for):
    client = client_for(admin)
    for bad in ("", "   ", "two words"):
        response = _save_key(client, bad)
        assert response.status_code == 400
        assert 'class="error-summary"' in response.content.decode()
    assert not UIConnection.objects.exists()


@pytest.mark.parametrize("persona", ["ops_manager", "researcher", "observer"])
def test_only_admins_reach_the_connection(persona, request, client_for):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("recruitment:connection")).status_code == 403
    assert _save_key(client, BETA_KEY).status_code == 403
    for name in ("connection_test", "webhooks_subscribe", "webhook_secret_rotate"):
        assert client.post(reverse(f"recruitment:{name}")).status_code == 403
    assert not UIConnection.objects.exists() and not WebhookEndpoint.objects.exists()


# UI is the sandbox served in-process: the use cases are called directly, since a nested
# request inside a test client's request would close the test's database connection.


def test_test_connection_says_whether_ui_accepts_the_workspace_key(admin, sandbox_accounts):
    connections.ui_connection_save(by=admin, api_key="ui_live_wrong_key")
    result = connections.ui_connection_test(by=admin)
    saved = UIConnection.objects.get()
    assert result.ok is False and saved.test_ok is False and "refused" in saved.test_message
    connections.ui_connection_save(by=admin, api_key=BETA_KEY)
    assert connections.ui_connection_test(by=admin).ok is True
    saved.refresh_from_db()
    assert saved.test_ok is True and saved.tested_at is not None
    # The request went out with the workspace's key, not a global one.
    request, response = sandbox_accounts.exchanges[-1]
    assert request.headers["Authorization"] == f"Bearer {BETA_KEY}"
    assert response.status_code == 200


def test_subscribe_then_rotate_keeps_the_previous_secret_until_the_next_rotation(
        admin, client_for, sandbox_accounts, monkeypatch):
    connections.ui_connection_save(by=admin, api_key=BETA_KEY)
    endpoint = connections.webhook_subscribe(by=admin)
    assert endpoint.workspace == admin.workspace
    assert endpoint.url == "http://testserver" + reverse(
        "recruitment:workspace_webhook", kwargs={"workspace_id": admin.workspace.pk})
    first = endpoint.secret
    assert first
    assert connections.webhook_subscribe(by=admin) == endpoint  # again: the same one
    assert WebhookEndpoint.objects.count() == 1
    connections.webhook_secret_rotate(by=admin)
    endpoint.refresh_from_db()
    assert endpoint.previous_secret == first and endpoint.secret not in ("", first)
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM recruitment_webhookendpoint")
        assert endpoint.secret not in cursor.fetchone()[0]
    assert connections.webhook_deliveries_recent(workspace=admin.workspace) == []
    assert ActivityEntry.objects.filter(
        action__in=["workspace.ui_webhooks_subscribed", "workspace.ui_webhook_secret_rotated"]
    ).count() == 2
    # The page shows the subscription (the deliveries as UI listed them just now).
    monkeypatch.setattr(connections, "webhook_deliveries_recent", lambda **kwargs: [])
    page = client_for(admin).get(reverse("recruitment:connection")).content.decode()
    assert endpoint.ui_subscription_id in page and "Rotate secret" in page
    assert "No deliveries yet" in page


def test_rotating_without_a_subscription_says_so_and_changes_nothing(admin, client_for):
    response = client_for(admin).post(reverse("recruitment:webhook_secret_rotate"),
                                      follow=True)
    assert "Subscribe to webhooks first." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def _endpoint(workspace, secret, subscription):
    return WebhookEndpointFactory(
        workspace=workspace, ui_subscription_id=subscription, secret=secret,
        url=f"http://testserver/webhooks/user-interviews/{workspace.pk}/")


def test_each_workspace_receiver_takes_only_its_own_secret(client, workspace,
                                                           webhook_dispatches):
    other = WorkspaceFactory(name="Beta Labs")
    acme, beta = another_secret("acme"), another_secret("beta")
    _endpoint(workspace, acme, "whs_acme")
    _endpoint(other, beta, "whs_beta")
    document = event_document("evt_shared")
    assert deliver(client, document, secret=beta, workspace=workspace).status_code == 401
    assert deliver(client, document, secret=acme, workspace=workspace).status_code == 200
    assert deliver(client, document, secret=beta, workspace=other).status_code == 200
    assert deliver(client, document, secret=beta, workspace=other).status_code == 200  # again
    assert sorted(WebhookEvent.objects.values_list("workspace__name", "deliveries")) == [
        ("Acme Research", 1), ("Beta Labs", 2)]


def test_every_call_uses_the_workspace_key_and_none_without_one(workspace, settings):
    settings.UI_API_KEY = ""
    other = WorkspaceFactory(name="Beta Labs")
    UIConnectionFactory(workspace=other, api_key=BETA_KEY)
    with connections.ui_client_for(other.pk) as client:
        assert client.http.headers["Authorization"] == f"Bearer {BETA_KEY}"
    with pytest.raises(errors.NotConnected):
        connections.ui_client_for(workspace.pk)
    settings.UI_API_KEY = "rally-dev-key"  # the development default fills in
    with connections.ui_client_for(workspace.pk) as client:
        assert client.http.headers["Authorization"] == "Bearer rally-dev-key"


def test_an_operation_of_a_workspace_without_an_account_fails_visibly(workspace, settings,
                                                                       monkeypatch):
    settings.UI_API_KEY = ""
    monkeypatch.setattr("rally.services.outbox_dispatch", lambda pk: None)
    row = outbox_enqueue(workspace=workspace, operation="pause_recruit", subject="s-1",
                         payload={})
    assert outbox.outbox_execute(operation_id=row.pk) == OutboxOperation.Status.FAILED
    row.refresh_from_db()
    assert "connect the workspace's account" in row.last_error


def test_a_second_admin_workspace_member_sees_its_own_connection(admin, client_for):
    other = WorkspaceFactory(name="Beta Labs")
    MembershipFactory(user=admin.user, workspace=other, role="admin")
    UIConnectionFactory(workspace=other, api_key=BETA_KEY, api_key_hint="0001")
    page = client_for(admin).get(reverse("recruitment:connection")).content.decode()
    # The other workspace's key is not shown ("0001" alone may occur in an id on the page).
    assert "<code>0001</code>" not in page and "No key saved yet" in page
