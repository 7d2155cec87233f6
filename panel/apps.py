"""Recruiting from the workspace's own panel (issue 9): governance rules, invitations by
email, the Rally-hosted screener, opt-out links and panel incentives."""

from django.apps import AppConfig


class PanelConfig(AppConfig):
    name = "panel"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):

        from panel import views
        from studies import pages
        from studies.models import Source

        pages.register_tab("panel_invite", label="Invite from panel",
                           url_name="panel:study_invite", order=65,
                           applies_to=lambda study: study.source == Source.RALLY_PANEL
                           and not study.is_template)
        pages.register_overview_panel("panel", 15, views.overview_panel)
        from panel.row_actions import incentive_row_actions
        from participants.row_actions import register_row_actions

        register_row_actions("panel_incentive", 20, incentive_row_actions)
