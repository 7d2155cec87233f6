from django.urls import path

from recruitment import views

app_name = "recruitment"

urlpatterns = [
    path("studies/<uuid:study_id>/audience/reach/", views.audience_reach,
         name="audience_reach"),
]
