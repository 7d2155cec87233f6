"""Recruitment metrics (SPEC M1): how fast a study recruits and what it costs, per study and
per workspace, beside User Interviews' published medians.

Every figure comes from rows Rally already keeps (applications, sessions, the ledger and the
activity log), read in a fixed number of grouped queries whatever the number of studies:
`study_metrics(studies)` runs four, for one study or five hundred.
"""

import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    When,
)

from billing.models import ZERO, Transfer, TransferKind
from billing.money import CENT
from participants.models import Application
from participants.selectors import SEAT_HOLDING
from rally import clock
from rally.models import ActivityEntry
from scheduling.models import Session, SessionReminder
from studies.models import Source, Study, StudyType
from studies.models import Status as StudyStatus

#: User Interviews' published medians (SPEC M1), what a team compares its study with. UI
#: publishes none for an Unmoderated Test's first completion: that one is shown on its own.
MEDIAN_MINUTES_TO_QUALIFIED = 77
MEDIAN_HOURS_TO_SESSION = 24

Status = Application.Status

#: The funnel's stages, and the statuses of an application that has reached each one.
#: (An application's status is where it is now; one that moved on passed every earlier stage.)
FUNNEL = [
    ("applied", "Applied", None),
    ("invited", "Invited", (Status.INVITED, Status.SCHEDULED, Status.COMPLETED,
                            Status.NO_SHOW, Status.CANCELED, Status.PAID)),
    ("scheduled", "Scheduled", (Status.SCHEDULED, Status.COMPLETED, Status.NO_SHOW,
                                Status.CANCELED, Status.PAID)),
    ("completed", "Completed", (Status.COMPLETED, Status.PAID)),
    ("paid", "Paid", (Status.PAID,)),
]


@dataclass(frozen=True)
class Verdict:
    """A metric against UI's median, in words (never colour alone)."""

    tone: str  # "faster", "slower", "even", "waiting", "none"
    text: str


class _Outcomes:
    """Show rate and cost per completed participant, from `completed`, `no_shows` and `spent`
    (a study's or the workspace's)."""

    @property
    def show_rate(self):
        """Completed ÷ (completed + no-show), a fraction; None before any session outcome."""
        attended = self.completed + self.no_shows
        return None if attended == 0 else self.completed / attended

    @property
    def cost_per_completed(self):
        if self.completed == 0:
            return None
        return (self.spent / self.completed).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class StudyMetrics(_Outcomes):
    study_id: object
    name: str
    study_type: str
    study_type_label: str
    status: str
    status_label: str
    participation_limit: int | None
    started_at: object  # datetime or None: recruitment has not started
    minutes_to_first_qualified: float | None = None
    hours_to_first_session: float | None = None
    # Unmoderated Test: from the start to the first submitted test (no session is booked).
    hours_to_first_completion: float | None = None
    days_to_fill: float | None = None
    filled: bool = False
    seats_taken: int = 0
    completed: int = 0
    no_shows: int = 0
    spent: Decimal = Decimal("0.00")
    funnel: dict = field(default_factory=dict)
    qualified_verdict: Verdict | None = None
    session_verdict: Verdict | None = None
    # The study emailed its participants session reminders (Rally panel, SPEC P8).
    reminders_sent: bool = False

    @property
    def is_test(self):
        """An Unmoderated Test: participants complete it alone, there is no session to book."""
        return self.study_type == StudyType.UNMODERATED_TEST


def _start_time():
    """When recruitment started: "Start Recruitment" for a User Interviews study (the latest
    start in the activity log when the study's own mark was cleared by a declined start),
    publishing for a Rally panel study."""
    latest_start = (ActivityEntry.objects.filter(study_id=OuterRef("pk"),
                                                 action="recruitment.started")
                    .order_by("-created_at").values("created_at")[:1])
    return Case(
        When(source=Source.USER_INTERVIEWS,
             then=Case(When(recruitment_started_at__isnull=False,
                            then=F("recruitment_started_at")),
                       default=Subquery(latest_start, output_field=DateTimeField()))),
        default=F("published_at"), output_field=DateTimeField())


def _first(queryset, column):
    return Subquery(queryset.filter(study=OuterRef("pk")).order_by().values("study")
                    .annotate(first=Min(column)).values("first"), output_field=DateTimeField())


def _studies_with_times(studies):
    qualified = Application.objects.exclude(status=Status.UNQUALIFIED).exclude(
        qualification=Application.Qualification.UNQUALIFIED)
    reported_filled = (ActivityEntry.objects.filter(study_id=OuterRef("pk"),
                                                    action="recruitment.filled")
                       .order_by("created_at").values("created_at")[:1])
    return (studies.order_by().annotate(
        metrics_start=_start_time(),
        first_qualified_at=_first(qualified, "applied_at"),
        # A confirmed session has a host; an Unmoderated Test's completion is a session with
        # none (scheduling.unmoderated), counted apart, from when the test was submitted.
        first_session_at=_first(Session.objects.filter(host__isnull=False), "created_at"),
        first_completion_at=_first(Session.objects.filter(host__isnull=True), "ends_at"),
        reported_filled_at=Subquery(reported_filled, output_field=DateTimeField()),
    ).values("pk", "name", "study_type", "source", "status", "participation_limit",
             "metrics_start",
             "first_qualified_at", "first_session_at", "first_completion_at",
             "reported_filled_at"))


