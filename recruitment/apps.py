"""User Interviews: the adapter, outbox handlers, webhooks, polling and cross-app orchestrations."""
from django.apps import AppConfig


class RecruitmentConfig(AppConfig):
    name = "recruitment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Before orchestration: closing settles incentives before releasing the reservation.
        import recruitment.payments  # noqa: F401 - create_payment, payment webhooks, close
        from recruitment import (
            handlers,  # noqa: F401 - registers the outbox handlers
            orchestration,  # noqa: F401 - registers the lifecycle hooks
            session_handlers,  # noqa: F401 - sessions at User Interviews
            unmoderated,  # noqa: F401 - Unmoderated Test completions
        )
        from recruitment.start_views import money_panel
        from recruitment.sync_status import overview_panel
        from studies.pages import register_overview_panel

        # Sync health on the overview (SPEC R8), below the recruitment progress panel.
        register_overview_panel("sync_status", 30, overview_panel)
        # Review & Start, the hand-off's progress and the study's money (SPEC R1, R2, B6).
        register_overview_panel("recruitment", 20, money_panel)
        # Recruitment metrics against UI's medians (SPEC M1), after money and sync health.
        from recruitment.reports import metrics_panel

        register_overview_panel("metrics", 40, metrics_panel)

