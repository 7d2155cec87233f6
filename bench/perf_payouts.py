"""perf-payouts: 2,000 due payouts swept by 2 workers against the sandbox (rate limits
raised), each paid exactly once; payouts per second from the first sweep until every
payout is Sent.

Each worker is a process doing what a Celery worker does: claim a batch with the sweeper
(SKIP LOCKED), then run the batch's `create_payment` outbox rows at UI. Runs in a database of
its own (created, migrated and dropped here). User Interviews' stand-in is served by gunicorn
in processes of its own, over HTTP, as the real UI is another machine.

Also reported: perf-payouts-cpu, Rally's own share: the two worker processes' CPU time per
payout (user + system; the stand-in's processes and Postgres not included). Target 5 ms.
Until Dec 2026 the stand-in was served inside the workers (httpx's WSGI transport), and its
share was over half of the figures below.

Where the time goes (cProfile with a CPU clock, one worker, 400 payouts, Nov 2026):
- the sweep is batched: per batch of 100, one claim, one study lock per study, one read of
  the keys already charged, one insert each of transfers, outbox rows and activity entries,
  two payout UPDATEs (about 0.25 SQL statements per payout, was ~22), and one Celery message
  for the batch's outbox rows (`recruitment.outbox_execute_batch`; it was one `send_task`
  per row, ~2 ms of CPU per payout). The worker runs that batch with one client;
- paying a batch at UI (Dec 2026): one claim of all its rows (UPDATE ... RETURNING) and one
  read of their payouts with their recruits (the UI sessions not known yet found first, one
  listing per study), then per payout one HTTP request and its answer recorded in its own
  transaction, 3 statements: the outbox row marked done while still this attempt's (its
  lock), the payout moved to Sent by one UPDATE that returns what the activity entry names,
  the entry. One commit a payout, not two, and 3 statements + 2 a batch, not 7 a payout
  (pinned by tests/recruitment/test_payments.py). Each answer still has its own commit, so
  a worker that dies loses at most the one in hand (found again by the lookup before any
  re-send); rows not reached wait out their lease, and a batch gives back the rows it has
  not started when half their lease has passed;
- `rally.clock.now()` reads the test-clock offset from Redis at most once a second per
  process (it was a Redis round trip per call, ~10 calls per payout).
Measured on the shared 2-core development machine (Debian 12, other work running):
before the batching 28.7 ms of worker CPU per payout, 26-54 payouts/s; with the batched
sweep 15.9 ms, best 54/s; with the clock memo, the batch executor, one message per batch
and the 7-statement record, 11.5-12.0 ms and 108-112/s at load average ~1.4 with the
stand-in in the workers' processes. With the stand-in in processes of its own, Rally's
share was 7.0 ms at load average 0.5, 8.2-10.5 ms at load average 2-14; with the batch's
claim and read and the 3-statement record, 4.3-5.3 ms in the same runs (three pairs back to
back, Dec 2026). What
is left a payout: the sweep's inserts (two transfers, three activity entries, the outbox
row; Django's bulk insert compiler is most of it), httpx's request, and the three
statements of the record.
"""

import multiprocessing
import resource
import time
import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection

from bench.support import (
    free_port,
    own_database,
    recruit_with_applicants,
    served,
    stand_in_process,
    stand_in_url,
)

PAYOUTS = 2_000
STUDIES = 4
WORKERS = 2
BATCH = 100
TARGET_RATE = 200.0


STAND_IN_PORT = free_port()
TARGET_RALLY_CPU_MS = 5.0


def _client():
    from recruitment.user_interviews.client import UIClient

    return UIClient(base_url=stand_in_url(STAND_IN_PORT), api_key=settings.SANDBOX_API_KEYS[0],
                    timeout=120)


def _study_at_ui(client, *, workspace, owner, budget, count, n):
    """A live UI study with `count` completed sessions (Rally and sandbox rows) whose
    payouts came due, its reservation covering them."""
    from billing.models import Payout
    from billing.services import budget_reserve_for_study
    from participants.models import Application
    from rally import clock
    from recruitment.models import Recruitment
    from recruitment.sync import applicants_sync, recruit_result, recruitment_apply_recruit
    from sandbox.models import Applicant as UIApplicant
    from sandbox.models import Session as UISession
    from scheduling.models import Session
    from studies.models import Study

    now = clock.now()
    study = Study.objects.create(workspace=workspace, owner=owner, name=f"Payouts {n}",
                                 status="active", participation_limit=count,
                                 incentive_amount=Decimal("50.00"), countries=["US"],
                                 created_at=now, updated_at=now)
    budget_reserve_for_study(budget=budget, study_id=study.pk, study_name=study.name,
                             participation_limit=count, fee=Decimal("39.00"),
                             incentive=Decimal("50.00"), actor="bench")
    recruit = recruit_with_applicants(client, study=study, name=study.name, participants=count,
                                      applicants=count, seed=20 + n)
    Recruitment.objects.create(study=study, state=Recruitment.State.STARTING,
                               created_at=now, updated_at=now)
    recruitment_apply_recruit(study_id=study.pk, result=recruit_result(
        client.recruit_get(recruit.id)), actor_label="bench", adopt=True)
    applicants_sync(study=study, recruit_id=recruit.id, client=client)
    # Booked and completed long ago, at UI and in Rally (setup, not measured).
    UIApplicant.objects.filter(recruit_id=recruit.id).update(status="completed")
    applications = list(Application.objects.filter(study=study).order_by("ui_applicant_id"))
    ui_sessions, sessions, payouts = [], [], []
    for index, application in enumerate(applications):
        starts = now - timedelta(days=2, minutes=index * 30)
        ui_sessions.append(UISession(
            recruit_id=recruit.id, applicant_id=application.ui_applicant_id, starts_at=starts,
            ends_at=starts + timedelta(minutes=30), status="completed", created_at=now,
            updated_at=now))
        session = Session(workspace=workspace, study=study, application=application,
                          host=owner, starts_at=starts, ends_at=starts + timedelta(minutes=30),
                          status="completed", created_at=now, updated_at=now)
        sessions.append(session)
        payouts.append(Payout(
            workspace=workspace, study_id=study.pk, study_name=study.name,
            session_id=session.id, application_id=application.pk,
            participant_label=application.participant.display_name, amount=Decimal("50.00"),
            due_at=session.ends_at + timedelta(hours=24), created_at=now, updated_at=now))
    UISession.objects.bulk_create(ui_sessions, batch_size=1000)
    Session.objects.bulk_create(sessions, batch_size=1000)
    Payout.objects.bulk_create(payouts, batch_size=1000)
    return study


