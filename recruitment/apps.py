"""User Interviews: the adapter, outbox handlers, webhooks, polling, and the workflows."""
from django.apps import AppConfig


class RecruitmentConfig(AppConfig):
    name = "recruitment"
    default_auto_field = "django.db.models.BigAutoField"
