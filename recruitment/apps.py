"""User Interviews: the adapter, outbox handlers, webhooks, polling, and the workflows."""
from django.apps import AppConfig


class RecruitmentConfig(AppConfig):
    name = "recruitment"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The outbox handlers and webhook processors, by operation and event name (in any
        # order: the workflows in recruitment.workflows say what happens when).
        from recruitment import (
            handlers,  # noqa: F401 - the recruit's operations
            payments,  # noqa: F401 - create_payment and the payment webhooks
            session_handlers,  # noqa: F401 - sessions at User Interviews
            unmoderated,  # noqa: F401 - Unmoderated Test completions
        )
