"""The outbox executor: claim once, call UI outside transactions, record, back off, fail
visibly; the sweeper re-dispatches what a lost message left behind."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.http import Http404

from rally import clock
from rally.models import ActivityEntry, OutboxOperation
from rally.services import outbox_enqueue
from recruitment import handlers, operations, outbox
from recruitment.user_interviews import errors

pytestmark = pytest.mark.django_db


class Probe:
    """A registered test operation whose call does what the test says."""

    def __init__(self):
        self.calls = 0
        self.applied = []
        self.failures = []
        self.lookups = 0
        self.raise_next = []
        self.lookup_answer = None
        self.in_transaction = []

    def call(self, operation, client):
        self.calls += 1
        self.in_transaction.append(len(connection.atomic_blocks))
        if self.raise_next:
            raise self.raise_next.pop(0)
        return {"answer": operation.payload["n"]}

    def apply(self, operation, result):
        self.in_transaction.append(len(connection.atomic_blocks))
        self.applied.append(result)

    def on_failure(self, operation, message):
        self.failures.append(message)

    def lookup(self, operation, client):
        self.lookups += 1
        return self.lookup_answer


@pytest.fixture
def probe(monkeypatch):
    probe = Probe()
    monkeypatch.setitem(operations.HANDLERS, "probe", handlers.Handler(
        operation="probe", call=probe.call, label="probe", apply=probe.apply,
        on_failure=probe.on_failure))
    return probe


@pytest.fixture
def probe_with_lookup(probe, monkeypatch):
    operations.HANDLERS["probe"].lookup = probe.lookup
    return probe


@pytest.fixture
def dispatched(monkeypatch):
    sent = []
    monkeypatch.setattr("recruitment.outbox.outbox_dispatch", sent.append)
    return sent


def enqueue(workspace, n=1, operation="probe"):
    with transaction.atomic():
        return outbox_enqueue(workspace=workspace, operation=operation, subject=f"s{n}",
                              payload={"n": n})


def execute(row):
    return outbox.outbox_execute(operation_id=row.pk, client=object())


def test_success_records_result_and_applies_in_one_transaction(workspace, probe):
    row = enqueue(workspace)
    assert execute(row) == "done"
    row.refresh_from_db()
    assert (row.status, row.result, row.attempts, row.last_error) == ("done", {"answer": 1}, 1,
                                                                      "")
    assert row.completed_at is not None
    assert probe.applied == [{"answer": 1}]
    # The UI call ran outside the executor's transactions (the test's own wraps both);
    # the recording inside one.
    call_depth, apply_depth = probe.in_transaction
    assert apply_depth == call_depth + 1


def test_done_row_is_never_executed_again(workspace, probe):
    row = enqueue(workspace)
    execute(row)
    assert execute(row) is None
    assert probe.calls == 1


def test_retryable_failure_backs_off_exponentially_with_jitter(workspace, probe):
    row = enqueue(workspace)
    probe.raise_next = [errors.Retryable("UI is down"), errors.OutcomeUnknown("timed out")]
    before = clock.now()
    assert execute(row) == "pending"
    row.refresh_from_db()
    assert row.attempts == 1 and row.last_error == "UI is down"
    assert before + timedelta(seconds=2.5) <= row.next_attempt_at <= clock.now() + timedelta(
        seconds=5)
    assert execute(row) is None  # not due yet
    clock.advance(seconds=6)
    before = clock.now()
    assert execute(row) == "pending"
    row.refresh_from_db()
    assert row.attempts == 2 and row.last_error == "timed out"
    assert before + timedelta(seconds=5) <= row.next_attempt_at <= clock.now() + timedelta(
        seconds=10)
    clock.advance(seconds=11)
    assert execute(row) == "done"
    assert probe.calls == 3


def test_backoff_grows_and_is_capped():
    assert outbox.backoff_delay(1) <= timedelta(seconds=5)
    assert timedelta(seconds=40) <= outbox.backoff_delay(5) <= timedelta(seconds=80)
    assert outbox.backoff_delay(40) <= timedelta(hours=1)


def test_rate_limit_waits_at_least_retry_after(workspace, probe):
    row = enqueue(workspace)
    probe.raise_next = [errors.RateLimited("slow down", status=429, retry_after=120)]
    execute(row)
    row.refresh_from_db()
    assert row.next_attempt_at >= clock.now() + timedelta(seconds=119)


def test_definite_4xx_fails_visibly_and_is_not_retried(workspace, probe, dispatched):
    row = enqueue(workspace)
    probe.raise_next = [errors.ValidationFailed("User Interviews answered 422 validation_failed:"
                                                " numParticipants may only decrease",
                                                status=422)]
    assert execute(row) == "failed"
    row.refresh_from_db()
    assert row.status == "failed" and "numParticipants" in row.last_error
    assert probe.failures and probe.applied == []
    entry = ActivityEntry.objects.get(action="outbox.failed")
    assert entry.actor_label == "task:outbox" and entry.data["operation_id"] == str(row.pk)
    clock.advance(hours=3)
    assert execute(row) is None and outbox.outbox_sweep() == []
    assert probe.calls == 1


def test_gives_up_after_max_attempts(workspace, probe, monkeypatch):
    monkeypatch.setattr(outbox, "MAX_ATTEMPTS", 3)
    row = enqueue(workspace)
    probe.raise_next = [errors.Retryable("down")] * 3
    for _ in range(3):
        execute(row)
        clock.advance(hours=2)
    row.refresh_from_db()
    assert row.status == "failed" and row.last_error.startswith("Gave up after 3 attempts")
    assert probe.calls == 3


def test_unexpected_exception_keeps_the_row_and_says_why(workspace, probe):
    row = enqueue(workspace)
    probe.raise_next = [KeyError("study_id")]
    assert execute(row) == "pending"
    row.refresh_from_db()
    assert row.last_error == "KeyError: 'study_id'"


def test_unknown_operation_fails_visibly(workspace):
    row = enqueue(workspace, operation="no_such_operation")
    assert execute(row) == "failed"
    row.refresh_from_db()
    assert "No handler" in row.last_error


def test_outcome_unknown_is_looked_up_before_any_resend(workspace, probe_with_lookup):
    probe = probe_with_lookup
    row = enqueue(workspace)
    probe.raise_next = [errors.OutcomeUnknown("timed out after sending")]
    execute(row)
    assert probe.lookups == 0  # the first attempt has nothing to look up
    probe.lookup_answer = {"answer": "found at UI"}
    clock.advance(seconds=10)
    assert execute(row) == "done"
    row.refresh_from_db()
    assert probe.calls == 1 and probe.lookups == 1
    assert row.result == {"answer": "found at UI"}


def test_lookup_finding_nothing_resends(workspace, probe_with_lookup):
    probe = probe_with_lookup
    row = enqueue(workspace)
    probe.raise_next = [errors.OutcomeUnknown("timed out before sending")]
    execute(row)
    clock.advance(seconds=10)
    assert execute(row) == "done"
    assert probe.calls == 2 and probe.lookups == 1


def test_lost_enqueue_after_commit_is_picked_up_by_the_sweeper(workspace, probe, dispatched):
    row = enqueue(workspace)  # the on-commit message never left (test transaction)
    assert outbox.outbox_sweep() == [row.pk]
    assert dispatched == [row.pk]
    # A second sweep while the message waits for a worker does not queue it again.
    assert outbox.outbox_sweep() == []
    assert execute(row) == "done"


def test_sweeper_leaves_rows_in_backoff_alone_until_due(workspace, probe, dispatched):
    row = enqueue(workspace)
    probe.raise_next = [errors.Retryable("down")]
    execute(row)
    assert outbox.outbox_sweep() == []
    clock.advance(seconds=6)
    assert outbox.outbox_sweep() == [row.pk]


def test_sweeper_frees_rows_of_a_worker_that_died(workspace, probe, dispatched):
    row = enqueue(workspace)
    assert outbox.outbox_claim(row.pk) is not None  # the worker dies after claiming
    assert outbox.outbox_sweep() == []
    clock.advance(seconds=outbox.RUN_LEASE.total_seconds() + 1)
    assert outbox.outbox_sweep() == [row.pk]
    assert execute(row) == "done"
    row.refresh_from_db()
    assert row.attempts == 2


def test_a_superseded_attempt_records_nothing(workspace, probe):
    row = enqueue(workspace)
    first = outbox.outbox_claim(row.pk)
    clock.advance(seconds=outbox.RUN_LEASE.total_seconds() + 1)
    assert execute(row) == "done"  # the second worker took over and finished
    assert outbox._record_retry(first, operations.HANDLERS["probe"], "late") is None
    row.refresh_from_db()
    assert row.status == "done" and row.last_error == ""


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_row_execute_it_once(workspace, monkeypatch):
    calls = []
    barrier = threading.Barrier(2)

    def slow_call(operation, client):
        calls.append(operation.pk)
        time.sleep(0.3)
        return {}

    monkeypatch.setitem(operations.HANDLERS, "probe", handlers.Handler(
        operation="probe", call=slow_call, label="probe"))
    row = enqueue(workspace)
    results = []

    def worker():
        barrier.wait()
        try:
            results.append(outbox.outbox_execute(operation_id=row.pk, client=object()))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert sorted(map(str, results)) == ["None", "done"]
    assert OutboxOperation.objects.get(pk=row.pk).attempts == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweepers_never_queue_the_same_rows(workspace, monkeypatch):
    sent = []
    monkeypatch.setattr("recruitment.outbox.outbox_dispatch", sent.append)
    rows = [enqueue(workspace, n) for n in range(40)]
    barrier = threading.Barrier(2)

    def sweeper():
        barrier.wait()
        try:
            outbox.outbox_sweep()
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent, key=str) == sorted((row.pk for row in rows), key=str)


# "Retry now" --------------------------------------------------------------------------------


def _failed_row(workspace, probe):
    row = enqueue(workspace)
    probe.raise_next = [errors.Permanent("refused", status=400)]
    execute(row)
    return row


def test_retry_now_sends_a_failed_operation_again(workspace, probe, researcher,
                                                  django_capture_on_commit_callbacks,
                                                  dispatched):
    row = _failed_row(workspace, probe)
    with django_capture_on_commit_callbacks(execute=True):
        outbox.outbox_retry_now(membership=researcher, operation_id=row.pk)
    row.refresh_from_db()
    assert row.status == "pending" and dispatched == [row.pk]
    assert ActivityEntry.objects.filter(action="outbox.retried", actor=researcher.user).exists()
    assert execute(row) == "done"


def test_retry_now_is_refused_to_observers(workspace, probe, observer):
    row = _failed_row(workspace, probe)
    with pytest.raises(PermissionDenied):
        outbox.outbox_retry_now(membership=observer, operation_id=row.pk)
    row.refresh_from_db()
    assert row.status == "failed"


def test_retry_now_cannot_reach_another_workspace(workspace, probe, outsider):
    row = _failed_row(workspace, probe)
    with pytest.raises(Http404):
        outbox.outbox_retry_now(membership=outsider, operation_id=row.pk)


def test_retry_now_leaves_done_operations_alone(workspace, probe, admin, dispatched):
    row = enqueue(workspace)
    execute(row)
    outbox.outbox_retry_now(membership=admin, operation_id=row.pk)
    row.refresh_from_db()
    assert row.status == "done" and probe.calls == 1


def test_broker_down_at_commit_loses_nothing(workspace, probe, monkeypatch,
                                             django_capture_on_commit_callbacks):
    from rally.celery import app

    def down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    original = app.send_task
    monkeypatch.setattr(app, "send_task", down)
    with django_capture_on_commit_callbacks(execute=True):
        row = enqueue(workspace)  # the after-commit dispatch fails quietly
    row.refresh_from_db()
    assert row.status == "pending"
    monkeypatch.setattr(app, "send_task", original)
    sent = []
    monkeypatch.setattr("recruitment.outbox.outbox_dispatch", sent.append)
    assert outbox.outbox_sweep() == [row.pk] and sent == [row.pk]
    assert execute(row) == "done"


def test_workers_share_one_request_budget(workspace, probe, settings, dispatched):
    settings.UI_RATE_LIMIT_PER_MINUTE = 60
    settings.UI_RATE_LIMIT_BURST = 2
    rows = [enqueue(workspace, n) for n in range(3)]
    assert [execute(row) for row in rows] == ["done", "done", "pending"]
    throttled = rows[2]
    throttled.refresh_from_db()
    # Not an attempt: UI was not called; the row waits about a second for a token.
    assert probe.calls == 2 and throttled.attempts == 0 and throttled.last_error == ""
    assert throttled.next_attempt_at <= clock.now() + timedelta(seconds=2.5)
    clock.advance(seconds=3)
    assert outbox.outbox_sweep() == [throttled.pk]
    assert execute(throttled) == "done"


def test_budget_refills_with_time(settings):
    settings.UI_RATE_LIMIT_PER_MINUTE = 120
    settings.UI_RATE_LIMIT_BURST = 1
    assert outbox.ui_rate_acquire() == 0
    assert 0 < outbox.ui_rate_acquire() <= 0.5
    clock.advance(seconds=1)
    assert outbox.ui_rate_acquire() == 0


def test_budget_can_be_turned_off(settings):
    settings.UI_RATE_LIMIT_PER_MINUTE = 0
    assert all(outbox.ui_rate_acquire() == 0 for _ in range(100))


# A batch in one worker call -----------------------------------------------------------------


def test_a_batch_runs_each_row_once_and_skips_one_already_done(workspace, probe):
    rows = [enqueue(workspace, n) for n in (1, 2, 3)]
    assert execute(rows[1]) == "done"
    statuses = outbox.outbox_execute_batch(operation_ids=[row.pk for row in rows],
                                           client=object())
    assert statuses == ["done", None, "done"]
    assert probe.calls == 3
    assert sorted(result["answer"] for result in probe.applied) == [1, 2, 3]


def test_a_batch_looks_up_before_resending_a_row_tried_before(workspace, probe_with_lookup):
    first, second = enqueue(workspace, 1), enqueue(workspace, 2)
    probe_with_lookup.raise_next = [errors.OutcomeUnknown("timed out")]
    assert execute(first) == "pending"
    OutboxOperation.objects.filter(pk=first.pk).update(next_attempt_at=clock.now())
    probe_with_lookup.lookup_answer = {"answer": "found"}
    assert outbox.outbox_execute_batch(operation_ids=[first.pk, second.pk],
                                       client=object()) == ["done", "done"]
    first.refresh_from_db()
    assert first.result == {"answer": "found"} and probe_with_lookup.lookups == 1
    assert probe_with_lookup.calls == 2  # the first row's one call, the second row's


def test_rows_enqueued_together_go_to_a_worker_in_one_message(workspace, monkeypatch,
                                                              django_capture_on_commit_callbacks):
    from rally.celery import app
    from rally.services import outbox_enqueue_many

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, args=(), **kw: sent.append((name, args)))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        rows = outbox_enqueue_many(workspace=workspace, operation="probe",
                                   items=[(f"b{n}", {"n": n}, None) for n in range(3)])
    assert sent == [("recruitment.outbox_execute_batch", [[str(row.pk) for row in rows]])]
    app.loader.import_default_modules()
    assert "recruitment.outbox_execute_batch" in app.tasks
