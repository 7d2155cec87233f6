from django.urls import path

from recruitment import reports, start_views, sync_status, views, webhooks

app_name = "recruitment"

urlpatterns = [
    path("studies/<uuid:study_id>/audience/reach/", views.audience_reach,
         name="audience_reach"),
    path("webhooks/user-interviews/", webhooks.receive, name="webhook"),
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
