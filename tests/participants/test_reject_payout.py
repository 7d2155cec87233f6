"""A participant's status follows their incentive (SPEC I2, I3, P4): rejected after the
session, the payout not yet sent is canceled; a sent one cannot be called back, so the
rejection is refused; a payout confirmed paid makes the application Paid, once."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import payouts
from billing.models import Payout
from billing.services import study_figures
from participants import services
from participants.models import Application
from rally import clock
from rally.models import ActivityEntry, OutboxOperation
from recruitment.payments import payout_apply_ui_status
from scheduling.services import session_mark
from tests.billing.payouts_support import charges, ended_session, funded_ui_study

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sandbox_clock(settings):
    settings.SANDBOX_ENABLED = True
    yield
    clock.reset()


@pytest.fixture
def study(admin):
    return funded_ui_study(admin, limit=3)


def _completed(admin, study):
    session = ended_session(study, ended=timedelta(hours=2))
    session_mark(membership=admin, session_id=session.pk, status="completed")
    session.application.refresh_from_db()
    return session, session.application


def _reject(membership, study, application, reason=""):
    return services.applicant_reject(membership=membership, study=study,
                                     application_id=application.pk, reason=reason)


def test_rejecting_after_the_session_cancels_the_payout_not_yet_sent(study, admin):
    session, application = _completed(admin, study)
    _reject(admin, study, application, reason="Answers did not match the screener")
    application.refresh_from_db()
    payout = Payout.objects.get(session_id=session.pk)
    assert application.status == "rejected"
    assert payout.state == "canceled"
    assert "Answers did not match the screener" in payout.failure_reason
    assert ActivityEntry.objects.filter(action="payout.canceled", study_id=study.pk).count() == 1
    assert ActivityEntry.objects.filter(action="participants.applicant_rejected").count() == 1
    # UI takes no rejection after a completed session: nothing is sent there.
    assert not OutboxOperation.objects.filter(operation="reject_applicant").exists()
    # A day later the sweeper finds nothing to pay, and nothing was ever charged.
    clock.advance(hours=30)
    assert payouts.payouts_sweep() == 0
    assert charges(study) == (0, 0, 0)
    assert study_figures(study.pk)["total_spent"] == 0


def test_rejecting_after_the_payout_was_sent_is_refused_and_changes_nothing(study, admin):
    session, application = _completed(admin, study)
    payouts.payout_send_now(session_id=session.pk, actor=admin.user)
    with pytest.raises(ValidationError) as refusal:
        _reject(admin, study, application)
    assert "already sending" in refusal.value.messages[0]
    assert "can’t be called back" in refusal.value.messages[0]
    application.refresh_from_db()
    assert application.status == "completed"
    assert Payout.objects.get(session_id=session.pk).state == "sending"
    assert not ActivityEntry.objects.filter(action="participants.applicant_rejected").exists()
    assert charges(study) == (1, 1, 0)


def test_a_bulk_rejection_with_one_sent_payout_changes_none(study, admin):
    first_session, first = _completed(admin, study)
    second_session, second = _completed(admin, study)
    payouts.payout_send_now(session_id=second_session.pk, actor=admin.user)
    with pytest.raises(ValidationError) as refusal:
        services.applicants_bulk_review(membership=admin, study=study,
                                        application_ids=[first.pk, second.pk],
                                        decision="reject")
    assert "Nothing was changed." in refusal.value.messages[0]
    assert Payout.objects.get(session_id=first_session.pk).state == "not_sent"
    assert set(Application.objects.filter(pk__in=[first.pk, second.pk])
               .values_list("status", flat=True)) == {"completed"}


def test_the_reject_page_explains_a_refusal(client_for, study, admin):
    session, application = _completed(admin, study)
    payouts.payout_send_now(session_id=session.pk, actor=admin.user)
    url = reverse("participants:applicant_reject", args=[study.pk, application.pk])
    response = client_for(admin).post(url, {"reason": ""}, follow=True)
    assert "can’t be rejected now" in response.content.decode()
    application.refresh_from_db()
    assert application.status == "completed"


def test_the_participants_tab_offers_reject_for_a_completed_participant(client_for, study,
                                                                        admin):
    _session, application = _completed(admin, study)
    response = client_for(admin).get(reverse("participants:study_participants",
                                             args=[study.pk]))
    assert reverse("participants:applicant_reject",
                   args=[study.pk, application.pk]) in response.content.decode()


def test_a_payout_confirmed_paid_makes_the_application_paid_once(study, admin):
    session, application = _completed(admin, study)
    payout = payouts.payout_send_now(session_id=session.pk, actor=admin.user)
    payout_apply_ui_status(payout_id=payout.pk, ui_payment_id="pay_1", ui_status="pending",
                           actor="webhook:evt_1")
    application.refresh_from_db()
    assert application.status == "completed"  # accepted, not paid yet
    for event in ("evt_2", "evt_2", "evt_3"):  # the paid webhook, delivered again, and a poll
        payout_apply_ui_status(payout_id=payout.pk, ui_payment_id="pay_1", ui_status="paid",
                               actor=f"webhook:{event}")
    application.refresh_from_db()
    assert application.status == "paid"
    assert Payout.objects.get(pk=payout.pk).state == "paid"
    entries = ActivityEntry.objects.filter(action="participants.applicant_paid")
    assert entries.count() == 1
    assert entries.get().data == {"application_id": str(application.pk),
                                  "payout": str(payout.pk)}
    assert charges(study) == (1, 1, 1)


def test_a_failed_payment_leaves_the_application_completed(study, admin):
    session, application = _completed(admin, study)
    payout = payouts.payout_send_now(session_id=session.pk, actor=admin.user)
    payout_apply_ui_status(payout_id=payout.pk, ui_payment_id="pay_1", ui_status="failed",
                           actor="webhook:evt_1")
    application.refresh_from_db()
    assert application.status == "completed"
    assert not ActivityEntry.objects.filter(action="participants.applicant_paid").exists()


def test_rejected_after_the_session_stays_rejected_when_ui_repeats_the_completion(
        study, admin):
    from tests.participants.factories import applicant_record

    session, application = _completed(admin, study)
    _reject(admin, study, application)
    # UI never hears of the rejection: its later copies still say "completed", newer.
    later = clock.now() + timedelta(hours=1)
    record = applicant_record(1, status="completed", ui_applicant_id=application.ui_applicant_id,
                              ui_participant_id=application.participant.ui_participant_id
                              or "par_1", ui_updated_at=later)
    for _ in range(2):
        services.applications_upsert_from_ui(study=study, items=[record])
    application.refresh_from_db()
    assert application.status == "rejected"
    assert application.ui_updated_at == later  # the rest of UI's copy still applies
    assert Payout.objects.get(session_id=session.pk).state == "canceled"
    # An application rejected by UI itself, then completed there, follows UI (no payout of
    # Rally's was canceled): the rule is about Rally's own rejection only.
    for status, minutes in (("rejected", 1), ("completed", 2)):
        services.applications_upsert_from_ui(study=study, items=[
            applicant_record(7, status=status, updated_minutes=minutes)])
    assert Application.objects.get(ui_applicant_id="app_7").status == "completed"
