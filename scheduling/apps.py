"""Time with people: availability, slots, sessions, bookings and the booking page."""
from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        from studies import pages
        from studies.models import StudyType

        def moderated(study):
            return study.study_type in (StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW)

        pages.register_tab("scheduling", label="Scheduling",
                           url_name="scheduling:study_scheduling", order=50,
                           applies_to=moderated)
        from participants.profile import register_profile_panel
        from scheduling.unmoderated import completion_profile_panel

        register_profile_panel("test_completion", 10, completion_profile_panel)
        from participants.row_actions import register_row_actions
        from scheduling.row_actions import payment_row_actions

        register_row_actions("session_payment", 10, payment_row_actions)
        settings.CELERY_BEAT_SCHEDULE["scheduling-invites-sweep"] = {
            "task": "scheduling.session_invites_sweep", "schedule": 60.0}
        # Ended sessions nobody marked count as completed at their end (SPEC C5, I2), so
        # billing's payout sweep pays them 24 h later.
        settings.CELERY_BEAT_SCHEDULE["scheduling-sessions-sweep"] = {
            "task": "scheduling.sessions_sweep", "schedule": 30.0}
        settings.CELERY_BEAT_SCHEDULE["scheduling-host-calendars-sync"] = {
            "task": "scheduling.host_calendars_sync_due", "schedule": 60.0}
        settings.CELERY_BEAT_SCHEDULE["scheduling-calendar-writes-sweep"] = {
            "task": "scheduling.session_calendar_writes_sweep", "schedule": 120.0}
