"""Incentives paid through the sandbox in-process (SPEC I3, QUALITY 8): the create_payment
handler under faults, crashes and duplicate news pays each payout exactly once."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

import json
import uuid
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from django.db import transaction

from billing.models import Payout
from billing.services import study_figures
from participants.models import Application
from rally import clock
from rally.models import ActivityEntry, OutboxOperation
from rally.services import outbox_enqueue
from recruitment import operations, outbox, payments, sync
from recruitment.models import Recruitment
from recruitment.user_interviews.client import UIClient
from scheduling.services import session_complete_and_pay, session_mark
from tests.billing.payouts_support import charges, ended_session, funded_ui_study
from tests.recruitment.factories import RecruitmentFactory
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    SANDBOX_KEY,
    SANDBOX_URL,
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)

pytestmark = pytest.mark.django_db


class WorkerCrash(BaseException):
    """The worker process dies between UI's answer and the database update."""


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, settings):
    from rally.celery import app

    settings.SANDBOX_PAYMENT_FAILURE_RATE = 0
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)


def run(row, client):
    return outbox.outbox_execute(operation_id=row.pk, client=client)


def _enqueue(study, operation):
    with transaction.atomic():
        return outbox_enqueue(workspace=study.workspace, operation=operation,
                              subject=study.pk, payload={"study_id": str(study.pk)},
                              study_id=study.pk)


