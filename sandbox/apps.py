"""A stand-in for User Interviews (shared/UI_API.md): its own models, URLs and simulation."""
from django.apps import AppConfig
from django.conf import settings


class SandboxConfig(AppConfig):
    name = "sandbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        if settings.SANDBOX_ENABLED:
            settings.CELERY_BEAT_SCHEDULE["sandbox-simulation-tick"] = {
                "task": "sandbox.simulation_tick",
                "schedule": settings.SANDBOX_TICK_SECONDS,
            }
