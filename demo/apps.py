from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "Rally demo data"
    default_auto_field = "django.db.models.BigAutoField"
