from django.apps import AppConfig


class RallyConfig(AppConfig):
    name = "rally"
    verbose_name = "Rally core"
    default_auto_field = "django.db.models.BigAutoField"