@pytest.fixture
def completed(admin, sandbox_ui):
    """A UI study live at the sandbox with one applicant whose session has ended, at UI
    and in Rally. Returns (study, session, ui_session_id)."""
    study = funded_ui_study(admin, limit=3)
    RecruitmentFactory(study=study)
    assert run(_enqueue(study, "create_recruit"), sandbox_ui) == "done"
    assert run(_enqueue(study, "launch_recruit"), sandbox_ui) == "done"
    recruitment = Recruitment.objects.get(study=study)
    recruit_id = recruitment.ui_recruit_id
    sandbox_control(sandbox_ui, f"recruits/{recruit_id}/review", {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruit_id}/applicants", {"count": 1, "seed": 3})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    application = Application.objects.get(study=study)
    sandbox_ui.applicant_approve(application.ui_applicant_id, key=str(uuid.uuid4()))
    session = ended_session(study, application=application)
    ui_session = sandbox_ui.session_create(
        recruit_id, key=str(uuid.uuid4()), applicant_id=application.ui_applicant_id,
        starts_at=session.starts_at, ends_at=session.ends_at)
    return study, session, ui_session.id


def pay_now(admin, session):
    session_complete_and_pay(membership=admin, session_id=session.pk)
    return OutboxOperation.objects.get(operation="create_payment")


def payments_at_ui(client, study):
    recruit_id = Recruitment.objects.get(study=study).ui_recruit_id
    return [p for page in client.payments_pages(recruit_id) for p in page.items]


def settle_at_ui(client):
    for _ in range(2):  # pending → processing → paid
        sandbox_control(client, "tick")


def after_lease():
    clock.advance(seconds=outbox.RUN_LEASE.total_seconds() + 1)


def deliver_payment_webhook(study, payout, client, *, event_id, times):
    """UI's `payment.status_changed` for the payout's payment, processed `times` times."""
    recruit_id = Recruitment.objects.get(study=study).ui_recruit_id

    event = SimpleNamespace(
        event_id=event_id, type="payment.status_changed",
        payload={"data": {"resource": {"type": "payments", "id": payout.ui_payment_id,
                                       "recruitId": recruit_id}}})
    for _ in range(times):
        payments.payment_event_process(event, client)


def test_complete_and_send_pays_through_ui_once_and_the_poll_confirms_it(
        admin, completed, sandbox_ui, sandbox_transport):
    study, session, ui_session_id = completed
    operation = pay_now(admin, session)
    assert run(operation, sandbox_ui) == "done"
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.state == "sent" and payout.ui_payment_id
    assert payout.ui_session_id == ui_session_id
    [payment] = payments_at_ui(sandbox_ui, study)
    assert payment.external_id == str(payout.pk) and payment.trigger == "manual"
    [(request, _)] = sandbox_transport.requests("POST", "/payments")
    assert request.headers["Idempotency-Key"] == str(operation.idempotency_key)
    settle_at_ui(sandbox_ui)
    assert payments.payments_poll(client=sandbox_ui) == 1
    assert payments.payments_poll(client=sandbox_ui) == 0
    payout.refresh_from_db()
    assert payout.state == "paid" and payout.confirmed_at is not None
    assert charges(study) == (1, 1, 1)


def test_a_payment_webhook_confirms_once_however_often_it_comes(admin, completed, sandbox_ui):
    study, session, _ = completed
    assert run(pay_now(admin, session), sandbox_ui) == "done"
    settle_at_ui(sandbox_ui)
    payout = Payout.objects.get(session_id=session.pk)
    deliver_payment_webhook(study, payout, sandbox_ui, event_id="evt_pay_1", times=3)
    payout.refresh_from_db()
    assert payout.state == "paid"
    assert charges(study) == (1, 1, 1)
    assert ActivityEntry.objects.filter(action="payout.paid").count() == 1


def test_the_sweeper_pays_24_hours_after_the_end_with_the_automatic_trigger(
        admin, completed, sandbox_ui):
    from billing.payouts import payouts_sweep

    study, session, _ = completed
    session_mark(membership=admin, session_id=session.pk, status="completed")
    assert payouts_sweep() == 0
    clock.advance(hours=24)
    assert payouts_sweep() == 1
    assert run(OutboxOperation.objects.get(operation="create_payment"), sandbox_ui) == "done"
    [payment] = payments_at_ui(sandbox_ui, study)
    assert payment.trigger == "auto_24h"


@pytest.mark.parametrize("when", ["after", "before"])
def test_a_timeout_is_looked_up_or_resent_with_the_same_key_and_pays_once(
        admin, completed, sandbox_ui, sandbox_transport, when):
    study, session, _ = completed
    operation = pay_now(admin, session)
    sandbox_control(sandbox_ui, "faults", {"path": "/sessions/*/payments", "method": "POST",
                                           "timeout": when, "count": 1})
    assert run(operation, sandbox_ui) == "pending"
    assert Payout.objects.get(session_id=session.pk).state == "sending"
    clock.advance(seconds=15)
    assert run(operation, sandbox_ui) == "done"
    posts = sandbox_transport.requests("POST", "/payments")
    assert len(posts) == (1 if when == "after" else 2)
    assert {r.headers["Idempotency-Key"] for r, _ in posts} == {str(operation.idempotency_key)}
    assert len(payments_at_ui(sandbox_ui, study)) == 1
    assert Payout.objects.get(session_id=session.pk).state == "sent"
    assert charges(study) == (1, 1, 0)


def test_server_errors_then_success_pay_once(admin, completed, sandbox_ui):
    study, session, _ = completed
    operation = pay_now(admin, session)
    sandbox_control(sandbox_ui, "faults", {"path": "/sessions/*/payments", "method": "POST",
                                           "status": 500, "count": 2})
    assert run(operation, sandbox_ui) == "pending"
    clock.advance(seconds=15)
    assert run(operation, sandbox_ui) == "pending"
    clock.advance(seconds=30)
    assert run(operation, sandbox_ui) == "done"
    assert len(payments_at_ui(sandbox_ui, study)) == 1
    assert Payout.objects.get(session_id=session.pk).state == "sent"


def test_a_429_waits_as_long_as_retry_after_says(admin, completed, sandbox_transport):
    study, session, _ = completed
    slept = []
    with UIClient(base_url=SANDBOX_URL, api_key=SANDBOX_KEY, transport=sandbox_transport,
                  sleep=slept.append, max_attempts=3) as client:
        operation = pay_now(admin, session)
        sandbox_control(client, "faults", {"path": "/sessions/*/payments", "method": "POST",
                                           "status": 429, "count": 1})
        assert run(operation, client) == "done"
        assert len(payments_at_ui(client, study)) == 1
    [(_, limited)] = [(q, r) for q, r in sandbox_transport.requests("POST", "/payments")
                      if r.status_code == 429]
    assert float(limited.headers["Retry-After"]) in slept


def test_a_429_beyond_the_clients_patience_backs_off_for_retry_after(admin, completed,
                                                                    sandbox_ui):
    study, session, _ = completed
    operation = pay_now(admin, session)
    sandbox_control(sandbox_ui, "faults", {"path": "/sessions/*/payments", "method": "POST",
                                           "status": 429, "count": 1})
    sandbox_ui.max_retry_after_seconds = 0
    started = clock.now()
    assert run(operation, sandbox_ui) == "pending"
    operation.refresh_from_db()
    assert operation.next_attempt_at - started >= timedelta(seconds=1)
    clock.advance(seconds=3600)
    assert run(operation, sandbox_ui) == "done"
    assert len(payments_at_ui(sandbox_ui, study)) == 1


def test_a_definite_refusal_fails_visibly_without_a_retry_storm(admin, completed, sandbox_ui,
                                                                sandbox_transport):
    study, session, ui_session_id = completed
    sandbox_ui.session_no_show(ui_session_id, key=str(uuid.uuid4()))  # UI will answer 409
    operation = pay_now(admin, session)
    assert run(operation, sandbox_ui) == "failed"
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.state == "failed" and "409" in payout.failure_reason
    assert ActivityEntry.objects.filter(action="payout.failed").exists()
    clock.advance(hours=2)
    assert run(operation, sandbox_ui) is None
    assert len(sandbox_transport.requests("POST", "/payments")) == 1
    assert payments_at_ui(sandbox_ui, study) == []


class Malformed(httpx.BaseTransport):
    """Answers the first payment POST with a 201 whose body is not a payment (after UI
    applied it)."""

    def __init__(self, inner):
        self.inner, self.spoiled = inner, False

    def handle_request(self, request):
        response = self.inner.handle_request(request)
        if (not self.spoiled and request.method == "POST"
                and request.url.path.endswith("/payments")):
            self.spoiled = True
            response.read()
            return httpx.Response(201, headers={"Content-Type": response.headers.get(
                "Content-Type", "application/json")}, content=json.dumps({"data": {}}))
        return response


def test_a_malformed_2xx_is_looked_up_not_paid_again(admin, completed, sandbox_transport):
    study, session, _ = completed
    transport = Malformed(sandbox_transport)
    with UIClient(base_url=SANDBOX_URL, api_key=SANDBOX_KEY, transport=transport,
                  sleep=lambda seconds: None, max_attempts=1) as client:
        operation = pay_now(admin, session)
        assert run(operation, client) == "pending"
        clock.advance(seconds=15)
        assert run(operation, client) == "done"
        assert len(payments_at_ui(client, study)) == 1
    assert len(sandbox_transport.requests("POST", "/payments")) == 1
    assert Payout.objects.get(session_id=session.pk).state == "sent"


def test_a_worker_killed_after_ui_paid_pays_once_after_redelivery(admin, completed, sandbox_ui,
                                                                  sandbox_transport,
                                                                  monkeypatch):
    study, session, _ = completed
    operation = pay_now(admin, session)
    registered = operations.HANDLERS["create_payment"]
    record = registered.apply

    def crash(operation, result):
        raise WorkerCrash

    monkeypatch.setattr(registered, "apply", crash)
    with pytest.raises(WorkerCrash):
        run(operation, sandbox_ui)
    assert Payout.objects.get(session_id=session.pk).state == "sending"
    monkeypatch.setattr(registered, "apply", record)
    assert run(operation, sandbox_ui) is None  # still leased to the dead worker
    after_lease()
    assert run(operation, sandbox_ui) == "done"
    assert len(sandbox_transport.requests("POST", "/payments")) == 1  # looked up, not re-sent
    assert len(payments_at_ui(sandbox_ui, study)) == 1
    assert Payout.objects.get(session_id=session.pk).state == "sent"
    assert charges(study) == (1, 1, 0)


def test_a_payment_waits_until_its_session_is_known_at_ui(admin, sandbox_ui):
    study = funded_ui_study(admin, limit=2)
    RecruitmentFactory(study=study)
    session = ended_session(study)
    operation = pay_now(admin, session)
    assert run(operation, sandbox_ui) == "pending"
    operation.refresh_from_db()
    # Waiting for the study to exist at UI is normal: no error words, another try later.
    assert operation.last_error == "" and operation.next_attempt_at > clock.now()


def test_retry_after_a_refusal_is_a_new_request_and_an_old_row_no_longer_speaks(
        admin, completed, sandbox_ui, sandbox_transport):
    from billing.payouts import payout_retry

    study, session, ui_session_id = completed
    sandbox_ui.session_no_show(ui_session_id, key=str(uuid.uuid4()))
    first = pay_now(admin, session)
    assert run(first, sandbox_ui) == "failed"
    payout = Payout.objects.get(session_id=session.pk)
    payout_retry(membership=admin, payout_id=payout.pk)
    second = OutboxOperation.objects.exclude(pk=first.pk).get(operation="create_payment")
    outbox.outbox_retry_now(membership=admin, operation_id=first.pk)  # the old row, by hand
    assert run(first, sandbox_ui) == "failed"
    assert Payout.objects.get(pk=payout.pk).state == "sending"  # the old row is ignored
    assert run(second, sandbox_ui) == "failed"  # UI still refuses a no-show: failed again
    payout.refresh_from_db()
    assert payout.state == "failed" and "409" in payout.failure_reason
    posts = sandbox_transport.requests("POST", "/payments")
    assert len({request.headers["Idempotency-Key"] for request, _ in posts}) == 2
    assert payments_at_ui(sandbox_ui, study) == []
    # Each failure gave the incentive back to the hold and the Retry charged it again
    # (SPEC B9): two charges, two returns, nothing spent on the incentive.
    assert charges(study) == (1, 2, 0)
    assert study_figures(study.pk)["incentives"] == 0


def _rallys(captured):
    """Rally's statements of a capture: not the in-process sandbox's (told apart by their
    tables), its savepoints or the test clock's read."""
    return [query["sql"] for query in captured.captured_queries
            if "sandbox_" not in query["sql"] and "SAVEPOINT" not in query["sql"]
            and "rally_testclock" not in query["sql"]]


def test_paying_one_payout_takes_five_statements_of_rallys(admin, completed, sandbox_ui):
    """Rally's side of one payment at the outbox's rate: the claim, one read of the payout
    with its recruit, then recording the answer in one transaction without savepoints of
    its own: the row marked done while still this attempt's, the payout moved to Sent
    (its update returns what the activity entry names), the entry."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _, session, ui_session_id = completed
    operation = pay_now(admin, session)
    # Its UI session already known: no listing of the recruit's sessions first.
    Payout.objects.filter(session_id=session.pk).update(ui_session_id=ui_session_id)
    with CaptureQueriesContext(connection) as captured:
        assert run(operation, sandbox_ui) == "done"
    statements = [query["sql"] for query in captured.captured_queries]
    ours = _rallys(captured)
    assert len(ours) == 5, "\n".join(ours)
    # One savepoint for the recording (the test's transaction wraps it; in a worker it is
    # the transaction itself) and the sandbox's one: none for the nested use cases.
    assert sum(sql.startswith("SAVEPOINT") for sql in statements) == 2


@pytest.fixture
def completed_many(admin, sandbox_ui):
    """A UI study live at the sandbox with 5 applicants whose sessions have ended, at UI
    and in Rally, marked Completed, their payouts swept (5 create_payment rows, oldest
    first). Returns (study, rows)."""
    from billing.payouts import payouts_sweep

    count = 5
    study = funded_ui_study(admin, limit=count)
    Recruitment.objects.create(study=study, state=Recruitment.State.STARTING,
                               created_at=clock.now(), updated_at=clock.now())
    assert run(_enqueue(study, "create_recruit"), sandbox_ui) == "done"
    assert run(_enqueue(study, "launch_recruit"), sandbox_ui) == "done"
    recruitment = Recruitment.objects.get(study=study)
    recruit_id = recruitment.ui_recruit_id
    sandbox_control(sandbox_ui, f"recruits/{recruit_id}/review", {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruit_id}/applicants", {"count": count, "seed": 5})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    applications = list(Application.objects.filter(study=study).order_by("ui_applicant_id"))
    assert len(applications) == count
    for index, application in enumerate(applications):
        sandbox_ui.applicant_approve(application.ui_applicant_id, key=str(uuid.uuid4()))
        session = ended_session(study, application=application,
                                ended=timedelta(hours=1 + index))
        sandbox_ui.session_create(recruit_id, key=str(uuid.uuid4()),
                                  applicant_id=application.ui_applicant_id,
                                  starts_at=session.starts_at, ends_at=session.ends_at)
        session_mark(membership=admin, session_id=session.pk, status="completed")
    clock.advance(hours=24)
    assert payouts_sweep() == count
    rows = list(OutboxOperation.objects.filter(operation="create_payment")
                .order_by("created_at", "id"))
    return study, rows


def test_a_batch_pays_each_payout_in_three_statements_of_rallys(
        admin, completed_many, sandbox_ui, sandbox_transport):
    """perf-payouts: a batch is claimed in one statement and its payouts read in one (the
    UI sessions not known yet found with one listing of the recruit's sessions); then each
    answer is recorded on its own, in its own transaction (a crash loses at most one):
    the row marked done, the payout Sent, its activity entry."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    study, rows = completed_many
    assert run(rows[0], sandbox_ui) == "done"  # the first finds every UI session of the study
    assert len(sandbox_transport.requests("GET", "/sessions")) == 1
    with CaptureQueriesContext(connection) as captured:
        statuses = outbox.outbox_execute_batch(operation_ids=[row.pk for row in rows[1:]],
                                               client=sandbox_ui)
    assert statuses == ["done"] * 4
    ours = _rallys(captured)
    assert len(ours) == 2 + 3 * 4, "\n".join(ours)
    assert len(sandbox_transport.requests("GET", "/sessions")) == 1
    assert Payout.objects.filter(study_id=study.pk, state="sent").count() == 5
    assert len(payments_at_ui(sandbox_ui, study)) == 5
    assert ActivityEntry.objects.filter(study_id=study.pk, action="payout.sent").count() == 5
    assert charges(study) == (5, 5, 0)


def test_a_batch_finds_its_ui_sessions_with_one_listing(admin, completed_many, sandbox_ui,
                                                        sandbox_transport):
    study, rows = completed_many
    assert Payout.objects.filter(study_id=study.pk, ui_session_id="").count() == 5
    assert outbox.outbox_execute_batch(operation_ids=[row.pk for row in rows],
                                       client=sandbox_ui) == ["done"] * 5
    assert len(sandbox_transport.requests("GET", "/sessions")) == 1
    payouts = Payout.objects.filter(study_id=study.pk)
    assert {payout.state for payout in payouts} == {"sent"}
    assert all(payout.ui_session_id for payout in payouts)
    assert len(payments_at_ui(sandbox_ui, study)) == 5


def test_a_worker_killed_in_a_batch_loses_one_answer_and_pays_each_once(
        admin, completed_many, sandbox_ui, sandbox_transport, monkeypatch):
    """The answers before the crash are recorded; the one in hand is lost and found again
    by the lookup; the rows not reached wait out their lease and are sent then, once."""
    study, rows = completed_many
    registered = operations.HANDLERS["create_payment"]
    record, recorded = registered.apply, []

    def crash_on_the_third(operation, result):
        if len(recorded) == 2:
            raise WorkerCrash
        recorded.append(operation.pk)
        record(operation, result)

    monkeypatch.setattr(registered, "apply", crash_on_the_third)
    with pytest.raises(WorkerCrash):
        outbox.outbox_execute_batch(operation_ids=[row.pk for row in rows], client=sandbox_ui)
    assert Payout.objects.filter(study_id=study.pk, state="sent").count() == 2
    assert len(sandbox_transport.requests("POST", "/payments")) == 3
    monkeypatch.setattr(registered, "apply", record)
    assert outbox.outbox_execute_batch(operation_ids=[row.pk for row in rows],
                                       client=sandbox_ui) == [None] * 5  # still leased
    after_lease()
    statuses = outbox.outbox_execute_batch(operation_ids=[row.pk for row in rows],
                                           client=sandbox_ui)
    assert statuses == [None, None] + ["done"] * 3
    # The third was looked up, not sent again; the two not reached were sent once.
    assert len(sandbox_transport.requests("POST", "/payments")) == 5
    assert len(payments_at_ui(sandbox_ui, study)) == 5
    assert Payout.objects.filter(study_id=study.pk, state="sent").count() == 5
    assert charges(study) == (5, 5, 0)


def test_a_batch_gives_back_the_rows_it_has_no_time_left_for(admin, completed_many, sandbox_ui,
                                                             sandbox_transport, monkeypatch):
    study, rows = completed_many
    registered = operations.HANDLERS["create_payment"]
    call = registered.call

    def slow(operation, client):  # UI takes the whole half lease to answer the first
        result = call(operation, client)
        clock.advance(seconds=outbox.RUN_LEASE.total_seconds() * outbox.BATCH_LEASE_SHARE)
        return result

    monkeypatch.setattr(registered, "call", slow)
    statuses = outbox.outbox_execute_batch(operation_ids=[row.pk for row in rows],
                                           client=sandbox_ui)
    assert statuses == ["done"] + ["pending"] * 4
    given_back = OutboxOperation.objects.filter(pk__in=[row.pk for row in rows[1:]])
    assert {(row.attempts, row.status) for row in given_back} == {(0, "pending")}
    assert all(row.next_attempt_at <= clock.now() for row in given_back)
    assert len(sandbox_transport.requests("POST", "/payments")) == 1
    monkeypatch.setattr(registered, "call", call)
    assert outbox.outbox_execute_batch(operation_ids=[row.pk for row in rows[1:]],
                                       client=sandbox_ui) == ["done"] * 4
    assert len(sandbox_transport.requests("POST", "/payments")) == 5
    assert Payout.objects.filter(study_id=study.pk, state="sent").count() == 5
