from django.urls import path

from recruitment import (
    connection_views,
    prometheus,
    reports,
    start_views,
    study_actions,
    sync_status,
    views,
    webhooks,
)

app_name = "recruitment"

urlpatterns = [
    # Study pages whose forms start a workflow (recruitment.workflows).
    path("studies/new/", study_actions.study_create, name="study_create"),
    path("studies/<uuid:study_id>/status/", study_actions.study_status, name="study_status"),
    path("studies/<uuid:study_id>/save-as-template/", study_actions.study_save_as_template,
         name="study_save_as_template"),
    path("studies/<uuid:study_id>/duplicate/", study_actions.study_duplicate,
         name="study_duplicate"),
    path("studies/<uuid:study_id>/plan/save/", study_actions.study_plan_save,
         name="study_plan_save"),
    path("studies/<uuid:study_id>/audience/reach/", views.audience_reach,
         name="audience_reach"),
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
    path("studies/<uuid:study_id>/recruitment/start/", start_views.recruitment_start,
         name="start"),
    path("studies/<uuid:study_id>/recruitment/request-start/",
         start_views.recruitment_request_start, name="request_start"),
    path("studies/<uuid:study_id>/recruitment/", start_views.money_panel_refresh,
         name="money_panel"),
    path("studies/<uuid:study_id>/sync/", sync_status.sync_status, name="sync_status"),
    path("studies/<uuid:study_id>/sync/<uuid:operation_id>/retry/", sync_status.outbox_retry,
         name="outbox_retry"),
    path("reports/", reports.reports, name="reports"),
    path("studies/<uuid:study_id>/metrics/", reports.metrics_panel_card, name="metrics_panel"),
]
