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
