"""Processing stored webhook events: re-fetch from UI, upsert; once per event id."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from participants.models import Application
from rally import clock
from recruitment import operations, sync
from recruitment.models import Recruitment, WebhookEvent
from recruitment.user_interviews import errors
from recruitment.user_interviews.resources import ApplicantStatus, RecruitStatus
from tests.recruitment.factories import RecruitmentFactory, WebhookEventFactory
from tests.recruitment.sync_support import (
    RecordedUI,
    applicant,
    deliver,
    event_document,
    recruit,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


@pytest.fixture
def recruitment(workspace):
    return RecruitmentFactory(study__workspace=workspace, ui_recruit_id="rec_1",
                              state=Recruitment.State.PENDING_REVIEW)


@pytest.fixture
def ui():
    return RecordedUI()


@pytest.fixture
def worker(monkeypatch, ui):
    """Deliveries are processed at once by an in-process 'worker' using `ui`."""
    processed = []

    def dispatch(event_pk):
        try:
            processed.append(operations.webhook_event_process(event_pk=event_pk, client=ui))
        except Exception:
            processed.append("error")

    monkeypatch.setattr("recruitment.webhooks.webhook_event_dispatch", dispatch)
    return processed


def test_applicant_event_upserts_the_applicant_ui_describes(client, recruitment, ui, worker):
    ui.applicants = [applicant(1, updated_at=clock.now())]
    assert deliver(client, event_document("evt_1")).status_code == 200
    assert worker == [True]
    application = Application.objects.get()
    assert (application.study, application.ui_applicant_id) == (recruitment.study, "app_1")
    assert WebhookEvent.objects.get().processed_at is not None
    recruitment.refresh_from_db()
    assert recruitment.last_synced_at is not None


def test_replayed_event_is_processed_once(client, recruitment, ui, worker):
    ui.applicants = [applicant(1, updated_at=clock.now())]
    document = event_document("evt_1")
    for _ in range(3):
        assert deliver(client, document).status_code == 200
    assert worker == [True]
    assert WebhookEvent.objects.get().attempts == 1
    assert [name for name, *_ in ui.calls] == ["applicants_pages"]


def test_processing_a_processed_event_again_does_nothing(recruitment, ui, client, worker):
    deliver(client, event_document("evt_1"))
    event = WebhookEvent.objects.get()
    assert operations.webhook_event_process(event_pk=event.pk, client=ui) is False


def test_handler_error_leaves_the_event_for_its_next_delivery(client, recruitment, ui, worker):
    ui.applicants = [applicant(1, updated_at=clock.now())]
    ui.fail_with = errors.Retryable("UI is down")
    document = event_document("evt_1")
    deliver(client, document)
    event = WebhookEvent.objects.get()
    assert worker == ["error"]
    assert event.processed_at is None and "UI is down" in event.last_error
    assert not Application.objects.exists()

    ui.fail_with = None
    response = deliver(client, document)
    assert response.json()["status"] == "accepted"
    event.refresh_from_db()
    assert worker == ["error", True]
    assert event.processed_at is not None and event.last_error == "" and event.attempts == 2
    assert Application.objects.count() == 1


@pytest.mark.parametrize("order", [["evt_a", "evt_b"], ["evt_b", "evt_a"],
                                   ["evt_b", "evt_a", "evt_b", "evt_a"]])
def test_out_of_order_recruit_events_reach_the_same_state(client, recruitment, ui, worker,
                                                          order):
    """UI moved the recruit pending_review → recruiting → paused; the events come in
    `order`, and each re-fetch answers what UI knew at that event's time."""
    base = clock.now()
    snapshots = {"evt_a": recruit(status=RecruitStatus.RECRUITING, updated_at=base),
                 "evt_b": recruit(status=RecruitStatus.PAUSED,
                                  updated_at=base + timedelta(seconds=30))}
    for event_id in order:
        ui.recruits["rec_1"] = snapshots[event_id]
        deliver(client, event_document(event_id, "recruit.status_changed",
                                       resource_type="recruits", resource_id="rec_1"))
    recruitment.refresh_from_db()
    assert recruitment.state == "paused"
    assert recruitment.ui_updated_at == base + timedelta(seconds=30)
    assert WebhookEvent.objects.filter(processed_at__isnull=False).count() == 2


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 1, 0], [1, 2, 0, 2, 1]])
def test_out_of_order_applicant_events_reach_the_same_state(client, recruitment, ui, worker,
                                                            order):
    base = clock.now()
    history = [applicant(1, ApplicantStatus.APPLIED, updated_at=base),
               applicant(1, ApplicantStatus.APPROVED, updated_at=base + timedelta(seconds=5)),
               applicant(1, ApplicantStatus.SCHEDULED, updated_at=base + timedelta(seconds=9))]
    for step in order:
        # Each delivery re-fetches; UI answers what it knew when that event was processed.
        ui.applicants = [history[step]]
        deliver(client, event_document(f"evt_{step}", "applicant.status_changed"))
    assert Application.objects.get().status == "scheduled"
    assert WebhookEvent.objects.filter(processed_at__isnull=False).count() == 3


def test_recruit_event_applies_the_recruit_as_ui_has_it_now(client, recruitment, ui, worker):
    ui.recruits["rec_1"] = recruit(status=RecruitStatus.RECRUITING)
    deliver(client, event_document("evt_1", "recruit.status_changed",
                                   resource_type="recruits", resource_id="rec_1"))
    recruitment.refresh_from_db()
    assert recruitment.state == "recruiting"
    assert recruitment.application_url == "https://ui.example/apply/rec_1"


