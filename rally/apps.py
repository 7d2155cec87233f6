from django.apps import AppConfig


class RallyConfig(AppConfig):
    name = "rally"
    verbose_name = "Rally core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from rally import checks  # noqa: F401 - registers the system checks
