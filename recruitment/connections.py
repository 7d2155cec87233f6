"""A workspace's own User Interviews account (SPEC W7): its API key, encrypted at rest, the
webhook subscription registered from Workspace settings and its secret, and the clients
every call to UI goes through.

Every UI call for a workspace uses that workspace's key (`ui_client_for`). A workspace
that has not connected falls back to `UI_API_KEY`, a development default only (the
demo's sandbox account); in production it is unset and such a workspace's calls fail
with `NotConnected`, visibly.

The use cases that talk to UI never hold a transaction open across the call: they read,
call UI, then record what UI answered in one short transaction with its activity entry.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from rally import clock
from rally.permissions import Permission, require
from rally.services import activity_record
from recruitment.models import UIConnection, WebhookEndpoint
from recruitment.user_interviews import errors
from recruitment.user_interviews.client import UIClient, idempotency_key
from recruitment.user_interviews.ratelimit import BACKGROUND

API_KEY_MAX_LENGTH = 200


def ui_api_key(workspace_id):
    """The key UI calls for this workspace use ("" when there is none at all)."""
    connection = UIConnection.objects.filter(workspace_id=workspace_id).only("api_key").first()
    if connection is not None and connection.api_key:
        return connection.api_key
    return settings.UI_API_KEY


def ui_client_for(workspace_id, **options):
    """A client with the workspace's own key (raises NotConnected when it has none)."""
    api_key = ui_api_key(workspace_id) if workspace_id is not None else settings.UI_API_KEY
    return UIClient.from_settings(api_key=api_key, **options)


def catalog_client(**options):
    """UI's criteria catalog is the same for every account: read it with the development
    default key when there is one, else with the first connected workspace's."""
    options = {"metered": True, "priority": BACKGROUND, **options}
    if settings.UI_API_KEY:
        return UIClient.from_settings(**options)
    connection = UIConnection.objects.exclude(api_key="").order_by("created_at").first()
    return UIClient.from_settings(api_key=connection.api_key if connection else None,
                                  **options)


class WorkspaceClients:
    """One client per workspace for a task that works across workspaces (a sweep, a poll);
    each is made on first use and closed with the pool. `WorkspaceClients.background()`
    makes clients that take each request's token at background priority."""

    def __init__(self, **options):
        self.options = options
        self._clients = {}

    def get(self, workspace_id):
        if workspace_id not in self._clients:
            self._clients[workspace_id] = ui_client_for(workspace_id, **self.options)
        return self._clients[workspace_id]

    def close(self):
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @classmethod
    def background(cls, **options):
        return cls(metered=True, priority=BACKGROUND, **options)


# The connection page's use cases -------------------------------------------------------------


def webhook_url_for(workspace):
    """Where UI delivers this workspace's webhooks (its own receiver and secret)."""
    return settings.RALLY_BASE_URL.rstrip("/") + reverse(
        "recruitment:workspace_webhook", kwargs={"workspace_id": workspace.pk})


def webhook_endpoint_for(workspace):
    return (WebhookEndpoint.objects.filter(workspace=workspace, is_active=True)
            .order_by("-created_at").first())


@transaction.atomic(durable=True)
def ui_connection_save(*, by, api_key):
    """Store the workspace's API key (encrypted). A new key is untested until tested."""
    require(by, Permission.MANAGE_WORKSPACE)
    api_key = (api_key or "").strip()
    if not api_key:
        raise ValidationError({"api_key": "Enter the API key from your User Interviews "
                                          "account settings."})
    if len(api_key) > API_KEY_MAX_LENGTH or any(c.isspace() for c in api_key):
        raise ValidationError({"api_key": "That doesn't look like an API key: it has spaces "
                                          f"or is longer than {API_KEY_MAX_LENGTH} characters."})
    now = clock.now()
    connection = UIConnection.objects.select_for_update().filter(
        workspace=by.workspace).first() or UIConnection(workspace=by.workspace, created_at=now)
    connection.api_key = api_key
    connection.api_key_hint = api_key[-4:]
    connection.tested_at = connection.test_ok = None
    connection.test_message = ""
    connection.updated_at = now
    connection.save()
    activity_record(workspace=by.workspace, actor=by.user, action="workspace.ui_key_saved",
                    summary=f"Saved the User Interviews API key ending in {api_key[-4:]}",
                    data={"hint": api_key[-4:]})
    return connection