def _application_counts(study_ids):
    stages = {key: Count("pk", filter=Q(status__in=statuses)) if statuses else Count("pk")
              for key, _label, statuses in FUNNEL}
    rows = (Application.objects.filter(study_id__in=study_ids).order_by().values("study_id")
            .annotate(**stages, seats=Count("pk", filter=Q(status__in=SEAT_HOLDING)),
                      no_shows=Count("pk", filter=Q(status=Status.NO_SHOW))))
    return {row.pop("study_id"): row for row in rows}


def _reminded(study_ids):
    """The studies that emailed at least one session reminder."""
    return set(SessionReminder.objects.filter(study_id__in=study_ids,
                                              state=SessionReminder.State.SENT)
               .order_by().values_list("study_id", flat=True).distinct())


def _spent(study_ids):
    """Fees and incentives charged to each study in the ledger (SPEC B4)."""
    rows = (Transfer.objects.filter(study_id__in=study_ids, kind__in=[
        TransferKind.FEE, TransferKind.INCENTIVE, TransferKind.UNPAID])
            .order_by().values("study_id").annotate(
                total=Sum("amount", filter=~Q(kind=TransferKind.UNPAID), default=ZERO)
                - Sum("amount", filter=Q(kind=TransferKind.UNPAID), default=ZERO)))
    return {row["study_id"]: row["total"] for row in rows}


# Seats over time, from the invitations in the activity log (SPEC R6): an invitation takes a
# seat; a participant who is now No-show, Canceled or Rejected gave theirs back when their
# application last changed. A running sum over those events (a seat given back counts before
# one taken at the same instant) reaches the participation limit at the fill.
_FILL_SQL = """
WITH invitation AS (
    SELECT entry.study_id, entry.created_at AS invited_at, application.status,
           application.updated_at
    FROM rally_activityentry entry
    JOIN participants_application application
      ON application.study_id = entry.study_id
     AND application.id::text = entry.data ->> 'application_id'
    WHERE entry.action = 'participants.applicant_invited' AND entry.study_id = ANY(%s)
), seat_event AS (
    SELECT study_id, invited_at AS at, 1 AS change FROM invitation
    UNION ALL
    SELECT study_id, GREATEST(updated_at, invited_at), -1 FROM invitation
    WHERE status IN ('no_show', 'canceled', 'rejected')
), seats AS (
    SELECT study_id, at, SUM(change) OVER (PARTITION BY study_id ORDER BY at, change
                                           ROWS UNBOUNDED PRECEDING) AS taken
    FROM seat_event
)
SELECT seats.study_id, MIN(seats.at)
FROM seats JOIN studies_study study ON study.id = seats.study_id
WHERE study.participation_limit IS NOT NULL AND seats.taken >= study.participation_limit
GROUP BY seats.study_id
"""


def _fill_moments(study_ids):
    """{study id: when its seats first reached the participation limit}."""
    with connection.cursor() as cursor:
        cursor.execute(_FILL_SQL, [list(study_ids)])
        return dict(cursor.fetchall())


def _hours(delta):
    return max(delta, timedelta(0)).total_seconds() / 3600


def _verdict(value, median, unit, *, started_at, now, waiting_words):
    """Faster or slower than UI's median, or (not there yet) how the wait compares so far."""
    words = f"{median} {unit}"
    if value is None:
        if started_at is None:
            return Verdict("none", "Recruitment has not started.")
        elapsed = _hours(now - started_at) * (60 if unit == "minutes" else 1)
        if elapsed > median:
            return Verdict("slower", f"{waiting_words} — already slower than the median "
                                     f"({words}).")
        return Verdict("waiting", f"{waiting_words} — within the median ({words}) so far.")
    if round(value) < median:
        return Verdict("faster", f"Faster than the median ({words}).")
    if round(value) > median:
        return Verdict("slower", f"Slower than the median ({words}).")
    return Verdict("even", f"The same as the median ({words}).")


