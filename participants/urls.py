"""The participants app's own URLs, those outside the study page. recruitment.study_page, which
declares every `studies/<uuid>/…` URL, includes these once with its own under `participants:`."""

from django.urls import path

from participants import consent_views, directory_views

urlpatterns = [
    path("participants/consent/<uuid:agreement_id>.pdf", consent_views.consent_pdf,
         name="consent_pdf"),
    # The workspace's people directory ("the panel" on its pages, SPEC P6).
    path("participants/", directory_views.people_directory, name="people_directory"),
    path("participants/new/", directory_views.person_edit, name="person_add"),
    path("participants/segments/", directory_views.people_segment_save, name="people_segment_save"),
    path("participants/segments/<uuid:segment_id>/delete/", directory_views.people_segment_delete,
         name="people_segment_delete"),
    path("participants/properties/", directory_views.people_properties, name="people_properties"),
    path("participants/properties/<uuid:definition_id>/", directory_views.people_property_edit,
         name="people_property_edit"),
    path("participants/import/", directory_views.people_import_upload, name="people_import_upload"),
    path("participants/import/<uuid:import_id>/", directory_views.people_import_review,
         name="people_import_review"),
    path("participants/import/<uuid:import_id>/progress/", directory_views.people_import_progress,
         name="people_import_progress"),
    path("participants/<uuid:participant_id>/", directory_views.person_profile,
         name="person_profile"),
    path("participants/<uuid:participant_id>/edit/", directory_views.person_edit,
         name="person_edit"),
    path("participants/<uuid:participant_id>/erase/", directory_views.person_erase,
         name="person_erase"),
]