def test_older_recruit_copy_never_regresses_the_state(recruitment):
    now = clock.now()
    sync.recruitment_apply_recruit(result=sync.recruit_result(
        recruit(status=RecruitStatus.PAUSED, updated_at=now)), actor_label="test")
    sync.recruitment_apply_recruit(result=sync.recruit_result(
        recruit(status=RecruitStatus.RECRUITING, updated_at=now - timedelta(seconds=30))),
        actor_label="test")
    recruitment.refresh_from_db()
    assert recruitment.state == "paused"
    sync.recruitment_apply_recruit(result=sync.recruit_result(
        recruit(status=RecruitStatus.RECRUITING, updated_at=now + timedelta(seconds=1))),
        actor_label="test")
    recruitment.refresh_from_db()
    assert recruitment.state == "recruiting"


def test_event_for_an_unknown_recruit_is_processed_without_effect(client, recruitment, ui,
                                                                  worker):
    deliver(client, event_document("evt_1", recruit_id="rec_elsewhere"))
    assert worker == [True] and ui.calls == []


def test_ping_is_processed_without_calling_ui(client, ui, worker):
    document = event_document("evt_ping", "ping")
    del document["data"]["resource"]
    assert deliver(client, document).status_code == 200
    assert worker == [True] and ui.calls == []


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300), timestamp=st.text(max_size=20),
       signature=st.text(max_size=80))
def test_generated_input_never_gets_a_500(client, body, timestamp, signature):
    response = client.post("/webhooks/user-interviews/", data=body,
                           content_type="application/json",
                           HTTP_WEBHOOK_TIMESTAMP=timestamp,
                           HTTP_WEBHOOK_SIGNATURE=signature)
    assert response.status_code in (400, 401)
    assert not WebhookEvent.objects.exists()


def test_lost_processing_message_is_swept_with_backoff(client, recruitment, ui,
                                                       webhook_dispatches):
    ui.applicants = [applicant(1, updated_at=clock.now())]
    deliver(client, event_document("evt_1"))
    event = WebhookEvent.objects.get()
    assert webhook_dispatches == [event.pk]  # the message went nowhere (the broker was down)
    assert sync.webhook_events_due() == []  # too fresh: its first message may still run
    clock.advance(seconds=sync.EVENT_RETRY_BASE_SECONDS + 1)
    assert sync.webhook_events_due() == [event.pk]
    assert operations.webhook_event_process(event_pk=event.pk, client=ui) is True
    assert sync.webhook_events_due() == [] and Application.objects.count() == 1


def test_failing_event_is_retried_less_and_less_often_then_left(recruitment, ui, client,
                                                                 webhook_dispatches):
    deliver(client, event_document("evt_1"))
    event = WebhookEvent.objects.get()
    ui.fail_with = errors.Retryable("down")
    for attempt in range(1, 4):
        clock.advance(seconds=sync.EVENT_RETRY_BASE_SECONDS * 2 ** (attempt - 1) * 3)
        assert sync.webhook_events_due() == [event.pk]
        with pytest.raises(errors.Retryable):
            operations.webhook_event_process(event_pk=event.pk, client=ui)
    WebhookEvent.objects.filter(pk=event.pk).update(attempts=sync.EVENT_MAX_ATTEMPTS)
    clock.advance(hours=5)
    assert sync.webhook_events_due() == []


def test_broker_down_still_answers_2xx_and_keeps_the_event(client, monkeypatch):
    from rally.celery import app

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(app, "send_task", down)
    response = deliver(client, event_document("evt_1"))
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(event_id="evt_1", processed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_process_one_event_once(workspace, monkeypatch):
    import threading

    from django.db import connection

    RecruitmentFactory(study__workspace=workspace, ui_recruit_id="rec_1", state="recruiting")
    event = WebhookEventFactory(event_id="evt_1", type="applicant.created",
                                payload=event_document("evt_1"))
    barrier = threading.Barrier(2)
    results = []

    class SlowUI(RecordedUI):
        def applicants_pages(self, *args, **kwargs):
            import time

            time.sleep(0.3)
            return super().applicants_pages(*args, **kwargs)

    ui = SlowUI(applicants=[applicant(1, updated_at=clock.now())])

    def worker():
        barrier.wait()
        try:
            results.append(operations.webhook_event_process(event_pk=event.pk, client=ui))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert len(ui.calls) == 1
    assert WebhookEvent.objects.get().attempts == 1


def test_processed_events_are_forgotten_after_the_retention(client, recruitment, ui, worker):
    deliver(client, event_document("evt_old"))
    clock.advance(seconds=sync.EVENT_RETENTION.total_seconds() - 60)
    deliver(client, event_document("evt_new"))
    unprocessed = WebhookEventFactory(
        event_id="evt_stuck", type="applicant.created", payload=event_document("evt_stuck"),
        received_at=clock.now() - sync.EVENT_RETENTION * 2)
    clock.advance(seconds=120)
    assert sync.webhook_events_prune() == 1
    assert set(WebhookEvent.objects.values_list("event_id", flat=True)) == {
        "evt_new", unprocessed.event_id}


def test_webhook_sweep_task_queues_due_events(client, recruitment, ui, monkeypatch):
    from recruitment import tasks

    monkeypatch.setattr("recruitment.webhooks.webhook_event_dispatch", lambda pk: None)
    deliver(client, event_document("evt_1"))
    queued = []
    monkeypatch.setattr("recruitment.webhooks.webhook_event_dispatch", queued.append)
    clock.advance(seconds=sync.EVENT_RETRY_BASE_SECONDS + 1)
    assert tasks.webhook_sweep() == 1
    assert queued == [WebhookEvent.objects.get().pk]
