from django.urls import path

from panel import views

app_name = "panel"

urlpatterns = [
    path("studies/<uuid:study_id>/panel/", views.study_invite, name="study_invite"),
    path("studies/<uuid:study_id>/panel/incentives/<uuid:application_id>/",
         views.incentive_record, name="incentive_record"),
    path("panel/rules/", views.panel_rules, name="rules"),
    path("p/s/<str:token>/", views.hosted_screener, name="hosted_screener"),
    path("p/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
