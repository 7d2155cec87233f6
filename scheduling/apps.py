"""Time with people: availability, slots, sessions, bookings and the booking page."""
from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):

        from scheduling.services import scheduling_settings_copy
        from studies import pages, services
        from studies.models import StudyType

        def moderated(study):
            return study.study_type in (StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW)

        pages.register_tab("scheduling", label="Scheduling",
                           url_name="scheduling:study_scheduling", order=50,
                           applies_to=moderated)
        services.on_copy(scheduling_settings_copy)
        from participants.profile import register_profile_panel
        from scheduling.unmoderated import completion_profile_panel

        register_profile_panel("test_completion", 10, completion_profile_panel)
        from participants.row_actions import register_row_actions
        from scheduling.row_actions import payment_row_actions

        register_row_actions("session_payment", 10, payment_row_actions)
