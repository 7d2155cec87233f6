"""The host's calendar page (/account/calendar/): connecting, refreshing, choosing where
sessions are written, disconnecting; bad input changes nothing."""

import pytest
from django.urls import reverse

from rally import clock
from rally.models import ActivityEntry
from scheduling import host_calendars
from scheduling.models import HostBusyInterval, HostCalendar

pytestmark = pytest.mark.django_db

PAGE = "scheduling:account_calendar"


@pytest.fixture(autouse=True)
def enqueued(worker):
    """Reads are only enqueued here (no server answers in these tests)."""
    return worker


def post(client, **data):
    return client.post(reverse(PAGE), data)


def test_the_account_menu_links_to_the_page_which_starts_empty(client_for, researcher):
    client = client_for(researcher)
    home = client.get(reverse("home")).content.decode()
    assert f'href="{reverse(PAGE)}"' in home
    page = client.get(reverse(PAGE))
    assert page.status_code == 200
    assert "No calendar connected yet." in page.content.decode()


def test_the_page_needs_a_sign_in(client):
    response = client.get(reverse(PAGE))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_connecting_caldav_stores_the_password_encrypted_and_enqueues_a_read(
        client_for, researcher, worker, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client_for(researcher), kind="caldav",
                        server_url="https://caldav.example.com/dav/",
                        username="casey@acme.test", password="abcd-efgh-ijkl-mnop")
    assert response.status_code == 302
    row = HostCalendar.objects.get(user=researcher.user)
    assert (row.kind, row.server_url, row.username) == (
        "caldav", "https://caldav.example.com/dav/", "casey@acme.test")
    assert "abcd-efgh-ijkl-mnop" not in row.password_encrypted
    assert (host_calendars.SYNC_TASK, [str(row.pk)]) in worker
    assert ActivityEntry.objects.filter(action="calendar.connected",
                                        actor=researcher.user).count() == 1
    page = client_for(researcher).get(reverse(PAGE)).content.decode()
    assert "abcd-efgh" not in page and "Reading…" in page


def test_a_feed_address_is_secret_and_webcal_is_accepted(client_for, researcher):
    post(client_for(researcher), kind="feed",
         feed_url="webcal://p12-caldav.icloud.com/published/2/SECRETTOKEN")
    row = HostCalendar.objects.get(user=researcher.user)
    assert row.feed_host == "p12-caldav.icloud.com"
    assert "SECRETTOKEN" not in row.feed_url_encrypted
    page = client_for(researcher).get(reverse(PAGE)).content.decode()
    assert "SECRETTOKEN" not in page and "p12-caldav.icloud.com (secret address)" in page


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"kind": "caldav", "server_url": "caldav.example.com", "username": "c", "password": "p"},
     "server_url", "starting with https://"),
    ({"kind": "caldav", "server_url": "https://caldav.example.com/", "password": "p"},
     "username", "Enter the user name"),
    ({"kind": "caldav", "server_url": "https://caldav.example.com/", "username": "c"},
     "password", "Enter an app password"),
    ({"kind": "feed", "feed_url": "javascript:alert(1)"}, "feed_url", "Enter the calendar's"),
    ({"kind": "feed", "feed_url": ""}, "feed_url", "Enter the calendar's"),
    ({"kind": "outlook"}, "kind", "Select a valid choice"),
])
def test_bad_input_is_refused_next_to_its_field_and_saves_nothing(client_for, researcher, data,
                                                                  field, message):
    response = post(client_for(researcher), **data)
    assert response.status_code == 422
    assert any(message in error for error in response.context["form"].errors[field])
    assert not HostCalendar.objects.exists()
    assert not ActivityEntry.objects.filter(action="calendar.connected").exists()


