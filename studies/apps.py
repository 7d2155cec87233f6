from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "studies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from studies import (
            screeners,  # noqa: F401 - registers the screener copier
            services,
            unmoderated,
        )

        services.on_copy(unmoderated.test_tasks_copy)
