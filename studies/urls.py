"""The studies app's own URLs, those outside the study page. recruitment.study_page, which
declares every `studies/<uuid>/…` URL, includes these once with its own under `studies:`."""

from django.urls import path

from studies import unmoderated_views, views

urlpatterns = [
    path("studies/new/", views.study_create, name="study_create"),
    path("test/<uuid:study_id>/", unmoderated_views.test_take, name="test_take"),
]
