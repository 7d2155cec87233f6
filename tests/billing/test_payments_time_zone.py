"""The Payments tab shows its times in the viewer's time zone, with the zone named
(UI.md: times in the viewer's time zone with the zone shown)."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from billing import payouts
from billing.models import Payout
from tests.billing.payouts_support import due_payouts, funded_ui_study

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    from rally.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)


@pytest.mark.parametrize(("zone", "shown"), [("Asia/Tokyo", "Paid Jan 15, 2026 21:00 JST"),
                                             ("America/New_York",
                                              "Paid Jan 15, 2026 07:00 EST")])
def test_payment_times_are_in_the_viewers_zone_with_the_zone_named(admin, client_for, zone,
                                                                   shown):
    admin.user.time_zone = zone
    admin.user.save(update_fields=["time_zone"])
    study = funded_ui_study(admin, name="Checkout interviews")
    [payout] = due_payouts(study, 1)
    payouts.payouts_sweep()
    payouts.payout_record_sent(payout_id=payout.pk, ui_payment_id="pay_tz", ui_status="paid",
                               actor="webhook:evt_tz")
    Payout.objects.filter(pk=payout.pk).update(
        confirmed_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    body = client_for(admin).get(reverse("billing:payments")).content.decode()
    assert shown in body
