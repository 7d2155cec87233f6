"""Account settings (SPEC W6): name, time zone, password, notification preferences; times
shown in the reader's zone with the zone named."""

import re

import pytest
from django.urls import reverse

from rally.models import NotificationPreference, User
from rally.timezones import COMMON_ZONES, canonical_zones
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_account_menu_links_to_account_settings(client_for, researcher):
    page = client_for(researcher).get(reverse("home")).content.decode()
    assert f'href="{reverse("account_settings")}">Account settings</a>' in page


def test_the_page_has_each_part(client_for, researcher):
    page = client_for(researcher).get(reverse("account_settings")).content.decode()
    for heading in ("Name and time zone", "Password", "Notifications", "Calendar"):
        assert f">{heading}</h2>" in page
    assert 'list="time-zones"' in page and '<option value="Europe/Berlin">' in page
    # Common zones first; no obsolete aliases.
    first = page.index('<option value="America/New_York">')
    assert first < page.index('<option value="Africa/Abidjan">')
    assert 'value="US/Eastern"' not in page and 'value="Asia/Calcutta"' not in page


def test_zones_offered_are_canonical_with_the_common_ones_included():
    zones = canonical_zones()
    assert set(COMMON_ZONES) <= set(zones)
    assert "US/Pacific" not in zones and "Europe/Kiev" not in zones and "Europe/Kyiv" in zones


def test_saving_name_and_zone(client_for, researcher):
    client = client_for(researcher)
    response = client.post(reverse("account_profile"), {"name": "Riley Reyes",
                                                         "time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    user = User.objects.get(pk=researcher.user_id)
    assert (user.name, user.time_zone) == ("Riley Reyes", "Europe/Berlin")


def test_a_city_name_finds_its_zone(client_for, researcher):
    client_for(researcher).post(reverse("account_profile"), {"name": "R",
                                                             "time_zone": "new york"})
    assert User.objects.get(pk=researcher.user_id).time_zone == "America/New_York"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "US/Eastern", "", "x" * 70])
def test_an_unknown_or_obsolete_zone_is_refused_and_nothing_changes(client_for, researcher,
                                                                    zone):
    before = User.objects.get(pk=researcher.user_id).time_zone
    response = client_for(researcher).post(reverse("account_profile"),
                                           {"name": "Changed", "time_zone": zone})
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    user = User.objects.get(pk=researcher.user_id)
    assert (user.time_zone, user.name) == (before, researcher.user.name)


def test_password_change_keeps_the_session(client_for, researcher):
    client = client_for(researcher)
    response = client.post(reverse("account_password"), {
        "old_password": PASSWORD, "new_password1": "a much better passphrase 42",
        "new_password2": "a much better passphrase 42"})
    assert response.status_code == 302
    assert User.objects.get(pk=researcher.user_id).check_password("a much better passphrase 42")
    assert client.get(reverse("account_settings")).status_code == 200  # still signed in


def test_a_wrong_current_password_changes_nothing(client_for, researcher):
    response = client_for(researcher).post(reverse("account_password"), {
        "old_password": "wrong", "new_password1": "a much better passphrase 42",
        "new_password2": "a much better passphrase 42"})
    assert response.status_code == 400
    assert User.objects.get(pk=researcher.user_id).check_password(PASSWORD)


def test_notification_preferences_are_saved_per_kind(client_for, researcher):
    from rally.models import NotificationKind

    data = {kind: "immediately" for kind in NotificationKind.values}
    data.update(applicants="daily", payout_failed="off")
    response = client_for(researcher).post(reverse("account_notifications"), data)
    assert response.status_code == 302
    saved = dict(NotificationPreference.objects.filter(user=researcher.user)
                 .values_list("kind", "email"))
    assert saved["applicants"] == "daily" and saved["payout_failed"] == "off"
    page = client_for(researcher).get(reverse("account_settings")).content.decode()
    assert re.search(r'name="applicants" value="daily"[^>]* checked', page)
    assert not re.search(r'name="applicants" value="immediately"[^>]* checked', page)


def test_bad_preferences_change_nothing(client_for, researcher):
    response = client_for(researcher).post(reverse("account_notifications"),
                                           {"applicants": "hourly"})
    assert response.status_code == 400
    assert not NotificationPreference.objects.exists()


def test_times_are_shown_in_the_readers_zone_named(client_for, researcher, workspace):
    from rally.services import activity_record

    activity_record(workspace=workspace, actor=researcher.user, action="x.y",
                    summary="Something")
    client = client_for(researcher)
    client.post(reverse("account_profile"), {"name": "R", "time_zone": "Europe/Berlin"})
    page = client.get(reverse("home")).content.decode()
    assert " CET</time>" in page or " CEST</time>" in page
