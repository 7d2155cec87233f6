from django.urls import path

from studies import views

app_name = "studies"

urlpatterns = [
    path("studies/", views.study_list, name="study_list"),
    path("studies/new/", views.study_create, name="study_create"),
    path("studies/<uuid:study_id>/", views.study_overview, name="study_overview"),
    path("studies/<uuid:study_id>/publish/", views.study_publish, name="study_publish"),
    path("studies/<uuid:study_id>/status/", views.study_status, name="study_status"),
    path("studies/<uuid:study_id>/save-as-template/", views.study_save_as_template,
         name="study_save_as_template"),
    path("studies/<uuid:study_id>/plan/", views.study_plan, name="study_plan"),
    path("studies/<uuid:study_id>/plan/cost/", views.study_plan_cost, name="study_plan_cost"),
    path("studies/<uuid:study_id>/audience/", views.study_audience, name="study_audience"),
    path("studies/<uuid:study_id>/audience/settings/", views.study_audience_settings,
         name="study_audience_settings"),
    path("studies/<uuid:study_id>/audience/location/", views.study_audience_location,
         name="study_audience_location"),
    path("studies/<uuid:study_id>/audience/criteria/", views.study_audience_criteria,
         name="study_audience_criteria"),
    path("studies/<uuid:study_id>/audience/criteria/<slug:slug>/remove/",
         views.study_criterion_remove, name="study_criterion_remove"),
    path("studies/<uuid:study_id>/screener/", views.study_screener, name="study_screener"),
    path("studies/<uuid:study_id>/scheduling/", views.study_scheduling,
         name="study_scheduling"),
    path("studies/<uuid:study_id>/test/", views.study_test, name="study_test"),
    path("studies/<uuid:study_id>/participants/", views.study_participants,
         name="study_participants"),
    path("studies/<uuid:study_id>/activity/", views.study_activity, name="study_activity"),
]
