"""Reading the Scheduling tab and the booking page writes nothing (DESIGN: GET never
writes): before anyone saves, both show the C1 default, which is saved with the first
change or booking."""

import pytest
from django.urls import reverse

from scheduling import services
from scheduling.models import SchedulingSettings

pytestmark = pytest.mark.django_db


def test_the_scheduling_tab_shows_the_default_without_saving_it(client_for, researcher, study):
    response = client_for(researcher).get(
        reverse("scheduling:study_scheduling", kwargs={"study_id": study.pk}))
    assert response.status_code == 200
    assert response.context["form"].initial["hosts"] == [str(researcher.user.pk)]  # the owner
    assert not SchedulingSettings.objects.filter(study=study).exists()


def test_the_booking_page_lists_the_default_slots_without_saving_them(client, study, invited):
    url = reverse("scheduling:booking", kwargs={"token": services.booking_token_make(invited())})
    response = client.get(url, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert not SchedulingSettings.objects.filter(study=study).exists()
    # Saved the moment something needs it, with the same default: the same slots.
    row = services.scheduling_settings_ensure(study=study)
    assert list(row.hosts.all()) == [study.owner]
    assert client.get(url, HTTP_ACCEPT="application/json").json() == response.json()
