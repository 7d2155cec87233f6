"""Chaos: the whole User Interviews flow (start → applicants → invite → book → complete →
pay → close) driven through Rally's services while the sandbox injects timeouts, 500s, 503s
and 429s on every kind of request, and a worker is killed mid-payment (its row left claimed,
then found by the sweeper). The end state and the ledger equal those of a fault-free run:
the same figures, one payment per session at UI, and a ledger that reconciles."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

from collections import Counter
from contextlib import suppress
from decimal import Decimal

import pytest
import time_machine

from billing.models import Payout, Receipt, Transfer
from billing.payouts import payouts_sweep
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for
from participants.models import Application
from participants.services import applicant_invite, applicant_reject
from rally import clock
from rally.models import OutboxOperation
from recruitment import operations, outbox, payments, sync
from recruitment.models import Recruitment
from recruitment.orchestration import recruitment_start
from recruitment.user_interviews.errors import UIError
from recruitment.workflows import study_status_change
from scheduling.models import Session
from scheduling.services import (
    booking_token_make,
    invitation_from_token,
    scheduling_settings_ensure,
    session_book,
    session_complete_and_pay,
    session_mark,
    study_slots,
)
from studies.models import Status
from tests.billing.factories import BudgetFactory, funds_add
from tests.conftest import MONDAY_MORNING  # the scheduling factory's availability starts then
from tests.rally.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)
from tests.scheduling.factories import SchedulingSettingsFactory
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db

#: (path, method, fault) — consumed by the first matching requests, in order. Paths are the
#: sandbox API's, relative to its root; a timeout "after" means UI did it and the answer was
#: lost, the case that must never do anything twice.
FAULTS = [
    ("/recruits", "POST", {"status": 500, "count": 2}),
    ("/recruits", "POST", {"timeout": "after"}),
    ("/recruits/*/launches", "POST", {"status": 503}),
    ("/recruits/*/launches", "POST", {"timeout": "after"}),
    ("/recruits/*/applicants", "GET", {"status": 429}),
    ("/recruits/*/applicants", "GET", {"timeout": "before"}),
    ("/applicants/*/approvals", "POST", {"timeout": "after"}),
    ("/applicants/*/approvals", "POST", {"status": 500}),
    ("/applicants/*/rejections", "POST", {"status": 429}),
    ("/recruits/*/sessions", "POST", {"timeout": "after"}),
    ("/recruits/*/sessions", "POST", {"status": 500}),
    ("/sessions/*/completions", "POST", {"status": 503}),
    ("/sessions/*/payments", "POST", {"timeout": "after"}),
    ("/sessions/*/payments", "POST", {"status": 500}),
    ("/recruits/*/payments", "GET", {"status": 500}),
    ("/recruits/*/closures", "POST", {"timeout": "after"}),
]


class WorkerKilled(BaseException):
    """The worker process dies (nothing in the executor catches this)."""


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, settings):
    """No Celery: this test is the worker. The shared UI token bucket is off so both runs
    send the same requests; the sandbox never fails a payment of its own accord."""
    from rally.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)
    settings.UI_RATE_LIMIT_PER_MINUTE = 0
    settings.SANDBOX_PAYMENT_FAILURE_RATE = 0


@pytest.fixture
def frozen():
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield


def _world(name):
    """A workspace with its Admin, a funded budget, and an Active B2C UI interview study for
    three participants with availability for the owner."""
    workspace = WorkspaceFactory(name=name)
    admin = MembershipFactory(workspace=workspace, role="admin",
                              user=UserFactory(email=f"admin@{name.lower()}.test"))
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    funds_add(admin, budget, "1000.00", "PO-1000")
    study = StudyFactory(
        workspace=workspace, owner=admin.user, name="Onboarding interviews",
        study_type="interview", source="user_interviews", status=Status.ACTIVE,
        external_description="Tell us how you onboard new engineers.",
        participation_limit=3, incentive_amount=Decimal("75.00"), audience_type="b2c",
        duration_minutes=60, countries=["US"])
    SchedulingSettingsFactory(study=study)
    return admin, budget, study


def _drain(client, *, rounds=400):
    """A worker: run every due outbox row; when only backoffs remain, let time pass."""
    for _ in range(rounds):
        due = list(OutboxOperation.objects.filter(status="pending",
                                                  next_attempt_at__lte=clock.now())
                   .order_by("next_attempt_at").values_list("pk", flat=True))
        for operation_id in due:
            outbox.outbox_execute(operation_id=operation_id, client=client)
            clock.advance(seconds=1)  # time passes (UI's updatedAt orders what it says)
        if due:
            continue
        waiting = (OutboxOperation.objects.filter(status="pending")
                   .order_by("next_attempt_at").first())
        if waiting is None:
            return
        clock.advance(seconds=(waiting.next_attempt_at - clock.now()).total_seconds() + 1)
    raise AssertionError("the outbox never drained")


def _until(step, done, *, tries=10, state=lambda: None):
    """A beat task (a poll) that may meet an injected fault: run it again after a while until
    it has done its work."""
    for _ in range(tries):
        with suppress(UIError):
            step()
        if done():
            return
        clock.advance(seconds=30)
    raise AssertionError(f"never got there: {state()}")


def _flow(admin, budget, study, client, *, kill_a_worker=False, monkeypatch=None):
    recruitment_start(membership=admin, study_id=study.pk, budget_id=budget.pk)
    _drain(client)
    recruitment = Recruitment.objects.get(study=study)
    recruit_id = recruitment.ui_recruit_id
    assert recruit_id and recruitment.state == "pending_review", list(
        OutboxOperation.objects.values_list("operation", "status", "last_error"))
    sandbox_control(client, f"recruits/{recruit_id}/review", {"outcome": "approve"})
    sandbox_control(client, f"recruits/{recruit_id}/applicants", {"count": 3, "seed": 11})
    _until(lambda: sync.recruitment_poll(recruitment_id=recruitment.pk, client=client),
           lambda: Application.objects.filter(study=study).count() == 3,
           state=lambda: list(Application.objects.filter(study=study).values_list("status")))
    first, second, third = Application.objects.filter(study=study).order_by("ui_applicant_id")

    applicant_invite(membership=admin, study=study, application_id=first.pk)
    applicant_invite(membership=admin, study=study, application_id=second.pk)
    applicant_reject(membership=admin, study=study, application_id=third.pk,
                     reason="Not onboarding anyone this year")
    _drain(client)

    scheduling = scheduling_settings_ensure(study=study)
    sessions = []
    for application in (first, second):
        slot = study_slots(study=study, scheduling=scheduling, now=clock.now())[0]
        invitation = invitation_from_token(booking_token_make(application))
        sessions.append(session_book(invitation=invitation, starts_at=slot.starts_at,
                                     time_zone="America/Chicago"))
    _drain(client)

    # The sessions take place; one is paid at once, the other 24 hours after its end.
    last_end = max(session.ends_at for session in sessions)
    clock.advance(seconds=(last_end - clock.now()).total_seconds() + 60)
    if kill_a_worker:
        _kill_the_worker_paying(sessions[0], admin, client, monkeypatch)
    else:
        session_complete_and_pay(membership=admin, session_id=sessions[0].pk)
    session_mark(membership=admin, session_id=sessions[1].pk, status="completed")
    _drain(client)
    clock.advance(seconds=24 * 3600 + 60)
    payouts_sweep()
    _drain(client)
    for _ in range(2):  # UI settles: pending → processing → paid
        sandbox_control(client, "tick")
    _until(lambda: payments.payments_poll(client=client),
           lambda: not Payout.objects.filter(study_id=study.pk).exclude(state="paid").exists(),
           state=lambda: list(Payout.objects.filter(study_id=study.pk).values_list("state")))

    study_status_change(membership=admin, study=study, to="closed")
    _drain(client)


def _kill_the_worker_paying(session, admin, client, monkeypatch):
    """"Complete & Send payment"; the worker sending it dies right after UI paid, leaving the
    row claimed. The lease runs out, the sweeper hands the row to a new worker."""
    session_complete_and_pay(membership=admin, session_id=session.pk)
    row = OutboxOperation.objects.get(operation="create_payment",
                                      payload__session_id=str(session.pk))
    registered = operations.HANDLERS["create_payment"]

    def killed(operation, result):
        raise WorkerKilled

    monkeypatch.setattr(registered, "apply", killed)
    for _ in range(10):  # through any injected fault until the payment reaches UI
        try:
            outbox.outbox_execute(operation_id=row.pk, client=client)
        except WorkerKilled:
            break
        row.refresh_from_db()
        clock.advance(seconds=(row.next_attempt_at - clock.now()).total_seconds() + 1)
    else:
        raise AssertionError("the payment never reached UI")
    monkeypatch.undo()
    row.refresh_from_db()
    assert row.status == "pending" and row.next_attempt_at > clock.now()  # claimed, leased
    assert outbox.outbox_execute(operation_id=row.pk, client=client) is None  # still leased
    clock.advance(seconds=outbox.RUN_LEASE.total_seconds() + 1)
    dispatched = []
    monkeypatch.setattr("recruitment.outbox.outbox_dispatch", dispatched.append)
    assert row.pk in outbox.outbox_sweep()
    monkeypatch.undo()
    for operation_id in dispatched:
        outbox.outbox_execute(operation_id=operation_id, client=client)


def _end_state(study, budget, client):
    """Everything that must come out the same, free of ids and times."""
    study.refresh_from_db()
    receipt = Receipt.objects.get(study_id=study.pk)
    recruitment = Recruitment.objects.get(study=study)
    ui_payments = [p for page in client.payments_pages(recruitment.ui_recruit_id)
                   for p in page.items]
    ui_sessions = [s for page in client.sessions_pages(recruitment.ui_recruit_id)
                   for s in page.items]
    return {
        "study": study.status,
        "recruitment": recruitment.state,
        "recruit at UI": str(client.recruit_get(recruitment.ui_recruit_id).status),
        "receipt": (receipt.participants, receipt.fee, receipt.incentive, receipt.reserved,
                    receipt.recruitment_fees, receipt.incentives, receipt.total_spent,
                    receipt.unused),
        "ledger": sorted(Transfer.objects.filter(study_id=study.pk)
                         .values_list("kind", "amount")),
        "available": budget_figures_for([budget])[budget.pk].available,
        "payouts": sorted(Payout.objects.filter(study_id=study.pk)
                          .values_list("state", "amount")),
        "applications": sorted(Application.objects.filter(study=study)
                               .values_list("status", flat=True)),
        "sessions": sorted(Session.objects.filter(study=study).values_list("status", flat=True)),
        "outbox": Counter(OutboxOperation.objects.filter(study_id=study.pk)
                          .values_list("operation", "status")),
        "UI payments per session": sorted(Counter(str(p.session_id) for p in ui_payments)
                                          .values()),
        "UI payment states": sorted(str(p.status) for p in ui_payments),
        "UI sessions": sorted(str(s.status) for s in ui_sessions),
    }


def test_faults_and_a_killed_worker_end_where_the_fault_free_run_ends(
        frozen, sandbox_ui, sandbox_transport, monkeypatch):
    calm = _world("Calm")
    _flow(*calm, sandbox_ui)
    expected = _end_state(calm[2], calm[1], sandbox_ui)

    stormy = _world("Stormy")
    for path, method, fault in FAULTS:
        sandbox_control(sandbox_ui, "faults", {"path": path, "method": method, **fault})
    _flow(*stormy, sandbox_ui, kill_a_worker=True, monkeypatch=monkeypatch)
    left = [f["attributes"] for f in sandbox_ui.http.get("_sandbox/faults").json()["data"]]
    assert not left, f"faults never met (their paths are wrong): {left}"
    got = _end_state(stormy[2], stormy[1], sandbox_ui)

    assert got == expected
    assert expected["receipt"][0] == 2 and expected["UI payments per session"] == [1, 1]
    assert expected["UI payment states"] == ["paid", "paid"]
    assert ledger_problems(workspace=calm[0].workspace) == []
    assert ledger_problems(workspace=stormy[0].workspace) == []
    # The storm was real: requests failed and were sent again.
    assert any(response is None or response.status_code >= 429
               for _, response in sandbox_transport.exchanges)
