"""Reads on applications that views and other apps share, scoped to one study."""

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404

from participants.models import Application

Status = Application.Status

#: Who holds a seat of the participation limit (SPEC R6): invited, scheduled, completed
#: (and paid) participants; rejected, canceled and no-show people free theirs.
SEAT_HOLDING = (Status.INVITED, Status.SCHEDULED, Status.COMPLETED, Status.PAID)


def applications_for_study(*, study, status="", query=""):
    """The study's applications with their participant, newest first; filtered by status
    and by a name search."""
    applications = Application.objects.filter(study=study).select_related("participant")
    if status in Status.values:
        applications = applications.filter(status=status)
    if query.strip():
        applications = applications.filter(participant__first_name__icontains=query.strip())
    return applications.order_by("-applied_at", "id")


def application_get_for_study(*, study, application_id):
    """One application of `study` (404 for any other id: another study's, or garbage)."""
    try:
        return Application.objects.select_related("participant").get(pk=application_id,
                                                                     study=study)
    except (Application.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404 from exc


def application_counts_by_status(*, study):
    """{status: count} for every status (zeros included), in one query."""
    counts = dict.fromkeys(Status.values, 0)
    rows = (Application.objects.filter(study=study).values("status").order_by()
            .annotate(count=Count("id")))
    for row in rows:
        counts[row["status"]] = row["count"]
    return counts


def study_seats_taken(*, study):
    return Application.objects.filter(study=study, status__in=SEAT_HOLDING).count()


def study_has_free_seat(*, study):
    """Whether the study may take another participant under its participation limit."""
    if study.participation_limit is None:
        return True
    return study_seats_taken(study=study) < study.participation_limit


def applications_matching_count(*, study):
    """How many applications matched at least one audience criterion."""
    return Application.objects.filter(study=study).filter(~Q(matched_criteria=[])).count()
