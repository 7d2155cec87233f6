"""User Interviews: the adapter, outbox handlers, webhooks, polling, and the workflows."""
from django.apps import AppConfig
from django.conf import settings


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

        settings.CELERY_BEAT_SCHEDULE["recruitment-outbox-sweep"] = {
            "task": "recruitment.outbox_sweep", "schedule": 15.0}
        settings.CELERY_BEAT_SCHEDULE["recruitment-webhook-sweep"] = {
            "task": "recruitment.webhook_sweep", "schedule": 30.0}
        settings.CELERY_BEAT_SCHEDULE["recruitment-poll"] = {
            "task": "recruitment.poll", "schedule": 60.0}
        settings.CELERY_BEAT_SCHEDULE["recruitment-sync-problems"] = {
            "task": "recruitment.sync_problems_check", "schedule": 300.0}
        settings.CELERY_BEAT_SCHEDULE["recruitment-criteria-sync"] = {
            "task": "recruitment.criteria_sync", "schedule": 24 * 3600.0}
