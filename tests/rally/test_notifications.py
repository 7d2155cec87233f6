"""Notifications' delivery (SPEC N1): writing, batching, the bell and list, email by workers."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from participants.services import applications_upsert_from_ui
from rally import clock, notifications
from rally.models import EmailDelivery, Notification, NotificationKind, NotificationPreference
from tests.participants.factories import StudyFactory, applicant_record
from tests.rally.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

Kind = NotificationKind


def _notify(workspace, people, text="Something happened", link="/studies/", **extra):
    return notifications.notify(workspace=workspace, kind=Kind.SESSION_BOOKED,
                                recipients=people, text=text, link=link, **extra)


def test_notify_writes_one_row_per_person_and_drops_the_actor(workspace, admin, researcher,
                                                              ops_manager):
    written = _notify(workspace, [admin, researcher, researcher.user, ops_manager],
                      exclude=[ops_manager])
    assert written == 2
    assert sorted(Notification.objects.values_list("recipient__email", flat=True)) == [
        "avery@acme.test", "riley@acme.test"]


def test_immediate_email_is_sent_by_the_worker_not_by_notify(workspace, admin, settings):
    settings.RALLY_BASE_URL = "https://rally.example"
    _notify(workspace, [admin], text="Jordan P. booked a session", link="/studies/x/")
    assert mail.outbox == []  # nothing leaves inside the writing transaction
    assert notifications.notification_emails_send_due() == 1
    message = mail.outbox[0]
    assert message.to == ["avery@acme.test"]
    assert message.subject == "Rally: Jordan P. booked a session"
    assert "https://rally.example/studies/x/" in message.body
    row = Notification.objects.get()
    assert row.email_status == "sent" and row.emailed_at is not None
    assert notifications.notification_emails_send_due() == 0  # sent once


def test_off_means_the_bell_only(workspace, admin):
    NotificationPreference.objects.create(user=admin.user, kind=Kind.SESSION_BOOKED,
                                          email=EmailDelivery.OFF)
    _notify(workspace, [admin])
    assert Notification.objects.get().email_status == "none"
    assert notifications.notification_emails_send_due(now=clock.now() + timedelta(days=2)) == 0
    assert mail.outbox == []


def test_daily_digest_is_one_email_at_eight_in_the_persons_zone(workspace, admin):
    admin.user.time_zone = "Europe/Berlin"
    admin.user.save()
    for kind in (Kind.SESSION_BOOKED, Kind.SESSION_CANCELED):
        NotificationPreference.objects.create(user=admin.user, kind=kind,
                                              email=EmailDelivery.DAILY)
    _notify(workspace, [admin], text="Booked one")
    notifications.notify(workspace=workspace, kind=Kind.SESSION_CANCELED, recipients=[admin],
                         text="Canceled one", link="/")
    due = Notification.objects.values_list("email_due_at", flat=True).first()
    local = due.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert (local.hour, local.minute) == (8, 0) and due > clock.now()
    assert notifications.notification_emails_send_due() == 0  # not before its time
    assert notifications.notification_emails_send_due(now=due) == 1
    assert len(mail.outbox) == 1
    assert "Booked one" in mail.outbox[0].body and "Canceled one" in mail.outbox[0].body
    assert mail.outbox[0].subject == "Rally: your daily digest (2 updates)"


def test_digest_leaves_out_what_was_read_in_the_app(workspace, admin):
    NotificationPreference.objects.create(user=admin.user, kind=Kind.SESSION_BOOKED,
                                          email=EmailDelivery.DAILY)
    _notify(workspace, [admin])
    notifications.notifications_mark_all_read(user=admin.user, workspace=workspace)
    due = Notification.objects.get().email_due_at
    assert notifications.notification_emails_send_due(now=due) == 0
    assert mail.outbox == []
    assert Notification.objects.get().email_status == "skipped"


def test_next_digest_is_tomorrow_once_eight_has_passed():
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    due = notifications.next_digest_at(now, "Europe/Berlin")
    assert due.isoformat() == "2026-12-06T08:00:00+01:00"
    # 04:00 in New York: today at eight.
    assert notifications.next_digest_at(now, "America/New_York").isoformat() == (
        "2026-12-05T08:00:00-05:00")


def test_a_failed_send_is_retried_later_then_ends_failed(workspace, admin, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise OSError("SMTP refused")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refuse)
    _notify(workspace, [admin])
    now = clock.now()
    for attempt in range(1, notifications.EMAIL_MAX_ATTEMPTS + 1):
        assert notifications.notification_emails_send_due(now=now) == 0
        row = Notification.objects.get()
        assert row.email_attempts == attempt and "SMTP refused" in row.email_error
        assert notifications.notification_emails_send_due(now=now) == 0  # waits its delay
        now = row.email_due_at
    assert row.email_status == "failed"
    monkeypatch.undo()
    assert notifications.notification_emails_send_due(now=now + timedelta(days=1)) == 0


def test_claimed_rows_are_not_sent_twice_by_a_second_worker(workspace, admin):
    _notify(workspace, [admin])
    now = clock.now()
    claimed = notifications._claim_due(now, 10)
    assert len(claimed) == 1
    assert notifications._claim_due(now, 10) == []


# Batched: new applicants ------------------------------------------------------------------


@pytest.fixture
def team_study(workspace, researcher, ops_manager, admin):
    study = StudyFactory(workspace=workspace, owner=researcher.user, name="Onboarding")
    study.team.add(ops_manager.user)
    return study


def test_new_applicants_count_into_one_open_notification_per_person(team_study, researcher,
                                                                    ops_manager, admin):
    applications_upsert_from_ui(study=team_study, items=[applicant_record(n) for n in range(3)])
    applications_upsert_from_ui(study=team_study, items=[applicant_record(n)
                                                         for n in range(2, 5)])
    rows = {row.recipient_id: row for row in Notification.objects.all()}
    assert set(rows) == {researcher.user_id, ops_manager.user_id}  # the team, not the Admin
    assert rows[researcher.user_id].count == 5
    assert rows[researcher.user_id].headline == "5 new applicants to review in “Onboarding”"
    assert rows[researcher.user_id].link == reverse(
        "participants:study_participants", args=[team_study.pk]) + "?status=applied"
    # Once read, the next arrivals open a new one.
    Notification.objects.filter(recipient=researcher.user).update(read_at=clock.now())
    applications_upsert_from_ui(study=team_study, items=[applicant_record(9)])
    assert Notification.objects.filter(recipient=researcher.user).count() == 2


def test_applicants_updated_or_not_waiting_for_review_tell_nobody(team_study):
    applications_upsert_from_ui(study=team_study, items=[applicant_record(1, status="invited")])
    applications_upsert_from_ui(study=team_study, items=[applicant_record(1, status="applied",
                                                                          updated_minutes=5)])
    assert not Notification.objects.exists()


def test_a_thousand_applicants_are_written_in_constant_queries_and_one_email_a_person(
        workspace, researcher):
    """QUALITY perf-notify: 1,000 applicants in one sync, a 5-person team."""
    study = StudyFactory(workspace=workspace, owner=researcher.user, name="Big")
    for n in range(4):
        study.team.add(MembershipFactory(workspace=workspace, role="researcher",
                                         user=UserFactory(email=f"team{n}@acme.test")).user)

    def queries(records):
        with CaptureQueriesContext(connection) as captured:
            applications_upsert_from_ui(study=study, items=records)
        return len(captured)

    few = queries([applicant_record(n) for n in range(10)])
    Notification.objects.all().delete()
    many = queries([applicant_record(n) for n in range(1000, 2000)])
    assert many == few
    assert Notification.objects.count() == 5
    assert set(Notification.objects.values_list("count", flat=True)) == {1000}
    assert notifications.notification_emails_send_due() == 5
    assert sorted(len(m.to) for m in mail.outbox) == [1] * 5


# The bell and the list --------------------------------------------------------------------


def test_bell_shows_the_unread_count_without_a_query_of_its_own(client_for, workspace, admin):
    client = client_for(admin)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as before:
        page = client.get(reverse("home")).content.decode()
    assert "bell__count" not in page
    _notify(workspace, [admin], text="First")
    _notify(workspace, [admin], text="Second")
    with CaptureQueriesContext(connection) as after:
        page = client.get(reverse("home")).content.decode()
    assert len(after) == len(before)
    assert '<span class="bell__count">2<span class="visually-hidden"> unread</span>' in page
    bell = client.get(reverse("notification_bell")).content.decode()
    assert '<span class="bell__count">2<' in bell


def test_list_open_and_mark_read(client_for, workspace, admin, researcher):
    _notify(workspace, [admin], text="Open me", link="/studies/")
    _notify(workspace, [admin], text="Later")
    mine = {n.text: n for n in Notification.objects.filter(recipient=admin.user)}
    client = client_for(admin)
    page = client.get(reverse("notifications")).content.decode()
    assert "Open me" in page and "Later" in page
    response = client.post(reverse("notification_open", args=[mine["Open me"].pk]))
    assert response.status_code == 302 and response["Location"] == "/studies/"
    mine["Open me"].refresh_from_db()
    assert mine["Open me"].read_at is not None
    assert client.post(reverse("notifications_mark_all_read")).status_code == 302
    assert not Notification.objects.filter(recipient=admin.user, read_at__isnull=True).exists()


def test_someone_elses_notification_is_404(client_for, workspace, admin, researcher):
    _notify(workspace, [admin], text="Not yours")
    theirs = Notification.objects.get()
    client = client_for(researcher)
    assert client.post(reverse("notification_open", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notification_mark_read", args=[theirs.pk])).status_code == 404
    assert "Not yours" not in client.get(reverse("notifications")).content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_open_never_redirects_off_site(client_for, workspace, admin):
    _notify(workspace, [admin], link="https://evil.example/")
    response = client_for(admin).post(reverse("notification_open",
                                              args=[Notification.objects.get().pk]))
    assert response["Location"] == "/"


def test_get_never_marks_read(client_for, workspace, admin):
    _notify(workspace, [admin])
    row = Notification.objects.get()
    assert client_for(admin).get(reverse("notification_open", args=[row.pk])).status_code == 405
    row.refresh_from_db()
    assert row.read_at is None
