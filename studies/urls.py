"""The studies app's own URLs, those outside the study page. recruitment.study_page, which
declares every `studies/<uuid>/…` URL, includes these once with its own under `studies:`."""

from django.urls import path

from studies import unmoderated_views

urlpatterns = [
    path("test/<uuid:study_id>/", unmoderated_views.test_take, name="test_take"),
]
