"""Recruiting from the workspace's own panel (issue 9): governance rules, invitations by
email, the Rally-hosted screener, opt-out links and panel incentives."""

from django.apps import AppConfig


class PanelConfig(AppConfig):
    name = "panel"
    default_auto_field = "django.db.models.BigAutoField"