def study_metrics(studies):
    """[StudyMetrics] for a queryset of studies, in four queries whatever its size (five
    when Rally-panel studies are among them: which sent session reminders)."""
    rows = list(_studies_with_times(studies))
    ids = [row["pk"] for row in rows]
    if not ids:
        return []
    counts = _application_counts(ids)
    spent = _spent(ids)
    fills = _fill_moments(ids)
    # Only Rally-panel studies send reminders: UI studies alone need no query for them.
    panel_ids = [row["pk"] for row in rows if row["source"] == Source.RALLY_PANEL]
    reminded = _reminded(panel_ids) if panel_ids else set()
    now = clock.now()
    results = []
    for row in rows:
        start = row["metrics_start"]
        count = counts.get(row["pk"], {})
        metrics = StudyMetrics(
            study_id=row["pk"], name=row["name"], study_type=row["study_type"],
            study_type_label=StudyType(row["study_type"]).label, status=row["status"],
            status_label=StudyStatus(row["status"]).label,
            participation_limit=row["participation_limit"], started_at=start,
            seats_taken=count.get("seats", 0), completed=count.get("completed", 0),
            no_shows=count.get("no_shows", 0),
            spent=spent.get(row["pk"]) or Decimal("0.00"),
            funnel={key: count.get(key, 0) for key, _label, _statuses in FUNNEL},
            reminders_sent=row["pk"] in reminded)
        if start is not None:
            if row["first_qualified_at"] is not None:
                metrics.minutes_to_first_qualified = _hours(row["first_qualified_at"] - start) * 60
            if row["first_session_at"] is not None:
                metrics.hours_to_first_session = _hours(row["first_session_at"] - start)
            if row["first_completion_at"] is not None and metrics.is_test:
                metrics.hours_to_first_completion = _hours(row["first_completion_at"] - start)
            filled_at = min((moment for moment in (fills.get(row["pk"]),
                                                   row["reported_filled_at"]) if moment),
                            default=None)
            limit = row["participation_limit"]
            metrics.filled = filled_at is not None or (limit is not None
                                                       and metrics.seats_taken >= limit)
            # A fill from before this start (an earlier, declined start) has no duration
            # here: "Filled", never "0 days".
            if filled_at is not None and filled_at > start:
                metrics.days_to_fill = _hours(filled_at - start) / 24
        metrics.qualified_verdict = _verdict(
            metrics.minutes_to_first_qualified, MEDIAN_MINUTES_TO_QUALIFIED, "minutes",
            started_at=start, now=now, waiting_words="No qualified applicant yet")
        if metrics.is_test:
            metrics.session_verdict = Verdict(
                "none", "No sessions are booked for a test: participants complete it alone.")
        else:
            metrics.session_verdict = _verdict(
                metrics.hours_to_first_session, MEDIAN_HOURS_TO_SESSION, "hours",
                started_at=start, now=now, waiting_words="No session booked yet")
        results.append(metrics)
    return results


def study_metrics_for(study):
    """One study's metrics (the overview panel)."""
    found = study_metrics(Study.objects.filter(pk=study.pk))
    return found[0] if found else None


# Workspace figures ---------------------------------------------------------------------------


@dataclass
class ShowRateGroup:
    """The show rate of a group of studies (with or without reminders), to compare them."""

    studies: int
    completed: int
    no_shows: int

    @property
    def show_rate(self):
        attended = self.completed + self.no_shows
        return None if attended == 0 else self.completed / attended


def show_rate_group(metrics):
    return ShowRateGroup(studies=len(metrics), completed=sum(m.completed for m in metrics),
                         no_shows=sum(m.no_shows for m in metrics))


@dataclass
class WorkspaceMetrics(_Outcomes):
    studies: int
    median_minutes_to_first_qualified: float | None
    median_hours_to_first_session: float | None
    median_days_to_fill: float | None
    completed: int
    no_shows: int
    spent: Decimal
    funnel: list  # [{"key", "label", "count", "share"}] in stage order
    qualified_verdict: Verdict
    session_verdict: Verdict
    # Show rate of studies that sent session reminders beside those that did not (P8).
    with_reminders: ShowRateGroup | None = None
    without_reminders: ShowRateGroup | None = None


def _median(values):
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def _median_verdict(value, median, unit):
    if value is None:
        return Verdict("none", "No study has reached this yet.")
    return _verdict(value, median, unit, started_at=None, now=None, waiting_words="")


def workspace_metrics(metrics):
    """The workspace's medians and totals over a list of StudyMetrics (no query)."""
    completed = sum(item.completed for item in metrics)
    funnel_totals = {key: sum(item.funnel.get(key, 0) for item in metrics)
                     for key, _label, _statuses in FUNNEL}
    minutes = _median(item.minutes_to_first_qualified for item in metrics)
    hours = _median(item.hours_to_first_session for item in metrics)
    return WorkspaceMetrics(
        studies=len(metrics), median_minutes_to_first_qualified=minutes,
        median_hours_to_first_session=hours,
        median_days_to_fill=_median(item.days_to_fill for item in metrics),
        completed=completed, no_shows=sum(item.no_shows for item in metrics),
        spent=sum((item.spent for item in metrics), Decimal("0.00")),
        funnel=funnel_stages(funnel_totals),
        qualified_verdict=_median_verdict(minutes, MEDIAN_MINUTES_TO_QUALIFIED, "minutes"),
        session_verdict=_median_verdict(hours, MEDIAN_HOURS_TO_SESSION, "hours"),
        with_reminders=show_rate_group([item for item in metrics if item.reminders_sent]),
        without_reminders=show_rate_group([item for item in metrics if not item.reminders_sent
                                           and not item.is_test]))


def funnel_stages(counts):
    """[{"key", "label", "count", "share"}]: each stage's count and its share of Applied
    (0–1), what the funnel chart draws."""
    applied = counts.get("applied", 0)
    return [{"key": key, "label": label, "count": counts.get(key, 0),
             "share": (counts.get(key, 0) / applied) if applied else 0}
            for key, label, _statuses in FUNNEL]
