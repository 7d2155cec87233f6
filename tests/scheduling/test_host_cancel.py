"""A host's "Cancel" and "Reschedule" of an Upcoming session (SPEC C5): the participant is
told through UI, may book another time from their booking link, and keeps their seat."""

from datetime import timedelta

import pytest
from django.urls import reverse

from rally.models import ActivityEntry, OutboxOperation
from scheduling import services
from scheduling.models import Session
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    dispatched,
    ended_session,
    funded_ui_study,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(admin, researcher):
    study = funded_ui_study(admin)
    study.owner = researcher.user
    study.save(update_fields=["owner"])
    return study


@pytest.fixture
def upcoming(study, researcher):
    return ended_session(study, ended=-timedelta(hours=3), host=researcher.user)  # in 2 h


@pytest.mark.parametrize(("reason", "action"), [("cancel", "session.canceled_by_host"),
                                                 ("reschedule", "session.reschedule_requested")])
def test_the_host_cancels_or_asks_for_another_time_and_the_seat_is_kept(
        study, upcoming, researcher, client_for, reason, action):
    response = client_for(researcher).post(
        reverse("scheduling:session_cancel_by_host", args=[upcoming.pk]), {"reason": reason})
    assert response.status_code == 302
    upcoming.refresh_from_db()
    upcoming.application.refresh_from_db()
    assert upcoming.status == "canceled"
    assert upcoming.application.status == "invited"  # seat kept; the link books again
    operation = OutboxOperation.objects.get(operation="cancel_session")
    assert operation.payload["keep_seat"] is True
    assert ActivityEntry.objects.filter(action=action, study_id=study.pk).count() == 1
    # Doing it again changes nothing more.
    with pytest.raises(services.BookingRefused):
        services.session_cancel_by_host(membership=researcher, session_id=upcoming.pk,
                                        reason=reason)
    assert OutboxOperation.objects.filter(operation="cancel_session").count() == 1


def test_a_started_session_cannot_be_canceled_by_the_host(study, researcher):
    started = ended_session(study, ended=-timedelta(minutes=30), host=researcher.user)
    with pytest.raises(services.BookingRefused, match="already started"):
        services.session_cancel_by_host(membership=researcher, session_id=started.pk)
    assert Session.objects.get(pk=started.pk).status == "upcoming"


def test_observers_and_other_workspaces_cannot_cancel(upcoming, observer, outsider, client_for):
    url = reverse("scheduling:session_cancel_by_host", args=[upcoming.pk])
    assert client_for(observer).post(url, {"reason": "cancel"}).status_code == 403
    assert client_for(outsider).post(url, {"reason": "cancel"}).status_code == 404
    assert Session.objects.get(pk=upcoming.pk).status == "upcoming"
    assert not OutboxOperation.objects.filter(operation="cancel_session").exists()


def test_the_sessions_list_offers_cancel_and_reschedule_with_a_confirmation(
        study, upcoming, researcher, observer, client_for):
    url = reverse("scheduling:study_scheduling", args=[study.pk])
    name = upcoming.application.participant.display_name.replace("'", "&#x27;")
    html = client_for(researcher).get(url).content.decode()
    assert f'aria-label="Cancel {name}\'s session"' in html
    assert f'data-confirm="Ask {name} to choose a new time?"' in html
    assert "through User Interviews" in html
    assert 'value="reschedule"' not in client_for(observer).get(url).content.decode()
