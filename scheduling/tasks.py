"""Scheduling's background work: calendar messages to hosts and guests; ended sessions
nobody marked complete at their end time; hosts' own calendars (reading busy time, writing
sessions back)."""

from celery import shared_task

from rally import clock
from scheduling import host_calendars, ics, services
from scheduling.calendar_reading import CalendarUnreadable


@shared_task(name="scheduling.session_invite_send", ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def session_invite_send(session_id):
    ics.session_invite_send(session_id=session_id)


@shared_task(name="scheduling.group_invite_send", ignore_result=True,
             autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def group_invite_send(group_slot_id):
    ics.group_invite_send(group_slot_id=group_slot_id)


@shared_task(name="scheduling.session_invites_sweep", ignore_result=True)
def session_invites_sweep():
    """Send calendar messages whose prompt send was lost (worker down, broker down)."""
    now = clock.now()
    for session_id in ics.session_invites_due(now=now):
        try:
            ics.session_invite_send(session_id=session_id)
        except OSError:
            ics.logger.warning("calendar invite for session %s failed; retried next sweep",
                               session_id)
    for group_slot_id in ics.group_invites_due(now=now):
        try:
            ics.group_invite_send(group_slot_id=group_slot_id)
        except OSError:
            ics.logger.warning("calendar invite for group %s failed; retried next sweep",
                               group_slot_id)


@shared_task(name="scheduling.sessions_sweep", ignore_result=True)
def sessions_sweep():
    """Beat: ended sessions nobody marked count as completed (SPEC C5, I2)."""
    return services.sessions_sweep()


@shared_task(name="scheduling.host_calendar_sync", ignore_result=True)
def host_calendar_sync(calendar_id):
    """Read one host's calendar now ("Refresh", or just connected)."""
    host_calendars.host_calendar_sync(calendar_id=calendar_id)


@shared_task(name="scheduling.host_calendars_sync_due", ignore_result=True)
def host_calendars_sync_due():
    """Read every host calendar that is due (each claimed, so two workers never race)."""
    host_calendars.host_calendars_sync_due()


@shared_task(name="scheduling.session_calendar_write", ignore_result=True,
             autoretry_for=(CalendarUnreadable,), retry_backoff=True, retry_jitter=True,
             max_retries=5)
def session_calendar_write(session_id):
    """Put the session's event into its host's calendar, move it, or remove it."""
    host_calendars.session_calendar_write(session_id=session_id)


@shared_task(name="scheduling.session_calendar_writes_sweep", ignore_result=True)
def session_calendar_writes_sweep():
    """Write-backs whose prompt attempt was lost or refused: tried again, one by one."""
    for session_id in host_calendars.session_calendar_writes_due(now=clock.now()):
        try:
            host_calendars.session_calendar_write(session_id=session_id)
        except CalendarUnreadable as error:
            host_calendars.logger.warning("calendar write-back for session %s failed (%s); "
                                          "tried again next sweep", session_id, error.message)
