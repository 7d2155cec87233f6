from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "studies"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from studies import services, unmoderated
        from studies.screeners import writes  # noqa: F401 - registers the screener copier

        services.on_copy(unmoderated.test_tasks_copy)