def test_reconnecting_the_same_account_keeps_the_stored_password(client_for, researcher):
    client = client_for(researcher)
    post(client, kind="caldav", server_url="https://caldav.example.com/", username="casey",
         password="first-password")
    stored = HostCalendar.objects.get().password_encrypted
    assert post(client, kind="caldav", server_url="https://caldav.example.com/",
                username="casey", password="").status_code == 302
    assert HostCalendar.objects.get().password_encrypted == stored
    # Another account needs its own password.
    response = post(client, kind="caldav", server_url="https://caldav.example.com/",
                    username="someone-else", password="")
    assert response.status_code == 422


def _connected(user, **fields):
    now = clock.now()
    return HostCalendar.objects.create(
        user=user, kind="caldav", server_url="https://caldav.example.com/", username="casey",
        password_encrypted="x", state="ok", last_read_at=now, last_attempt_at=now,
        calendars=[{"url": "https://caldav.example.com/casey/work/", "name": "Work"}],
        created_at=now, updated_at=now, **fields)


def test_choosing_the_calendar_for_sessions_accepts_only_the_hosts_own(client_for, researcher):
    row = _connected(researcher.user)
    client = client_for(researcher)
    url = reverse("scheduling:account_calendar_write_back")
    client.post(url, {"write_calendar_url": "https://evil.example.com/other/"})
    row.refresh_from_db()
    assert row.write_calendar_url == ""
    client.post(url, {"write_calendar_url": "https://caldav.example.com/casey/work/"})
    row.refresh_from_db()
    assert row.write_calendar_name == "Work"
    assert '<option value="https://caldav.example.com/casey/work/" selected>Work</option>' in (
        client.get(reverse(PAGE)).content.decode())


def test_refresh_enqueues_a_read_and_the_status_partial_polls_until_it_is_done(
        client_for, researcher, worker, django_capture_on_commit_callbacks):
    row = _connected(researcher.user)
    client = client_for(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("scheduling:account_calendar_refresh"))
    assert (host_calendars.SYNC_TASK, [str(row.pk)]) in worker
    partial = client.get(reverse(PAGE) + "?part=status", HTTP_HX_REQUEST="true")
    html = partial.content.decode()
    assert html.lstrip().startswith('<div class="account-calendar__status"')
    assert 'data-hx-trigger="every 2s"' in html and "<h1>" not in html
    HostCalendar.objects.filter(pk=row.pk).update(last_attempt_at=clock.now())
    done = client.get(reverse(PAGE) + "?part=status", HTTP_HX_REQUEST="true").content.decode()
    assert "data-hx-trigger" not in done and "Connected" in done


def test_disconnecting_forgets_the_calendar_and_its_busy_times(client_for, researcher, admin):
    row = _connected(researcher.user)
    other = _connected(admin.user)
    now = clock.now()
    for user in (researcher.user, admin.user):
        HostBusyInterval.objects.create(user=user, starts_at=now, ends_at=now.replace(year=2099))
    client_for(researcher).post(reverse("scheduling:account_calendar_disconnect"))
    assert not HostCalendar.objects.filter(pk=row.pk).exists()
    assert not HostBusyInterval.objects.filter(user=researcher.user).exists()
    assert HostCalendar.objects.filter(pk=other.pk).exists()
    assert HostBusyInterval.objects.filter(user=admin.user).count() == 1


def test_reconnecting_the_same_feed_keeps_its_busy_times_until_the_next_read(client_for,
                                                                           researcher):
    client = client_for(researcher)
    post(client, kind="feed", feed_url="https://calendar.example.com/secret/basic.ics")
    now = clock.now()
    HostBusyInterval.objects.create(user=researcher.user, starts_at=now,
                                    ends_at=now.replace(year=2099))
    post(client, kind="feed", feed_url="https://calendar.example.com/secret/basic.ics")
    assert HostBusyInterval.objects.filter(user=researcher.user).count() == 1
    post(client, kind="feed", feed_url="https://calendar.example.com/another/basic.ics")
    assert not HostBusyInterval.objects.filter(user=researcher.user).exists()
