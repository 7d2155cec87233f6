"""Sync problems with User Interviews (SPEC N1, N2): a live recruitment Rally has not
synced for 15 minutes, or an operation at UI that failed or keeps failing for that long.

The dashboard lists them; a periodic check tells the study's team once per problem (and
again only after the problem cleared and came back).
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from rally import clock, notifications
from rally.models import OutboxOperation
from rally.permissions import Permission
from recruitment.models import Recruitment
from studies.models import Status, Study
from studies.selectors import study_people

#: How long a problem lasts before anyone is told (a retry or the next poll often fixes it).
PROBLEM_AFTER = timedelta(minutes=15)
#: Failed operations older than this are history, not a current problem.
FAILED_HORIZON = timedelta(days=7)


def sync_problems(*, now, workspace=None):
    """{study id: reason} of the studies with a sync problem now. Two queries."""
    since = now - PROBLEM_AFTER
    stale = Recruitment.objects.filter(
        Q(last_synced_at__lt=since) | Q(last_synced_at__isnull=True, updated_at__lt=since),
        state__in=Recruitment.LIVE_STATES, ui_recruit_id__isnull=False,
    ).exclude(study__status=Status.CLOSED)
    operations = OutboxOperation.objects.filter(
        Q(status=OutboxOperation.Status.FAILED, created_at__gte=now - FAILED_HORIZON)
        | Q(status=OutboxOperation.Status.PENDING, attempts__gt=0, created_at__lt=since),
        study_id__isnull=False)
    if workspace is not None:
        stale = stale.filter(study__workspace=workspace)
        operations = operations.filter(workspace=workspace)
    problems = {}
    for study_id in operations.values_list("study_id", flat=True).distinct():
        problems[study_id] = "An operation at User Interviews failed"
    for study_id, synced in stale.values_list("study_id", "last_synced_at"):
        problems.setdefault(study_id, "Not synced with User Interviews for more than "
                                      "15 minutes" if synced else "Never synced with User "
                                      "Interviews")
    return problems


def sync_problems_notify(*, now=None):
    """Tell each study's team about a sync problem that began since the last check; forget
    problems that are over. Returns how many studies' teams were told."""
    now = now or clock.now()
    problems = sync_problems(now=now)
    told = 0
    with transaction.atomic():
        Recruitment.objects.filter(sync_problem_notified_at__isnull=False).exclude(
            study_id__in=list(problems)).update(sync_problem_notified_at=None)
        fresh = (Recruitment.objects.select_for_update(of=("self",)).select_related("study")
                 .filter(study_id__in=list(problems), sync_problem_notified_at__isnull=True))
        for recruitment in fresh:
            study = recruitment.study
            _notify(study, problems[study.pk])
            recruitment.sync_problem_notified_at = now
            recruitment.save(update_fields=["sync_problem_notified_at"])
            told += 1
    return told


def _notify(study: Study, reason):
    notifications.notify(
        workspace=study.workspace_id, kind=notifications.Kind.SYNC_PROBLEM, study_id=study.pk,
        recipients=[*study_people(study, permission=Permission.EDIT_STUDY, team_only=True),
                    *notifications.workspace_people(study.workspace_id,
                                                    Permission.MANAGE_MEMBERS)],
        text=f"Sync problem on “{study.name}”: {reason}",
        link=reverse("studies:study_overview", args=[study.pk]), data={"study": study.name})
