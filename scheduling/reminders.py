"""Planning the reminder emails of Rally-panel sessions (SPEC P8).

Scheduling only writes the rows (a `due_at` each, in the transaction that books, moves or
cancels the session); the panel app's sweeper emails them. User Interviews reminds its own
participants, so UI studies get none.
"""

from datetime import timedelta

from participants.models import Participant
from scheduling.models import REMINDER_HOUR_CHOICES, Session, SessionReminder
from studies.models import Source

State = SessionReminder.State


def reminders_apply_to(study):
    return study.source == Source.RALLY_PANEL


def reminder_hours_parse(values):
    """The chosen hours (from the Scheduling tab's boxes), largest first; ValueError on any
    value that is not one of the offered choices."""
    hours = set()
    for value in values:
        text = str(value).strip()
        if not text.isdigit() or int(text) not in REMINDER_HOUR_CHOICES:
            raise ValueError(text)
        hours.add(int(text))
    return sorted(hours, reverse=True)


def session_reminders_withdraw(*, session, now, reason, keep_sequence=None):
    """Withdraw the session's reminders not sent yet (all, or those of other times than
    `keep_sequence`). Runs inside the caller's transaction. Returns how many."""
    pending = SessionReminder.objects.filter(session=session, state=State.PENDING)
    if keep_sequence is not None:
        pending = pending.exclude(session_sequence=keep_sequence)
    return pending.update(state=State.WITHDRAWN, note=reason[:300], updated_at=now)


def session_reminders_plan(*, session, study, scheduling, now):
    """Plan the reminders of `session` at its current time (booked or just moved), once per
    time and offset; earlier times' pending reminders are withdrawn. Reminders whose moment
    has already passed (a session booked 3 hours ahead gets no 24-hour reminder) are left out.
    Runs inside the caller's transaction."""
    session_reminders_withdraw(session=session, now=now, keep_sequence=session.sequence,
                               reason="The session moved to another time.")
    if session.status == Session.Status.UPCOMING:
        _plan_hours(session=session, study=study, hours_list=scheduling.reminder_hours,
                    now=now)


def study_reminders_replan(*, study, scheduling, now):
    """After the study's reminder settings change, the upcoming sessions' reminders follow
    them: pending ones (never sent, nothing to keep) are replaced; sent ones stay sent and
    are not sent again."""
    sessions = list(Session.objects.filter(study=study, status=Session.Status.UPCOMING,
                                           starts_at__gt=now)
                    .select_related("application__participant"))
    SessionReminder.objects.filter(session__in=sessions, state=State.PENDING).delete()
    for session in sessions:
        _plan_hours(session=session, study=study, hours_list=scheduling.reminder_hours,
                    now=now)


def _plan_hours(*, session, study, hours_list, now):
    """One row per offset still ahead (the unique index keeps a sent one from returning)."""
    person = session.application.participant
    if not reminders_apply_to(study) or person.kind != Participant.Kind.PANEL \
            or not person.email:
        return
    SessionReminder.objects.bulk_create([
        SessionReminder(workspace_id=session.workspace_id, study_id=study.pk, session=session,
                        session_sequence=session.sequence, hours_before=hours,
                        session_starts_at=session.starts_at,
                        due_at=session.starts_at - timedelta(hours=hours), created_at=now,
                        updated_at=now)
        for hours in sorted(set(hours_list or []), reverse=True)
        if session.starts_at - timedelta(hours=hours) > now], ignore_conflicts=True)


def reminders_for_session(session):
    return list(session.reminders.order_by("due_at"))
