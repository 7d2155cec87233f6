"""The panel app's own URLs, those outside the study page. recruitment.study_page, which
declares every `studies/<uuid>/…` URL, includes these once with its own under `panel:`."""

from django.urls import path

from panel import views

urlpatterns = [
    path("panel/rules/", views.panel_rules, name="rules"),
    path("p/s/<str:token>/", views.hosted_screener, name="hosted_screener"),
    path("p/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
