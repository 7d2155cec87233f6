from django.apps import AppConfig
from django.conf import settings


class RallyConfig(AppConfig):
    name = "rally"
    verbose_name = "Rally core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from rally import checks  # noqa: F401 - registers the system checks
        from rally.health import HEARTBEAT_SECONDS

        settings.CELERY_BEAT_SCHEDULE["rally-heartbeat"] = {
            "task": "rally.heartbeat", "schedule": float(HEARTBEAT_SECONDS)}

        settings.CELERY_BEAT_SCHEDULE["rally-notification-emails"] = {
            "task": "rally.notification_emails_send", "schedule": 60.0}