def _setup():
    from billing.services import budget_add_funds_nested, budget_default_ensure
    from rally.models import Membership, User, Workspace
    from rally.permissions import Role

    workspace = Workspace.objects.create(name="Bench payouts")
    owner = User.objects.create_user(email=f"bench-payouts-{uuid.uuid4().hex[:8]}@example.test")
    membership = Membership.objects.create(workspace=workspace, user=owner, role=Role.ADMIN)
    budget = budget_default_ensure(workspace=workspace)
    budget_add_funds_nested(membership=membership, budget=budget,
                            amount=Decimal(PAYOUTS * 100), reference="Bench", key=uuid.uuid4())
    client = _client()
    per_study = PAYOUTS // STUDIES
    for n in range(STUDIES):
        _study_at_ui(client, workspace=workspace, owner=owner, budget=budget,
                     count=per_study, n=n)
    client.close()


def _worker(go, failures):
    """One worker process: sweep a batch, pay its rows at UI, again until nothing is due."""
    from billing.payouts import payouts_send_due
    from rally.models import OutboxOperation
    from recruitment.outbox import outbox_execute_batch

    client = _client()
    go.wait()
    try:
        while True:
            sent = payouts_send_due(limit=BATCH)
            if not sent:
                return
            # The batch's one message (`recruitment.outbox_execute_batch`), run here.
            rows = OutboxOperation.objects.filter(
                operation="create_payment",
                idempotency_key__in=[_key(payout_id) for payout_id in sent])
            outbox_execute_batch(operation_ids=list(rows.values_list("pk", flat=True)),
                                 client=client)
    except BaseException as error:
        failures.put(f"{type(error).__name__}: {error}")
        raise
    finally:
        client.close()
        connection.close()


def _key(payout_id):
    from rally.services import outbox_key

    return outbox_key("create_payment", str(payout_id))


def _measure():
    from billing.models import Payout, Transfer
    from sandbox.models import Payment

    _setup()
    # Worker processes, as Celery runs them (threads would share one interpreter lock).
    # Each inherits the set-up process and opens its own database connection.
    connection.close()
    context = multiprocessing.get_context("fork")
    go, failures = context.Barrier(WORKERS + 1), context.Queue()
    workers = [context.Process(target=_worker, args=(go, failures)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    go.wait()  # both are ready: the clock starts as they do
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, not the stand-in
    cpu_ms = ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) \
        * 1000 / PAYOUTS
    if any(worker.exitcode for worker in workers):
        raise RuntimeError(f"a payout worker failed: {failures.get(timeout=5)}")
    sent = Payout.objects.filter(state__in=["sent", "paid"]).count()
    payments = Payment.objects.count()
    external = Payment.objects.values("external_id").distinct().count()
    fees = Transfer.objects.filter(kind="fee").count()
    exactly_once = sent == payments == external == fees == PAYOUTS
    return seconds, exactly_once, cpu_ms


def run():
    with own_database("payouts", sandbox=True), \
            served(stand_in_process(STAND_IN_PORT, workers=2, threads=4)):
        seconds, exactly_once, cpu_ms = _measure()
    rate = PAYOUTS / seconds
    return {
        "perf-payouts": {"value": round(rate), "target": f">= {TARGET_RATE:g} (exactly once)",
                         "unit": "payouts/s", "ok": exactly_once and rate >= TARGET_RATE},
        "perf-payouts-once": {"value": int(exactly_once), "target": "== 1",
                              "unit": "exactly once", "ok": exactly_once},
        "perf-payouts-cpu": {"value": round(cpu_ms, 1), "target": f"<= {TARGET_RALLY_CPU_MS:g}",
                             "unit": "ms Rally CPU/payout", "ok": cpu_ms <= TARGET_RALLY_CPU_MS},
    }
