""""Complete & Send payment" in the session's three-dots menu (SPEC I1)."""

import pytest
from django.urls import reverse

from billing.models import Payout
from tests.billing.payouts_support import charges, ended_session, funded_ui_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(admin):
    return funded_ui_study(admin)


def page(client, study):
    return client.get(reverse("scheduling:study_scheduling", args=[study.pk])).content.decode()


def test_the_menu_offers_complete_and_send_payment_after_the_session(study, admin, client_for):
    session = ended_session(study)
    name = session.application.participant.display_name
    client = client_for(admin)
    body = page(client, study)
    assert f'aria-label="Actions for {name}"' in body
    assert "Complete &amp; Send payment" in body
    response = client.post(reverse("scheduling:session_complete_and_pay", args=[session.pk]))
    assert response.status_code == 302
    session.refresh_from_db()
    payout = Payout.objects.get(session_id=session.pk)
    assert session.status == "completed"
    assert (payout.state, payout.trigger) == ("sending", "manual")
    assert charges(study) == (1, 1, 0)
    assert "Complete &amp; Send payment" not in page(client, study)


def test_clicking_twice_pays_once(study, admin, client_for):
    session = ended_session(study)
    client = client_for(admin)
    for _ in range(2):
        client.post(reverse("scheduling:session_complete_and_pay", args=[session.pk]))
    assert Payout.objects.filter(session_id=session.pk).count() == 1
    assert charges(study) == (1, 1, 0)


def test_observers_and_other_workspaces_cannot_pay(study, observer, outsider, client_for):
    session = ended_session(study)
    url = reverse("scheduling:session_complete_and_pay", args=[session.pk])
    assert "Complete &amp; Send payment" not in page(client_for(observer), study)
    assert client_for(observer).post(url).status_code == 403
    assert client_for(outsider).post(url).status_code == 404
    assert not Payout.objects.exists()


def test_a_session_not_yet_over_is_not_offered(study, admin, client_for):
    from datetime import timedelta

    session = ended_session(study, ended=-timedelta(hours=2))
    assert "Complete &amp; Send payment" not in page(client_for(admin), study)
    client_for(admin).post(reverse("scheduling:session_complete_and_pay", args=[session.pk]))
    assert not Payout.objects.exists()
