"""The site's own pages that span apps, kept apart from the namespaced recruitment URLs so
every template keeps naming them "home" and "signup": the Dashboard (it reads every app) and
sign-up (`workflows.workspace_create` gives the new workspace its budget)."""

from django.urls import path

from recruitment import dashboard, signup_views

urlpatterns = [
    path("", dashboard.home, name="home"),
    path("signup/", signup_views.signup, name="signup"),
]
