"""The integration end to end against the sandbox in-process: outbox handlers, crashes and
faults, the poller with updatedSince, and webhooks the sandbox really sends."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.db import transaction

from participants.models import Application
from rally import clock
from rally.models import ActivityEntry
from rally.services import outbox_enqueue
from rally.wsgi import application
from recruitment import operations, outbox, sync
from recruitment.models import WebhookEndpoint, WebhookEvent
from recruitment.webhooks import webhook_endpoint_ensure
from tests.participants.factories import ApplicationFactory, StudyFactory
from tests.recruitment.factories import RecruitmentFactory
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)

pytestmark = pytest.mark.django_db


class WorkerCrash(BaseException):
    """The worker process dies (nothing in the executor catches this)."""


@pytest.fixture
def study(admin):
    return StudyFactory(workspace=admin.workspace, owner=admin.user)


@pytest.fixture
def recruitment(study):
    """As "Start Recruitment" leaves it: starting, with the outbox rows still to run."""
    return RecruitmentFactory(study=study)


def enqueue(study, operation):
    with transaction.atomic():
        return outbox_enqueue(workspace=study.workspace, operation=operation, subject=study.pk,
                              payload={"study_id": str(study.pk)}, study_id=study.pk)


def run(row, client):
    return outbox.outbox_execute(operation_id=row.pk, client=client)


def after_lease():
    clock.advance(seconds=outbox.RUN_LEASE.total_seconds() + 1)


def started_recruit(study, recruitment, client):
    assert run(enqueue(study, "create_recruit"), client) == "done"
    assert run(enqueue(study, "launch_recruit"), client) == "done"
    recruitment.refresh_from_db()
    return recruitment


def test_start_creates_and_launches_the_recruit(study, recruitment, sandbox_ui):
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    assert recruitment.state == "pending_review"
    recruit = sandbox_ui.recruit_get(recruitment.ui_recruit_id)
    assert recruit.external_id == str(study.pk)
    assert recruit.num_participants == 5 and recruit.compensation == study.incentive_amount
    actions = set(ActivityEntry.objects.filter(study_id=study.pk).values_list("action",
                                                                            flat=True))
    assert "recruitment.pending_review" in actions


def test_launch_before_the_recruit_exists_waits_and_retries(study, recruitment, sandbox_ui):
    launch = enqueue(study, "launch_recruit")
    assert run(launch, sandbox_ui) == "pending"
    launch.refresh_from_db()
    # Waiting for the create is normal: no error words, due again later (R2).
    assert launch.last_error == ""
    assert launch.next_attempt_at > clock.now()
    assert run(enqueue(study, "create_recruit"), sandbox_ui) == "done"
    launch.refresh_from_db()
    assert launch.next_attempt_at <= clock.now()  # the create's success wakes it at once
    assert run(launch, sandbox_ui) == "done"
    recruitment.refresh_from_db()
    assert recruitment.state == "pending_review"


def test_crash_after_create_at_ui_makes_no_second_recruit(study, recruitment, sandbox_ui,
                                                          sandbox_transport, monkeypatch):
    create = enqueue(study, "create_recruit")

    def crash(operation, result):
        raise WorkerCrash

    monkeypatch.setattr(operations.HANDLERS["create_recruit"], "apply", crash)
    with pytest.raises(WorkerCrash):
        run(create, sandbox_ui)
    recruitment.refresh_from_db()
    assert recruitment.ui_recruit_id is None  # UI has it; Rally never recorded it
    monkeypatch.undo()

    after_lease()
    redelivered = []
    monkeypatch.setattr("recruitment.outbox.outbox_dispatch", redelivered.append)
    assert outbox.outbox_sweep() == [create.pk] and redelivered == [create.pk]
    assert run(create, sandbox_ui) == "done"
    recruitment.refresh_from_db()
    assert recruitment.ui_recruit_id
    assert len(sandbox_transport.requests("POST", "/recruits")) == 1
    found = [r for page in sandbox_ui.recruits_pages(external_id=study.pk) for r in page.items]
    assert [r.id for r in found] == [recruitment.ui_recruit_id]


def test_crash_after_launch_at_ui_resends_with_the_same_key(study, recruitment, sandbox_ui,
                                                            sandbox_transport, monkeypatch):
    assert run(enqueue(study, "create_recruit"), sandbox_ui) == "done"
    launch = enqueue(study, "launch_recruit")
    monkeypatch.setattr(operations.HANDLERS["launch_recruit"], "apply",
                        lambda operation, result: (_ for _ in ()).throw(WorkerCrash()))
    with pytest.raises(WorkerCrash):
        run(launch, sandbox_ui)
    monkeypatch.undo()
    after_lease()
    assert run(launch, sandbox_ui) == "done"
    sends = sandbox_transport.requests("POST", "/launches")
    assert len(sends) == 2
    assert sends[0][0].headers["Idempotency-Key"] == sends[1][0].headers["Idempotency-Key"]
    assert sends[1][1].headers.get("Idempotent-Replayed") == "true"
    recruitment.refresh_from_db()
    assert recruitment.state == "pending_review"


def test_ui_failing_then_recovering_sends_once(study, recruitment, sandbox_ui, sandbox_transport):
    sandbox_control(sandbox_ui, "faults", {"path": "/recruits", "status": 503, "count": 1})
    create = enqueue(study, "create_recruit")
    assert run(create, sandbox_ui) == "pending"
    clock.advance(seconds=10)
    assert run(create, sandbox_ui) == "done"
    found = [r for page in sandbox_ui.recruits_pages(external_id=study.pk) for r in page.items]
    assert len(found) == 1


def test_definite_refusal_fails_the_start_visibly(study, recruitment, sandbox_ui):
    study.audience_type = "b2b"  # B2B without a professional criterion: UI answers 422
    study.save()
    create = enqueue(study, "create_recruit")
    assert run(create, sandbox_ui) == "failed"
    create.refresh_from_db()
    recruitment.refresh_from_db()
    assert "422" in create.last_error
    assert recruitment.state == "failed" and "422" in recruitment.failure_reason
    assert ActivityEntry.objects.filter(study_id=study.pk, action="recruitment.failed").exists()
    clock.advance(hours=2)
    assert run(create, sandbox_ui) is None


def test_declined_review_reaches_rally_by_poll(study, recruitment, sandbox_ui):
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "decline", "reason": "Incentive too low for this audience"})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    recruitment.refresh_from_db()
    assert recruitment.state == "declined"
    assert recruitment.declined_reason == "Incentive too low for this audience"


def test_pause_resume_and_close_follow_ui(study, recruitment, sandbox_ui):
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "approve"})
    for operation, state in (("pause_recruit", "paused"), ("resume_recruit", "recruiting"),
                             ("close_recruit", "closed")):
        assert run(enqueue(study, operation), sandbox_ui) == "done"
        recruitment.refresh_from_db()
        assert recruitment.state == state


def test_poller_syncs_applicants_and_then_asks_only_for_changes(study, recruitment,
                                                                sandbox_ui, sandbox_transport):
    study.criteria = [{"characteristic": "age_range", "values": ["25-34"]}]
    study.save()
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    recruit_id = recruitment.ui_recruit_id
    sandbox_control(sandbox_ui, f"recruits/{recruit_id}/review", {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruit_id}/applicants", {"count": 7, "seed": 3})
    first_poll = clock.now()
    assert sync.recruitments_poll_all(client=sandbox_ui) == {"polled": 1, "failed": 0}
    recruitment.refresh_from_db()
    assert recruitment.state == "recruiting"
    assert recruitment.application_url.startswith("http")
    assert Application.objects.filter(study=study).count() == 7
    assert recruitment.updated_since >= first_poll and recruitment.last_synced_at

    clock.advance(seconds=600)
    sandbox_control(sandbox_ui, f"recruits/{recruit_id}/applicants",
                    {"count": 3, "seed": 4, "viaDirectLink": True, "meetsCriteria": False})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    asked = [parse_qs(urlparse(str(request.url)).query) for request, _ in
             sandbox_transport.requests("GET", "/applicants")]
    assert "filter[updatedSince]" not in asked[0]
    since = asked[-1]["filter[updatedSince]"][0]
    expected = recruitment.updated_since - sync.POLL_SAFETY_MARGIN
    assert since.replace("Z", "+00:00") == expected.isoformat()
    assert Application.objects.filter(study=study).count() == 10
    unqualified = Application.objects.filter(study=study, status="unqualified")
    assert unqualified.count() == 3
    assert all(a.source == "direct_link" and a.unmet_criteria for a in unqualified)


def test_two_pollers_never_sync_one_recruitment_at_once(study, recruitment, sandbox_ui):
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    assert sync._claim_for_poll(recruitment.pk, clock.now()) == 1
    assert sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui) is False


def test_invite_goes_to_ui_with_rallys_booking_link(study, recruitment, sandbox_ui):
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    recruit_id = recruitment.ui_recruit_id
    sandbox_control(sandbox_ui, f"recruits/{recruit_id}/review", {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruit_id}/applicants", {"count": 2, "seed": 5})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    application, other = Application.objects.filter(study=study).order_by("ui_applicant_id")
    with transaction.atomic():
        approve = outbox_enqueue(workspace=study.workspace, operation="approve_applicant",
                                 subject=application.pk, study_id=study.pk,
                                 payload={"application_id": str(application.pk)})
        other.rejection_reason = "Not a fit for this round"
        other.save()
        reject = outbox_enqueue(workspace=study.workspace, operation="reject_applicant",
                                subject=other.pk, study_id=study.pk,
                                payload={"application_id": str(other.pk)})
    assert run(approve, sandbox_ui) == "done" and run(reject, sandbox_ui) == "done"
    application.refresh_from_db()
    other.refresh_from_db()
    assert (application.status, other.status) == ("invited", "rejected")
    response = sandbox_ui.http.get(f"applicants/{application.ui_applicant_id}")
    assert "/book/" in response.json()["data"]["attributes"]["invitationUrl"]


def test_sandbox_webhooks_reach_rally_and_are_processed_once(study, recruitment, sandbox_ui,
                                                             sandbox_transport, monkeypatch):
    from sandbox import webhooks as sandbox_webhooks

    endpoint = webhook_endpoint_ensure(client=sandbox_ui,
                                       url="http://testserver/webhooks/user-interviews/")
    assert endpoint.secret.startswith("whsec_")
    assert webhook_endpoint_ensure(client=sandbox_ui, url=endpoint.url) == endpoint
    monkeypatch.setattr(sandbox_webhooks, "http_client", lambda: httpx.Client(
        transport=httpx.WSGITransport(app=application)))
    monkeypatch.setattr("recruitment.webhooks.webhook_event_dispatch", lambda pk: (
        operations.webhook_event_process(event_pk=pk, client=sandbox_ui)))

    recruitment = started_recruit(study, recruitment, sandbox_ui)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/applicants",
                    {"count": 4, "seed": 9})
    assert sandbox_webhooks.deliveries_send_due() > 0
    recruitment.refresh_from_db()
    assert recruitment.state == "recruiting"
    assert Application.objects.filter(study=study).count() == 4
    events = WebhookEvent.objects.all()
    assert events and all(event.processed_at and event.attempts == 1 for event in events)


def test_the_official_library_verifies_every_real_sandbox_delivery(study, recruitment,
                                                                   sandbox_ui,
                                                                   sandbox_transport,
                                                                   monkeypatch):
    """What the sandbox really sends passes the Standard Webhooks library's own verification
    with the secret UI gave Rally, and also across a secret rotation (two signatures)."""
    from standardwebhooks.webhooks import Webhook

    from sandbox import webhooks as sandbox_webhooks

    endpoint = webhook_endpoint_ensure(client=sandbox_ui,
                                       url="http://testserver/webhooks/user-interviews/")
    deliveries = []
    monkeypatch.setattr(sandbox_webhooks, "http_client", lambda: httpx.Client(
        transport=httpx.MockTransport(lambda request: (
            deliveries.append(request), httpx.Response(200, json={}))[1])))
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/applicants",
                    {"count": 3, "seed": 9})
    assert sandbox_webhooks.deliveries_send_due() == len(deliveries) >= 5
    rotated = sandbox_ui.http.post(
        f"webhook_subscriptions/{endpoint.ui_subscription_id}/secret_rotations",
        headers={"Idempotency-Key": "rotate-1"}).json()["data"]["attributes"]["secret"]
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/applicants",
                    {"count": 1, "seed": 10})
    assert sandbox_webhooks.deliveries_send_due() > 0
    for request in deliveries:
        envelope = Webhook(endpoint.secret).verify(request.content, dict(request.headers))
        assert envelope["id"] == request.headers["webhook-id"]
    after_rotation = deliveries[-1]
    assert len(after_rotation.headers["webhook-signature"].split(" ")) == 2
    Webhook(rotated).verify(after_rotation.content, dict(after_rotation.headers))


def test_failed_operations_show_on_the_sync_panel_with_retry(study, recruitment, sandbox_ui,
                                                             admin, observer, client_for):
    study.audience_type = "b2b"
    study.save()
    create = enqueue(study, "create_recruit")
    run(create, sandbox_ui)
    page = client_for(admin).get(f"/studies/{study.pk}/sync/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Create the study at User Interviews" in html and "422" in html
    assert "Retry now" in html and "Not synced with User Interviews yet" in html
    retry_url = f"/studies/{study.pk}/sync/{create.pk}/retry/"
    observer_client = client_for(observer)
    assert "Retry now" not in observer_client.get(f"/studies/{study.pk}/sync/").content.decode()
    assert observer_client.post(retry_url).status_code == 403
    response = client_for(admin).post(retry_url)
    assert response.status_code == 302
    create.refresh_from_db()
    assert create.status == "pending"


def test_retry_now_from_the_panel_with_htmx_answers_the_panel(study, recruitment, sandbox_ui,
                                                              admin, client_for):
    study.audience_type = "b2b"
    study.save()
    create = enqueue(study, "create_recruit")
    run(create, sandbox_ui)
    response = client_for(admin).post(f"/studies/{study.pk}/sync/{create.pk}/retry/",
                                      HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="sync-status"' in html and "badge--pending" in html
    assert 'data-hx-trigger="every 10s"' in html  # keeps refreshing while something is pending


def test_sync_panel_is_not_visible_to_another_workspace(study, recruitment, outsider,
                                                        client_for):
    assert client_for(outsider).get(f"/studies/{study.pk}/sync/").status_code == 404


def test_application_factory_builds_in_the_study_workspace(study):
    application = ApplicationFactory(study=study)
    assert application.participant.workspace_id == study.workspace_id


def test_study_overview_shows_sync_health(study, recruitment, admin, client_for):
    recruitment.last_synced_at = clock.now()
    recruitment.save()
    html = client_for(admin).get(f"/studies/{study.pk}/").content.decode()
    assert 'id="sync-status"' in html and "Last synced with User Interviews" in html


def test_rally_panel_study_overview_has_no_sync_panel(admin, client_for):
    study = StudyFactory(workspace=admin.workspace, owner=admin.user, source="rally_panel")
    html = client_for(admin).get(f"/studies/{study.pk}/").content.decode()
    assert 'id="sync-status"' not in html


@pytest.mark.django_db(transaction=True)
def test_demo_seed_subscribes_the_receiver_once(settings, admin):
    from demo import sandbox_account as demo
    from demo.workspace import DemoContext
    from recruitment.user_interviews.client import UIClient

    settings.SANDBOX_ENABLED = True
    settings.UI_API_URL = "http://testserver/sandbox/ui/api"
    settings.UI_API_KEY = settings.SANDBOX_API_KEYS[0]
    context = DemoContext(workspace=admin.workspace)
    demo.seed(context)
    demo.seed(context)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == demo.webhook_url() and endpoint.is_active and endpoint.secret
    with UIClient.from_settings(transport=httpx.WSGITransport(app=application)) as client:
        subscriptions = client.webhook_subscriptions_list()
    assert [s.id for s in subscriptions] == [endpoint.ui_subscription_id]
    assert subscriptions[0].url == endpoint.url


def test_celery_knows_the_integration_tasks():
    from django.conf import settings as django_settings

    from rally.celery import app

    app.loader.import_default_modules()
    assert {"recruitment.outbox_execute", "recruitment.outbox_sweep",
            "recruitment.webhook_process", "recruitment.poll"} <= set(app.tasks)
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert schedule["recruitment-outbox-sweep"]["task"] == "recruitment.outbox_sweep"
    assert schedule["recruitment-poll"]["task"] == "recruitment.poll"


def test_a_subscription_ui_disabled_is_replaced(sandbox_ui):
    from sandbox.models import WebhookSubscription

    url = "http://testserver/webhooks/user-interviews/"
    first = webhook_endpoint_ensure(client=sandbox_ui, url=url)
    WebhookSubscription.objects.filter(pk=first.ui_subscription_id).update(active=False)
    second = webhook_endpoint_ensure(client=sandbox_ui, url=url)
    assert second.ui_subscription_id != first.ui_subscription_id and second.is_active
    first.refresh_from_db()
    assert not first.is_active
    assert [s.id for s in sandbox_ui.webhook_subscriptions_list()] == [
        second.ui_subscription_id]


def test_a_second_start_after_a_decline_gets_a_recruit_of_its_own(study, recruitment,
                                                                   sandbox_ui):
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    declined_id = recruitment.ui_recruit_id
    sandbox_control(sandbox_ui, f"recruits/{declined_id}/review", {"outcome": "decline",
                                                                   "reason": "Too broad"})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    recruitment.refresh_from_db()
    assert recruitment.state == "declined"

    # "Start Recruitment" again (as recruitment.orchestration does it): attempt 2.
    recruitment.state, recruitment.start_attempts = "starting", 2
    recruitment.save()
    with transaction.atomic():
        rows = [outbox_enqueue(workspace=study.workspace, operation=operation,
                               subject=f"{study.pk}:2", study_id=study.pk,
                               payload={"study_id": str(study.pk), "attempt": 2})
                for operation in ("create_recruit", "launch_recruit")]
    # A late look at the declined recruit changes nothing before the new one exists.
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    recruitment.refresh_from_db()
    assert recruitment.state == "starting"
    assert [run(row, sandbox_ui) for row in rows] == ["done", "done"]
    recruitment.refresh_from_db()
    assert recruitment.ui_recruit_id != declined_id
    assert recruitment.state == "pending_review"
    assert sandbox_ui.recruit_get(recruitment.ui_recruit_id).external_id == f"{study.pk}:2"
    # News about the old recruit is no longer about this study's recruitment.
    old = sandbox_ui.recruit_get(declined_id)
    assert sync.recruitment_apply_recruit(result=sync.recruit_result(old),
                                          actor_label="test") is None


@pytest.mark.parametrize("when", ["before", "after"])
def test_timeout_around_create_makes_one_recruit(study, recruitment, sandbox_ui,
                                                 sandbox_transport, when):
    """A timeout after UI applied it is looked up, not sent again; a timeout before is
    re-sent with the same key. Either way UI ends with one recruit for the study."""
    sandbox_control(sandbox_ui, "faults", {"path": "/recruits", "method": "POST",
                                           "timeout": when, "count": 1})
    create = enqueue(study, "create_recruit")
    assert run(create, sandbox_ui) == "pending"
    create.refresh_from_db()
    assert "did not answer" in create.last_error or "broke" in create.last_error
    clock.advance(seconds=10)
    assert run(create, sandbox_ui) == "done"
    posts = sandbox_transport.requests("POST", "/recruits")
    assert len(posts) == (1 if when == "after" else 2)
    assert len({request.headers["Idempotency-Key"] for request, _ in posts}) == 1
    found = [r for page in sandbox_ui.recruits_pages(external_id=study.pk) for r in page.items]
    recruitment.refresh_from_db()
    assert [r.id for r in found] == [recruitment.ui_recruit_id]


QUESTION = {"uid": "q-often", "type": "single_choice", "text": "How often do you shop online?",
            "help": "", "required": True,
            "options": [{"uid": "o-weekly", "label": "Weekly"},
                        {"uid": "o-never", "label": "Never"}],
            "logic": {"skip": {}, "showIf": None}}


def test_the_recruit_carries_the_studys_screener_and_its_new_versions(study, recruitment,
                                                                      sandbox_ui):
    from studies.models import ScreenerVersion

    ScreenerVersion.objects.create(study=study, number=1, questions=[QUESTION],
                                   created_at=clock.now())
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    assert sandbox_ui.recruit_get(recruitment.ui_recruit_id).screener_version == 1
    changed = {**QUESTION, "text": "How often do you buy things online?"}
    ScreenerVersion.objects.create(study=study, number=2, questions=[changed],
                                   created_at=clock.now())
    with transaction.atomic():
        update = outbox_enqueue(workspace=study.workspace, operation="update_recruit",
                                subject=f"{study.pk}:screener:2", study_id=study.pk,
                                payload={"study_id": str(study.pk), "fields": ["screener"]})
    assert run(update, sandbox_ui) == "done"
    assert sandbox_ui.recruit_get(recruitment.ui_recruit_id).screener_version == 2
