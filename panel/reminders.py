"""Reminder emails of Rally-panel sessions (SPEC P8), sent exactly once each.

Scheduling plans `SessionReminder` rows (a `due_at` each) when a session is booked, moved or
canceled. The beat sweeper claims due rows in batches with `FOR UPDATE SKIP LOCKED`, moving
them Pending → Sending in a short transaction of its own; each claimed reminder is then
emailed outside any transaction and recorded Sent, with a Reminder contact in the person's
history (which the panel rules' recent-contact cooldown counts). Two sweepers never claim the
same row; a worker that dies after claiming leaves a Sending row that is claimed again after
`CLAIM_TIMEOUT`, so a reminder is never lost (at worst re-sent after a crash).
"""

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string

from panel import links
from participants.directory import contact_record
from participants.models import Contact
from rally import clock
from scheduling.models import SchedulingSettings, Session, SessionReminder
from scheduling.services import booking_url_for
from scheduling.slots import time_zone_is_known
from studies.models import Status as StudyStatus

logger = logging.getLogger(__name__)

State = SessionReminder.State
#: Reminders one claim takes (one short transaction each).
BATCH = 100
#: A Sending row older than this was claimed by a worker that died: claim it again.
CLAIM_TIMEOUT = timedelta(minutes=10)
#: Sends of one reminder before it is given up (shown as Skipped with the last error).
MAX_ATTEMPTS = 5


def reminders_claim(*, now, limit=BATCH):
    """Claim up to `limit` due reminders (Pending, or Sending too long) for this worker.
    Rows another sweeper holds are skipped, never waited for. Returns their ids."""
    with transaction.atomic():
        ids = list(SessionReminder.objects.select_for_update(skip_locked=True)
                   .filter(Q(state=State.PENDING)
                           | Q(state=State.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT),
                           due_at__lte=now)
                   .order_by("due_at", "pk").values_list("pk", flat=True)[:limit])
        if ids:
            SessionReminder.objects.filter(pk__in=ids).update(
                state=State.SENDING, claimed_at=now, attempts=F("attempts") + 1,
                updated_at=now)
    return ids


def _settle(reminder, state, *, now, note=""):
    SessionReminder.objects.filter(pk=reminder.pk, state=State.SENDING).update(
        state=state, note=note[:300], updated_at=now)


def reminder_zone(session, person, scheduling):
    """The participant's own time zone: the one they booked in, their profile's, else the
    study's."""
    for name in (session.participant_time_zone, person.time_zone,
                 scheduling.time_zone if scheduling else ""):
        if name and time_zone_is_known(name):
            return name
    return "UTC"


def reminder_subject(study, starts_local, hours_before):
    """"Panel diary: your session is tomorrow, Tue 02 Jun 16:00 CEST" (the contact history
    shows it after the kind, "Reminder")."""
    when = "is tomorrow" if 24 <= hours_before < 48 else (
        f"starts in {hours_before} hour{'s' if hours_before != 1 else ''}")
    return (f"{study.participant_title}: your session {when}, "
            f"{starts_local:%a %d %b %H:%M %Z}")[:200]


def _reminder_email(reminder, session, person, study):
    scheduling = SchedulingSettings.objects.filter(study=study).first()
    zone = reminder_zone(session, person, scheduling)
    starts_local = session.starts_at.astimezone(ZoneInfo(zone))
    ends_local = session.ends_at.astimezone(ZoneInfo(zone))
    context = {
        "study": study, "person": person, "workspace": study.workspace, "zone": zone,
        # Formatted here: template filters would show the times in the active zone instead.
        "when": (f"{starts_local:%A} {starts_local.day} {starts_local:%B %Y}, "
                 f"{starts_local:%H:%M}–{ends_local:%H:%M %Z}"),
        "hours_before": reminder.hours_before,
        "meeting_url": session.meeting_url,
        "booking_url": booking_url_for(session.application),
        "unsubscribe_url": links.unsubscribe_url_for(person),
    }
    subject = reminder_subject(study, starts_local, reminder.hours_before)
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("panel/reminder_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[person.email],
        headers={"List-Unsubscribe": f"<{context['unsubscribe_url']}>"})
    message.attach_alternative(render_to_string("panel/reminder_email.html", context),
                               "text/html")
    return message, subject


def reminder_send(*, reminder_id, now=None):
    """Email one claimed reminder, once, if its session is still at the time it reminds of.
    Returns True when an email left."""
    now = now or clock.now()
    reminder = (SessionReminder.objects
                .select_related("session", "session__application",
                                "session__application__participant", "study",
                                "study__workspace")
                .filter(pk=reminder_id).first())
    if reminder is None or reminder.state != State.SENDING:
        return False
    session, study = reminder.session, reminder.study
    person = session.application.participant
    if session.status != Session.Status.UPCOMING or \
            session.sequence != reminder.session_sequence:
        _settle(reminder, State.WITHDRAWN, now=now,
                note="The session was canceled or moved before the reminder was due.")
        return False
    if study.status == StudyStatus.CLOSED:
        _settle(reminder, State.WITHDRAWN, now=now, note="The study is closed.")
        return False
    if now >= session.starts_at:
        _settle(reminder, State.SKIPPED, now=now,
                note="Not sent: the session had already started.")
        return False
    if SessionReminder.objects.filter(
            session=session, session_sequence=reminder.session_sequence,
            hours_before__lt=reminder.hours_before, due_at__lte=now).exists():
        # Overdue (the worker was down) while a nearer reminder is due too: send that one.
        _settle(reminder, State.SKIPPED, now=now,
                note="Not sent: a later reminder was due by then.")
        return False
    if person.opted_out_at is not None or not person.email:
        _settle(reminder, State.SKIPPED, now=now,
                note="Not sent: the person unsubscribed or has no email address.")
        return False
    message, subject = _reminder_email(reminder, session, person, study)
    try:
        message.send()
    except OSError as error:
        state = State.SKIPPED if reminder.attempts >= MAX_ATTEMPTS else State.PENDING
        SessionReminder.objects.filter(pk=reminder.pk, state=State.SENDING).update(
            state=state, note=f"Sending failed: {error}"[:300], updated_at=now)
        logger.warning("reminder %s could not be sent: %s", reminder.pk, error)
        return False
    with transaction.atomic():
        marked = SessionReminder.objects.filter(pk=reminder.pk, state=State.SENDING).update(
            state=State.SENT, sent_at=now, note="", updated_at=now)
        if marked:
            contact_record(participant=person, study=study, kind=Contact.Kind.REMINDER,
                           subject=subject, sent_by=None)
    logger.info("reminder sent: %s h before session %s of %s to participant %s",
                reminder.hours_before, session.pk, study.pk, person.pk)
    return bool(marked)


def reminders_send_due(*, now=None, max_batches=50):
    """The sweeper: claim due reminders a batch at a time and send them. Returns how many
    emails left."""
    now = now or clock.now()
    sent = 0
    for _ in range(max_batches):
        ids = reminders_claim(now=now)
        if not ids:
            break
        for reminder_id in ids:
            if reminder_send(reminder_id=reminder_id, now=now):
                sent += 1
    return sent
