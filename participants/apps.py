"""People who take part in studies, and the review of their applications (SPEC P)."""

from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "participants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from participants import tasks  # noqa: F401 - registers the import tasks
