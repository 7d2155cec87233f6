"""The participants app's own URLs, those outside the study page. recruitment.study_page, which
declares every `studies/<uuid>/…` URL, includes these once with its own under `participants:`."""

from django.urls import path

from participants import consent_views, panel_views

urlpatterns = [
    path("participants/consent/<uuid:agreement_id>.pdf", consent_views.consent_pdf,
         name="consent_pdf"),
    # The workspace's panel.
    path("participants/", panel_views.panel_directory, name="panel_directory"),
    path("participants/new/", panel_views.panel_person_edit, name="panel_person_add"),
    path("participants/segments/", panel_views.panel_segment_save, name="panel_segment_save"),
    path("participants/segments/<uuid:segment_id>/delete/", panel_views.panel_segment_delete,
         name="panel_segment_delete"),
    path("participants/properties/", panel_views.panel_properties, name="panel_properties"),
    path("participants/properties/<uuid:definition_id>/", panel_views.panel_property_edit,
         name="panel_property_edit"),
    path("participants/import/", panel_views.panel_import_upload, name="panel_import_upload"),
    path("participants/import/<uuid:import_id>/", panel_views.panel_import_review,
         name="panel_import_review"),
    path("participants/import/<uuid:import_id>/progress/", panel_views.panel_import_progress,
         name="panel_import_progress"),
    path("participants/<uuid:participant_id>/", panel_views.panel_profile,
         name="panel_profile"),
    path("participants/<uuid:participant_id>/edit/", panel_views.panel_person_edit,
         name="panel_person_edit"),
    path("participants/<uuid:participant_id>/erase/", panel_views.panel_person_erase,
         name="panel_person_erase"),
]
