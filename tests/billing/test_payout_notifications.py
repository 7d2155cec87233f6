"""N1: a failed payout tells the people who can retry it (Admins, Ops Managers) — counted
into one notification a person however many fail — in the app and by email."""


import pytest
from django.core import mail
from django.urls import reverse

from billing import payouts
from rally import notifications
from rally.models import Notification, NotificationKind
from scheduling.services import session_complete_and_pay
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    dispatched,
    ended_session,
    funded_ui_study,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(admin):
    return funded_ui_study(admin, limit=3)


def _sent_payout(study, admin):
    session = ended_session(study)
    _, payout = session_complete_and_pay(membership=admin, session_id=session.pk)
    return payout


def test_a_payout_refused_at_ui_tells_admins_and_ops_managers_only(study, admin, ops_manager,
                                                                   researcher, observer):
    study.team.add(researcher.user)
    payout = _sent_payout(study, admin)
    payouts.payout_record_failed(payout_id=payout.pk, reason="User Interviews answered 409",
                                 actor="task:outbox")
    rows = Notification.objects.filter(kind=NotificationKind.PAYOUT_FAILED)
    assert sorted(rows.values_list("recipient__email", flat=True)) == [
        "avery@acme.test", "olivia@acme.test"]
    row = rows.first()
    assert row.headline == (f"The incentive for {payout.participant_label} (“{study.name}”) "
                            f"failed: User Interviews answered 409")
    assert row.link == reverse("billing:payments")
    notifications.notification_emails_send_due()
    assert sorted(m.to[0] for m in mail.outbox if m.subject.startswith("Rally:")) == [
        "avery@acme.test", "olivia@acme.test"]


def test_several_failures_count_into_one_notification(study, admin, ops_manager):
    first, second = _sent_payout(study, admin), _sent_payout(study, admin)
    for payout in (first, second):
        payouts.payout_record_status(payout_id=payout.pk, ui_payment_id="pay_x",
                                     ui_status="failed", actor="webhook:evt_1")
    row = Notification.objects.get(recipient=ops_manager.user)
    assert (row.count, row.headline) == (2, "2 incentive payments failed")
    # A replay of the same news is no new failure.
    payouts.payout_record_status(payout_id=first.pk, ui_payment_id="pay_x",
                                 ui_status="failed", actor="webhook:evt_1")
    row.refresh_from_db()
    assert row.count == 2
