"""UI's closing billing summary (`recruit.billing_finalized`, the closure's `billing`) is
compared at close with Rally's own figures (SPEC B7): a difference is shown on the study's
overview and reported by `billing_check`, with both figures."""


from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from billing import payouts
from billing.models import UiBillingSummary
from billing.reconciliation import ui_billing_differences
from rally import clock
from recruitment.models import Recruitment
from recruitment.sync import recruitment_apply_recruit
from recruitment.workflows import study_status_change
from scheduling.services import session_complete_and_pay
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    dispatched,
    ended_session,
    funded_ui_study,
)
from tests.recruitment.factories import RecruitmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_study(admin):
    """A User Interviews study closed with one incentive of $100.00 paid."""
    study = funded_ui_study(admin, limit=3, name="Pricing interviews")
    RecruitmentFactory(study=study, state=Recruitment.State.RECRUITING, ui_recruit_id="rec_1")
    _, payout = session_complete_and_pay(membership=admin, session_id=ended_session(study).pk)
    payouts.payout_record_sent(payout_id=payout.pk, ui_payment_id="pay_1", ui_status="paid",
                               actor="webhook:evt_1")
    study_status_change(membership=admin, study=study, to="closed")
    return study


def _ui_closes(study, *, sessions, cents, paid, event="evt_9", minutes=1):
    return recruitment_apply_recruit(result={
        "recruit_id": "rec_1", "status": "closed", "application_url": "",
        "declined_reason": "",
        "updated_at": (clock.now() + timedelta(minutes=minutes)).isoformat(),
        "billing": {"completed_sessions": sessions, "incentives_cents": cents,
                    "paid_payments": paid}}, study_id=study.pk, actor_label=f"webhook:{event}")


def _overview(client, study):
    return client.get(reverse("studies:study_overview", args=[study.pk])).content.decode()


def test_a_matching_summary_is_kept_and_said_to_match(closed_study, admin, client_for, capsys):
    _ui_closes(closed_study, sessions=1, cents=10000, paid=1)
    _ui_closes(closed_study, sessions=1, cents=10000, paid=1, event="evt_10", minutes=2)
    summary = UiBillingSummary.objects.get(study_id=closed_study.pk)
    assert (summary.completed_sessions, summary.incentives, summary.paid_payments) == (
        1, Decimal("100.00"), 1)
    assert ui_billing_differences() == {}
    html = _overview(client_for(admin), closed_study)
    assert 'id="ui-billing-match"' in html and 'id="ui-billing-difference"' not in html
    call_command("billing_check")
    assert "Ledger OK" in capsys.readouterr().out


def test_a_difference_is_flagged_on_the_overview_and_by_billing_check(closed_study, admin,
                                                                      client_for, capsys):
    _ui_closes(closed_study, sessions=2, cents=20000, paid=2)
    assert ui_billing_differences()[closed_study.pk] == [
        ("completed sessions", "2", "1"), ("paid payments", "2", "1"),
        ("incentives paid", "$200.00", "$100.00")]
    html = _overview(client_for(admin), closed_study)
    block = html[html.index('id="ui-billing-difference"'):]
    block = block[:block.index("</div>")]
    assert "Incentives paid</th><td>$200.00</td><td>$100.00</td>" in block
    with pytest.raises(SystemExit):
        call_command("billing_check")
    error = capsys.readouterr().err
    assert "Pricing interviews" in error and "incentives paid UI $200.00, Rally $100.00" in error


def test_the_recruit_read_from_ui_carries_its_billing_summary():
    from datetime import UTC, datetime

    from recruitment.sync import recruit_result
    from recruitment.user_interviews.resources import (
        Recruit,
        RecruitBilling,
        RecruitStatus,
        StudyType,
    )

    moment = datetime(2026, 12, 1, 10, tzinfo=UTC)
    recruit = Recruit(
        id="rec_1", external_id="x", status=RecruitStatus.CLOSED,
        study_type=next(iter(StudyType)), num_participants=3, duration_minutes=30,
        compensation=Decimal("75.00"), internal_name=None, public_title=None,
        application_url=None, declined_reason=None, screener_version=None, counts=None,
        billing=RecruitBilling(completed_sessions=3, incentives=Decimal("225.50"),
                               paid_payments=3),
        created_at=moment, updated_at=moment, launched_at=moment, closed_at=moment)
    assert recruit_result(recruit)["billing"] == {
        "completed_sessions": 3, "incentives_cents": 22550, "paid_payments": 3}
