from django.urls import path

from participants import views

app_name = "participants"

urlpatterns = [
    path("studies/<uuid:study_id>/participants/", views.study_participants,
         name="study_participants"),
    path("studies/<uuid:study_id>/participants/review/", views.applicants_bulk,
         name="applicants_bulk"),
    path("studies/<uuid:study_id>/participants/<uuid:application_id>/",
         views.applicant_profile, name="applicant_profile"),
    path("studies/<uuid:study_id>/participants/<uuid:application_id>/invite/",
         views.applicant_invite, name="applicant_invite"),
    path("studies/<uuid:study_id>/participants/<uuid:application_id>/reject/",
         views.applicant_reject, name="applicant_reject"),
]
