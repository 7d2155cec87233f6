"""The Dashboard's URL (the site's root), kept apart from the namespaced recruitment URLs so
every template keeps naming it "home"."""

from django.urls import path

from recruitment import dashboard

urlpatterns = [
    path("", dashboard.home, name="home"),
]
