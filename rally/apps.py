from django.apps import AppConfig


class RallyConfig(AppConfig):
    name = "rally"
    verbose_name = "Rally core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.conf import settings

        settings.CELERY_BEAT_SCHEDULE["rally-notification-emails"] = {
            "task": "rally.notification_emails_send", "schedule": 60.0}
