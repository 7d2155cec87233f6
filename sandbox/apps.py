"""A stand-in for User Interviews (shared/UI_API.md): its own models, URLs and simulation."""
from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    default_auto_field = "django.db.models.BigAutoField"
