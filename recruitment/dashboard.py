"""The Dashboard (SPEC N2): what needs this person now, each item a link to where it is
done, then the recent activity.

Declared in the top layer because it reads every app below (pages have one owner). Each
part is one or two queries whatever the number of studies, sessions or applicants.
"""

from datetime import datetime, time, timedelta

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from billing.models import Payout
from participants.models import Application
from rally import clock
from rally.permissions import Permission
from rally.selectors import activity_feed
from recruitment import sync_health
from recruitment.models import Recruitment
from scheduling.models import Session
from studies.models import Source, Status, Study, StudyType

#: Items listed per part at most (the part links to the full page).
PART_LIMIT = 10
#: "The coming week" of sessions.
WEEK = timedelta(days=7)


def _team_study_ids(membership):
    """Ids of the studies whose team this person is on."""
    user = membership.user
    return set(Study.objects.filter(Q(owner=user) | Q(team=user),
                                    workspace=membership.workspace)
               .values_list("pk", flat=True).distinct())


def _scope(membership, permission, team_ids):
    """A filter on study ids for `permission`: everywhere (None) or the team's studies."""
    if membership.allows(permission):
        return None
    if membership.allows(permission, on_team=True):
        return team_ids
    return set()


def _applicants_waiting(workspace, scope):
    if scope is not None and not scope:
        return []
    rows = Application.objects.filter(study__workspace=workspace, status=Application.Status.APPLIED,
                                      study__is_template=False).exclude(
        study__status=Status.CLOSED)
    if scope is not None:
        rows = rows.filter(study_id__in=scope)
    rows = (rows.values("study_id", "study__name").annotate(waiting=Count("id"))
            .order_by("-waiting", "study__name")[:PART_LIMIT])
    return [{"study": row["study__name"], "count": row["waiting"],
             "link": reverse("participants:study_participants", args=[row["study_id"]])
             + "?status=applied"} for row in rows]


def _sessions(workspace, membership, team_ids, now):
    """Today's and the coming week's sessions in the reader's zone: the ones they host or
    whose study's team they are on (Admins and Ops Managers: all of the workspace's)."""
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now, zone).date()
    start = datetime.combine(today, time.min, tzinfo=zone)
    tomorrow = start + timedelta(days=1)
    rows = (Session.objects.filter(workspace=workspace, status=Session.Status.UPCOMING,
                                   starts_at__gte=max(start, now - timedelta(hours=1)),
                                   starts_at__lt=start + WEEK)
            .select_related("study", "application__participant", "host")
            .order_by("starts_at"))
    if not membership.allows(Permission.READ_ALL_BUDGETS):
        rows = rows.filter(Q(host=membership.user) | Q(study_id__in=team_ids))
    sessions = list(rows[:PART_LIMIT * 2])
    for session in sessions:
        session.link = reverse("scheduling:study_scheduling", args=[session.study_id])
        session.is_today = session.starts_at < tomorrow
    return ([s for s in sessions if s.is_today][:PART_LIMIT],
            [s for s in sessions if not s.is_today][:PART_LIMIT])


def _waiting_to_start(workspace, scope):
    """Published User Interviews studies nobody has started yet, for those who may."""
    if scope is not None and not scope:
        return []
    studies = (Study.objects.filter(workspace=workspace, status=Status.ACTIVE,
                                    source=Source.USER_INTERVIEWS, is_template=False)
               .exclude(study_type=StudyType.SURVEY)
               .filter(Q(recruitment__isnull=True)
                       | Q(recruitment__state=Recruitment.State.NOT_STARTED))
               .select_related("recruitment__start_requested_by")
               .order_by("recruitment__start_requested_at", "name"))
    if scope is not None:
        studies = studies.filter(pk__in=scope)
    items = []
    for study in studies[:PART_LIMIT]:
        recruitment = getattr(study, "recruitment", None)
        items.append({"study": study.name,
                      "link": reverse("studies:study_overview", args=[study.pk]),
                      "requested_by": recruitment.start_requested_by if recruitment else None,
                      "requested_at": recruitment.start_requested_at if recruitment else None})
    return items


def _failed_payouts(workspace, membership):
    if not membership.allows(Permission.READ_ALL_BUDGETS):
        return []
    rows = (Payout.objects.filter(workspace=workspace, state=Payout.State.FAILED)
            .values("study_id", "study_name").annotate(failed=Count("id"))
            .order_by("study_name")[:PART_LIMIT])
    return [{"study": row["study_name"], "count": row["failed"],
             "link": reverse("billing:payments") + f"?study={row['study_id']}"} for row in rows]


def _sync_problems(workspace, scope, now):
    if scope is not None and not scope:
        return []
    problems = sync_health.sync_problems(now=now, workspace=workspace)
    if scope is not None:
        problems = {pk: why for pk, why in problems.items() if pk in scope}
    names = dict(Study.objects.filter(pk__in=list(problems)).values_list("pk", "name"))
    return sorted(({"study": names.get(pk, ""), "reason": why,
                    "link": reverse("studies:study_overview", args=[pk]) + "#sync-status"}
                   for pk, why in problems.items() if pk in names),
                  key=lambda item: item["study"])[:PART_LIMIT]


def needs_attention(membership, *, now):
    """The parts of "Needs your attention" for this person."""
    workspace = membership.workspace
    team_ids = _team_study_ids(membership)
    today, week = _sessions(workspace, membership, team_ids, now)
    return {
        "applicants": _applicants_waiting(
            workspace, _scope(membership, Permission.REVIEW_APPLICANTS, team_ids)),
        "sessions_today": today,
        "sessions_week": week,
        "waiting_to_start": _waiting_to_start(
            workspace, _scope(membership, Permission.START_RECRUITMENT, team_ids)),
        "failed_payouts": _failed_payouts(workspace, membership),
        "sync_problems": _sync_problems(
            workspace, _scope(membership, Permission.EDIT_STUDY, team_ids), now),
    }


@login_required
def home(request):
    membership = request.membership
    if membership is None:
        return render(request, "rally/no_workspace.html")
    attention = needs_attention(membership, now=clock.now())
    return render(request, "rally/home.html", {
        "attention": attention,
        "anything": any(attention.values()),
        "zone_name": timezone.get_current_timezone_name(),
        "activity": activity_feed(membership=membership, limit=20),
        "can_export_activity": membership.allows(Permission.READ_ALL_BUDGETS),
    })
