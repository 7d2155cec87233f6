"""Scheduling reads that views share: sessions of a study, a host's calendar, booking state."""

from django.db.models import Case, Prefetch, Value, When

from participants.models import Application
from rally.models import User
from scheduling.models import Session


def _sessions():
    return (Session.objects.select_related("host", "application__participant", "group_slot")
            .prefetch_related(Prefetch("guests", queryset=User.objects.order_by("name"))))


def sessions_for_study(*, study):
    """Every session of the study, upcoming first in time order, then the past ones."""
    return list(_sessions().filter(study=study).order_by("starts_at"))


def sessions_upcoming_for_host(*, workspace, user, now):
    """A host's upcoming sessions across the workspace's studies (the Calendar page)."""
    return list(_sessions().select_related("study")
                .filter(workspace=workspace, host=user, status=Session.Status.UPCOMING,
                        ends_at__gt=now)
                .order_by("starts_at"))


def session_for_workspace(*, workspace, session_id):
    return (Session.objects.select_related("study", "study__owner", "host")
            .filter(workspace=workspace, pk=session_id).first())


def booking_application(*, invitation):
    """The application a booking link names, with what the booking page shows."""
    return (Application.objects.select_related("study", "study__owner", "participant")
            .filter(pk=invitation.application_id).first())


def booking_session_current(*, application):
    """The participant's upcoming session, else their latest one (None before booking)."""
    upcoming_first = Case(When(status=Session.Status.UPCOMING, then=Value(0)), default=Value(1))
    return (Session.objects.filter(application=application)
            .order_by(upcoming_first, "-created_at").first())
