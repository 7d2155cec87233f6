"""The demo workspace's scheduling: availability for every moderated study, and sessions this
week on the active interview study (one completed yesterday, a few upcoming).

The owner of that study has a connected calendar: the sandbox's demo feed (its stand-up,
research syncs and focus time block slots on the booking page once a worker has read it).

Idempotent: settings are created once; a session is added only for an application that has
none; the calendar is connected once. The seed runs inside one transaction, so rows are
written here directly rather than through the (durable) booking services; the exclusion
constraint still guards every row.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction

from demo.studies import ACTIVE_STUDY
from demo.workspace import demo_applicant_id
from participants.models import Application, Participant
from rally import clock
from rally.encryption import encrypt
from rally.permissions import Role
from scheduling.models import HostCalendar, Session
from scheduling.services import scheduling_settings_ensure
from studies.models import Status, Study, StudyType

DEMO_PEOPLE = [  # (UI participant id, first name, last initial, application status, day, hour)
    ("demo-sched-1", "Priya", "S", Application.Status.COMPLETED, -1, 10),
    ("demo-sched-2", "Marcus", "L", Application.Status.SCHEDULED, 1, 11),
    ("demo-sched-3", "Hana", "T", Application.Status.SCHEDULED, 2, 14),
    ("demo-sched-4", "Diego", "R", Application.Status.INVITED, None, None),
]


def seed(context):
    workspace = context.workspace
    moderated = Study.objects.filter(workspace=workspace, is_template=False,
                                     study_type__in=[StudyType.INTERVIEW,
                                                     StudyType.GROUP_INTERVIEW])
    for study in moderated.select_related("owner"):
        scheduling = scheduling_settings_ensure(study=study)
        if not scheduling.guests.exists() and Role.OBSERVER in context.users:
            scheduling.guests.add(context.users[Role.OBSERVER])
    # By name, as demo.applicants does: other seeds add active interviews of their own.
    active = moderated.filter(status=Status.ACTIVE, study_type=StudyType.INTERVIEW,
                              name=ACTIVE_STUDY).first()
    if active is not None:
        _sessions_this_week(active)
        _demo_host_calendar(active.owner)


def _demo_host_calendar(user):
    """Connect the host's calendar to the sandbox's feed (read by the beat sweep within a
    minute of `make run`; the seed runs before the sandbox serves anything)."""
    if not settings.SANDBOX_ENABLED or HostCalendar.objects.filter(user=user).exists():
        return
    sandbox = settings.UI_API_URL.split("/sandbox/", 1)[0]
    url = f"{sandbox}/sandbox/calendars/demo-host.ics"
    now = clock.now()
    HostCalendar.objects.create(user=user, kind=HostCalendar.Kind.FEED,
                                feed_url_encrypted=encrypt(url),
                                feed_host=url.split("//", 1)[1].split("/", 1)[0],
                                created_at=now, updated_at=now)


def _weekday_at(zone, days_from_today, hour):
    day = clock.now().astimezone(zone).date() + timedelta(days=days_from_today)
    while day.weekday() >= 5:  # keep demo sessions on weekdays
        day += timedelta(days=1 if days_from_today >= 0 else -1)
    return datetime.combine(day, time(hour), tzinfo=zone)


def _sessions_this_week(study):
    scheduling = scheduling_settings_ensure(study=study)
    zone = ZoneInfo(scheduling.time_zone)
    now = clock.now()
    for ui_id, first_name, initial, status, day, hour in DEMO_PEOPLE:
        participant, _ = Participant.objects.get_or_create(
            workspace=study.workspace, ui_participant_id=ui_id,
            defaults={"first_name": first_name, "last_initial": initial, "created_at": now,
                      "updated_at": now})
        application, _ = Application.objects.get_or_create(
            study=study, participant=participant,
            defaults={"status": status,
                      "ui_applicant_id": demo_applicant_id(study.workspace, ui_id),
                      "applied_at": now - timedelta(days=5), "created_at": now,
                      "updated_at": now})
        if day is None or application.sessions.exists():
            continue
        starts_at = _weekday_at(zone, day, hour)
        session = Session(
            workspace=study.workspace, study=study, application=application, host=study.owner,
            starts_at=starts_at, ends_at=starts_at + timedelta(minutes=study.duration_minutes),
            status=(Session.Status.COMPLETED if status == Application.Status.COMPLETED
                    else Session.Status.UPCOMING),
            meeting_url=scheduling.meeting_url or "https://meet.example.com/acme-research",
            participant_time_zone="America/Chicago", created_at=now, updated_at=now,
            status_changed_at=now)
        try:
            with transaction.atomic():
                session.save()
        except IntegrityError:
            continue  # the host already has a session then; leave the demo as it is
        session.guests.set(scheduling.guests.all())
