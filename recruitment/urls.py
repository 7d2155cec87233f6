"""The recruitment app's own URLs, those outside the study page. recruitment.study_page, which
declares every `studies/<uuid>/…` URL, includes these once with its own under `recruitment:`."""

from django.urls import path

from recruitment import (
    connection_views,
    prometheus,
    reports,
    study_actions,
    webhooks,
)

urlpatterns = [
    # A new study (from scratch or a template) starts the copy workflow (recruitment.workflows).
    path("studies/new/", study_actions.study_create, name="study_create"),
    path("metrics", prometheus.metrics, name="metrics"),
    path("webhooks/user-interviews/", webhooks.receive, name="webhook"),
    path("webhooks/user-interviews/<uuid:workspace_id>/", webhooks.receive,
         name="workspace_webhook"),
    path("workspace/settings/user-interviews/", connection_views.connection,
         name="connection"),
    path("workspace/settings/user-interviews/test/", connection_views.connection_test,
         name="connection_test"),
    path("workspace/settings/user-interviews/webhooks/", connection_views.webhooks_subscribe,
         name="webhooks_subscribe"),
    path("workspace/settings/user-interviews/webhooks/rotate/",
         connection_views.webhook_secret_rotate, name="webhook_secret_rotate"),
    path("reports/", reports.reports, name="reports"),
]