@dataclass(frozen=True)
class TestResult:
    __test__ = False  # not a pytest test class

    ok: bool
    message: str


def ui_connection_test(*, by, client=None):
    """"Test connection": one read at UI with the stored key; the outcome is kept on the
    connection and shown on the page."""
    require(by, Permission.MANAGE_WORKSPACE)
    connection = UIConnection.objects.filter(workspace=by.workspace).first()
    if connection is None or not connection.api_key:
        raise ValidationError({"api_key": "Save an API key first."})
    owned = client is None
    try:
        client = client or ui_client_for(by.workspace_id, max_attempts=1,
                                         rate_limit_budget_seconds=5)
        try:
            next(iter(client.characteristics_pages(page_size=1)))
        finally:
            if owned:
                client.close()
    except errors.AuthError:
        result = TestResult(False, "User Interviews refused this API key: check it in your "
                                   "User Interviews account and save it again.")
    except errors.UIError as error:
        result = TestResult(False, f"User Interviews could not be reached: {error}"[:300])
    else:
        result = TestResult(True, "User Interviews accepted this API key.")
    UIConnection.objects.filter(pk=connection.pk).update(
        tested_at=clock.now(), test_ok=result.ok, test_message=result.message)
    return result


def webhook_subscribe(*, by, client=None):
    """Register this workspace's webhook subscription at UI (idempotent: an active one is
    kept); the secret UI answers is stored encrypted."""
    from recruitment.webhooks import webhook_endpoint_ensure

    require(by, Permission.MANAGE_WORKSPACE)
    before = webhook_endpoint_for(by.workspace)
    owned = client is None
    client = client or ui_client_for(by.workspace_id, max_attempts=2)
    try:
        endpoint = webhook_endpoint_ensure(client=client, url=webhook_url_for(by.workspace),
                                           workspace=by.workspace)
    finally:
        if owned:
            client.close()
    if before is not None and before.pk == endpoint.pk:
        return endpoint  # UI still has it: nothing new
    with transaction.atomic(durable=True):
        activity_record(workspace=by.workspace, actor=by.user,
                        action="workspace.ui_webhooks_subscribed",
                        summary="Subscribed to User Interviews webhooks",
                        data={"subscription": endpoint.ui_subscription_id})
    return endpoint


def webhook_secret_rotate(*, by, client=None):
    """"Rotate secret": UI makes a new secret and keeps signing with the old one for a while;
    Rally verifies with both until the next rotation."""
    require(by, Permission.MANAGE_WORKSPACE)
    endpoint = webhook_endpoint_for(by.workspace)
    if endpoint is None:
        raise ValidationError("Subscribe to webhooks first.")
    owned = client is None
    client = client or ui_client_for(by.workspace_id, max_attempts=2)
    rotation = clock.now().strftime("%Y%m%dT%H%M%S.%f")
    try:
        subscription = client.webhook_subscription_rotate_secret(
            endpoint.ui_subscription_id,
            key=idempotency_key("webhook_secret_rotation",
                                f"{endpoint.ui_subscription_id}#{rotation}"))
    finally:
        if owned:
            client.close()
    if not subscription.secret:
        raise errors.MalformedResponse("User Interviews answered the rotation without a "
                                       "new secret.")
    with transaction.atomic(durable=True):
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret = endpoint.secret
        endpoint.secret = subscription.secret
        endpoint.updated_at = clock.now()
        endpoint.save(update_fields=["secret", "previous_secret", "updated_at"])
        activity_record(workspace=by.workspace, actor=by.user,
                        action="workspace.ui_webhook_secret_rotated",
                        summary="Rotated the User Interviews webhook secret",
                        data={"subscription": endpoint.ui_subscription_id})
    return endpoint


def webhook_deliveries_recent(*, workspace, client=None, limit=10):
    """The last deliveries UI made to this workspace's subscription (newest first), or
    None when UI cannot say right now."""
    endpoint = webhook_endpoint_for(workspace)
    if endpoint is None:
        return []
    owned = client is None
    try:
        client = client or ui_client_for(workspace.pk, max_attempts=1,
                                         rate_limit_budget_seconds=0, timeout=5.0)
        try:
            page = next(iter(client.webhook_deliveries_pages(endpoint.ui_subscription_id,
                                                             page_size=limit)))
        finally:
            if owned:
                client.close()
    except (errors.UIError, StopIteration):
        return None
    return list(page.items)
