"""The demo's User Interviews studies exist at the sandbox under Rally's own ids, so what a
person does with them in `make run` reaches a UI that knows them: "Complete & Send
payment", the payout on its way, "Retry" of the failed one, pausing, and the polls."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

import os

import pytest
from django.core.management import call_command

from billing.models import Payout
from billing.payouts import payment_operations, payout_retry, payout_send_now, payouts_sweep
from billing.reconciliation import ledger_problems
from demo.studies import ACTIVE_STUDY, CLOSED_STUDY, UNMODERATED_STUDY
from participants.models import Application
from rally import clock
from rally.models import Membership, OutboxOperation, User
from recruitment import outbox, payments, sync
from recruitment.models import Recruitment
from recruitment.workflows import study_status_change
from studies.models import Study
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    SANDBOX_KEY,
    SANDBOX_URL,
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)

pytestmark = [pytest.mark.long, pytest.mark.django_db(transaction=True)]


def _seed():
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115


@pytest.fixture
def seeded(settings, monkeypatch, sandbox_ui):
    from rally.celery import app

    settings.DEBUG = True
    settings.UI_API_URL = SANDBOX_URL
    settings.UI_API_KEY = SANDBOX_KEY
    settings.SANDBOX_PAYMENT_FAILURE_RATE = 0
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)
    _seed()
    return Study.objects.get(name=ACTIVE_STUDY)


def _payout(study, label):
    return Payout.objects.get(study_id=study.pk, participant_label=label)


def _ops():
    user = User.objects.get(email="ops@example.com")
    return user, Membership.objects.get(user=user)


def _run_latest(payout, client):
    operation = payment_operations(payout.pk).last()
    return outbox.outbox_execute(operation_id=operation.pk, client=client)


def _settle(client):
    for _ in range(2):  # pending → processing → paid
        sandbox_control(client, "tick")


def test_every_demo_recruit_is_at_the_sandbox_with_rallys_ids(seeded, sandbox_ui):
    for name, status in ((ACTIVE_STUDY, "filled"), (CLOSED_STUDY, "closed"),
                         (UNMODERATED_STUDY, "paused")):
        study = Study.objects.get(name=name)
        recruitment = Recruitment.objects.get(study=study)
        recruit = sandbox_ui.recruit_get(recruitment.ui_recruit_id)
        assert recruit.status == status and recruit.external_id == str(study.pk)
        at_ui = {a.id: a for page in sandbox_ui.applicants_pages(recruitment.ui_recruit_id)
                 for a in page.items}
        assert set(at_ui) == set(Application.objects.filter(study=study)
                                 .values_list("ui_applicant_id", flat=True))
    # Sent and Paid payouts are payments there, under their ids and externalIds.
    for payout in Payout.objects.exclude(ui_payment_id=""):
        recruit_id = Recruitment.objects.get(study_id=payout.study_id).ui_recruit_id
        payment = sandbox_ui.payment_find(recruit_id, external_id=str(payout.pk))
        assert payment.id == payout.ui_payment_id and payment.session_id == payout.ui_session_id
        assert payment.status == ("paid" if payout.state == "paid" else "pending")


def test_complete_and_send_for_mateo_reaches_the_sandbox_and_the_poll_makes_it_paid(
        seeded, sandbox_ui):
    study = seeded
    user, _ = _ops()
    mateo = _payout(study, "Mateo G.")
    assert mateo.state == "not_sent"
    payout_send_now(session_id=mateo.session_id, actor=user)
    assert _run_latest(mateo, sandbox_ui) == "done"
    mateo.refresh_from_db()
    assert mateo.state == "sent" and mateo.ui_payment_id.startswith("pay_")
    _settle(sandbox_ui)
    assert payments.payments_poll(client=sandbox_ui) >= 1
    mateo.refresh_from_db()
    assert mateo.state == "paid"
    assert Application.objects.get(pk=mateo.application_id).status == "paid"
    assert ledger_problems() == []


def test_the_payout_on_its_way_is_sent_and_the_failed_one_retries(seeded, sandbox_ui):
    study = seeded
    _, membership = _ops()
    kemal, lena, priya = (_payout(study, label) for label in ("Kemal D.", "Lena V.", "Priya S."))
    assert (kemal.state, lena.state, priya.state) == ("sending", "failed", "sent")
    assert _run_latest(kemal, sandbox_ui) == "done"
    payout_retry(membership=membership, payout_id=lena.pk)
    assert _run_latest(lena, sandbox_ui) == "done"
    _settle(sandbox_ui)
    payments.payments_poll(client=sandbox_ui)
    states = set(Payout.objects.filter(pk__in=[kemal.pk, lena.pk, priya.pk])
                 .values_list("state", flat=True))
    assert states == {"paid"}
    assert not OutboxOperation.objects.filter(operation="create_payment",
                                              status="failed").exclude(
        payload__payout_id=str(lena.pk)).exists()


def test_the_sweeper_pays_the_not_sent_ones_a_day_later(seeded, sandbox_ui):
    sam = _payout(Study.objects.get(name=UNMODERATED_STUDY), "Sam K.")
    mateo = _payout(seeded, "Mateo G.")
    assert payouts_sweep() == 0
    clock.advance(hours=25)
    assert payouts_sweep() == 2
    for payout in (sam, mateo):
        assert _run_latest(payout, sandbox_ui) == "done"
    _settle(sandbox_ui)
    # These two, and the seed's Sent ones (Priya's, Rosa's), pending at the sandbox till now.
    assert payments.payments_poll(client=sandbox_ui) == 4
    assert set(Payout.objects.filter(pk__in=[sam.pk, mateo.pk])
               .values_list("state", "trigger")) == {("paid", "auto_24h")}


def test_pausing_the_active_study_reaches_its_recruit_and_the_poll_changes_nothing(
        seeded, sandbox_ui):
    study = seeded
    recruitment = Recruitment.objects.get(study=study)
    statuses = dict(Application.objects.filter(study=study)
                    .values_list("ui_applicant_id", "status"))
    assert sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    assert dict(Application.objects.filter(study=study)
                .values_list("ui_applicant_id", "status")) == statuses
    _, membership = _ops()
    study_status_change(membership=membership, study=study, to="paused")
    operation = OutboxOperation.objects.get(operation="pause_recruit", study_id=study.pk)
    assert outbox.outbox_execute(operation_id=operation.pk, client=sandbox_ui) == "done"
    assert sandbox_ui.recruit_get(recruitment.ui_recruit_id).status == "paused"
    assert Recruitment.objects.get(pk=recruitment.pk).state == "paused"


def test_seeding_twice_sends_the_same_history(seeded, sandbox_ui, sandbox_transport):
    from sandbox.models import Applicant, Payment, Recruit, Session

    def counts():
        return (Recruit.objects.count(), Applicant.objects.count(), Session.objects.count(),
                sorted(Payment.objects.values_list("id", "status")))

    before = counts()
    assert before[:2] == (3, 25) and len(before[3]) == 7
    _seed()
    assert counts() == before
    assert ledger_problems() == []


def test_the_full_demo_study_is_closed_to_applicants_at_the_sandbox_too(seeded, sandbox_ui):
    from participants.selectors import study_has_free_seat
    from sandbox import simulation
    from sandbox.models import Recruit

    study = seeded
    recruitment = Recruitment.objects.get(study=study)
    assert not study_has_free_seat(study=study)  # Rally: participation limit reached
    recruit = Recruit.objects.get(pk=recruitment.ui_recruit_id)
    assert recruit.intake_open is False and recruit.status == "filled"
    assert sandbox_ui.recruit_get(recruit.id).intake_open is False
    before = recruit.applicants.count()
    clock.advance(hours=24)
    assert simulation.recruit_arrivals(recruit_id=recruit.id) == 0
    assert recruit.applicants.count() == before
    # Rally's own record of what it told UI: one close, sent as the history already says.
    (close,) = OutboxOperation.objects.filter(study_id=study.pk, operation="set_recruit_intake")
    assert close.payload["open"] is False
    assert outbox.outbox_execute(operation_id=close.pk, client=sandbox_ui) == "done"
    assert Recruit.objects.get(pk=recruit.id).intake_open is False
