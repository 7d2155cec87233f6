"""Use cases that span apps: "Start Recruitment", pausing, resuming and closing a study.

Each runs in one durable transaction that changes Rally's rows, moves money in the ledger
and writes the outbox rows for User Interviews together; the calls to UI happen after
commit, in workers. Nothing here talks to UI directly.

Lock order, the same in every transaction that takes more than one of these: the study row,
then its recruitment row (recruitment.sync takes them the same way), then its payouts, then
billing's own order (the study's advisory lock, its reservation row, the budget row). Each
is `select_for_update(of=("self",))`: rows joined for reading (workspace, owner, budget's
workspace) are not locked, so two studies of one workspace never queue on, or deadlock
over, the workspace row. Twenty starts of two studies at once answer a page or a refusal
each (tests/recruitment/test_start_contention.py).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.urls import reverse

from billing import services as billing
from billing.models import Budget
from billing.panel_incentives import receipt_issue_for_team_paid
from billing.pricing import recruitment_estimate, recruitment_fee
from billing.selectors import reservation_exists, reservation_open_exists
from rally import clock, notifications
from rally.models import OutboxOperation
from rally.permissions import Permission
from rally.services import activity_record, outbox_enqueue
from recruitment import sync
from recruitment.models import Recruitment
from studies import lifecycle
from studies import services as studies
from studies.models import Source, Status, Study, StudyType
from studies.selectors import study_people

State = Recruitment.State

#: Recruitment states from which "Start Recruitment" may start the hand-off. A declined or
#: failed start has returned its money; starting again reserves anew (the next attempt).
STARTABLE = (State.NOT_STARTED, State.DECLINED, State.FAILED)
#: States in which the overview tells why the last start ended.
ENDED = (State.DECLINED, State.FAILED)
#: The outbox operations of one start (each start has its own, keyed by its attempt).
START_OPERATIONS = ("create_recruit", "launch_recruit")


def start_problems(study):
    """Why "Start Recruitment" cannot run for this study now (empty when it can)."""
    problems = []
    if study.source != Source.USER_INTERVIEWS:
        problems.append("Only studies that recruit from User Interviews are started here.")
    if study.study_type == StudyType.SURVEY:
        problems.append("Surveys can't recruit from User Interviews.")
    if study.status != Status.ACTIVE:
        problems.append("Publish the study first: recruitment starts from an Active study.")
    problems.extend(problem.message for problem in lifecycle.publish_problems(study))
    recruitment = getattr(study, "recruitment", None)
    if recruitment is not None and recruitment.state not in STARTABLE:
        problems.append("Recruitment has already started for this study.")
    elif recruitment is not None and recruitment.state in ENDED \
            and reservation_open_exists(study.id):
        problems.append("The funds reserved for the last start are still being returned to "
                        "the budget. Try again in a minute.")
    return problems


def last_start_ended(recruitment):
    """Why the last start ended ("User Interviews declined the study: …"), or "" while
    recruitment has not started or is running."""
    if recruitment is None or recruitment.state not in ENDED:
        return ""
    if recruitment.state == State.DECLINED:
        reason = recruitment.declined_reason or "no reason given"
        return f"User Interviews declined the study: {reason}"
    reason = recruitment.failure_reason or "no reason given"
    return f"Recruitment could not start: {reason}"


def estimated_costs(study):
    """SPEC B2 for this study at today's prices: participation limit × (fee + incentive)."""
    fee = recruitment_fee(audience_type=study.audience_type, study_type=study.study_type)
    return recruitment_estimate(participation_limit=study.participation_limit or 0, fee=fee,
                                incentive=study.incentive_amount or 0)


def can_start(*, membership, study):
    return membership.allows(Permission.START_RECRUITMENT,
                             on_team=lifecycle.study_on_team(study, membership.user))


def recruitment_start(*, membership, study_id, budget_id):
    """`_recruitment_start`; when the budget is short, the people who may add funds hear of
    it (SPEC N1) in a transaction of their own, since the start's is rolled back."""
    try:
        return _recruitment_start(membership=membership, study_id=study_id,
                                  budget_id=budget_id)
    except billing.FundsShortError as short:
        _budget_short_notify(membership=membership, study_id=study_id, short=short)
        raise


@transaction.atomic(durable=True)
def _budget_short_notify(*, membership, study_id, short):
    study = Study.objects.get(pk=study_id, workspace=membership.workspace)
    notifications.notify(
        workspace=study.workspace_id, kind=notifications.Kind.BUDGET_SHORT,
        recipients=study_people(study, permission=Permission.ADD_FUNDS), exclude=[membership],
        text=f"{short.budget.name} cannot cover “{study.name}”: {short.messages[0]}",
        link=reverse("billing:budget_detail", args=[short.budget.pk]), study_id=study.pk,
        data={"study": study.name, "budget": str(short.budget.pk)})


@transaction.atomic(durable=True)
def _recruitment_start(*, membership, study_id, budget_id):
    """Reserve the estimate from the budget and hand the study to UI (SPEC R1–R2).

    One transaction: lock the study, re-check, reserve (refused with the shortfall when
    the budget is short), lock the audience and incentive, and write the outbox rows that
    create and launch the recruit. A double click, two tabs or two Admins at once: the
    study row lock makes the second one see "already started" and change nothing.

    After User Interviews declined the study or the hand-off failed (its reservation
    released), starting again is the next attempt: a reservation and a recruit of its own.
    """
    study = (Study.objects.select_for_update(of=("self",)).select_related("workspace", "owner")
             .filter(pk=study_id, workspace=membership.workspace, is_template=False).first())
    if study is None:
        raise Http404
    if not can_start(membership=membership, study=study):
        raise PermissionDenied
    recruitment, _ = Recruitment.objects.select_for_update().get_or_create(
        study=study, defaults={"created_at": clock.now(), "updated_at": clock.now()})
    study.recruitment = recruitment
    problems = start_problems(study)
    if problems:
        raise ValidationError(problems)
    budget = Budget.objects.filter(pk=budget_id, workspace=membership.workspace).first()
    if budget is None:
        raise ValidationError({"budget": "Choose one of this workspace's budgets."})
    costs = estimated_costs(study)
    attempt = recruitment.start_attempts + 1
    billing.budget_reserve_for_study(
        budget=budget, study_id=study.id, study_name=study.name,
        participation_limit=study.participation_limit, fee=costs.recruitment_fee,
        incentive=study.incentive_amount, actor=membership.user, attempt=attempt)
    studies.study_mark_recruitment_started(study=study)
    previous = recruitment.state
    recruitment.state = State.STARTING
    recruitment.start_attempts = attempt
    recruitment.start_requested_by, recruitment.start_requested_at = None, None
    # The last start's reason stays in the activity log; the new start has none yet. Its
    # recruit is no longer the study's: this start's launch waits for this start's recruit,
    # and late news of the old one finds no study.
    recruitment.declined_reason = recruitment.failure_reason = recruitment.application_url = ""
    recruitment.ui_recruit_id = recruitment.ui_updated_at = None
    recruitment.updated_at = clock.now()
    recruitment.save(update_fields=["state", "start_attempts", "declined_reason",
                                    "failure_reason", "application_url", "ui_recruit_id",
                                    "ui_updated_at", "updated_at", "start_requested_by",
                                    "start_requested_at"])
    # Each attempt is a recruit of its own at UI, with operations (and keys) of its own.
    superseded = _supersede_earlier_starts(study=study, attempt=attempt)
    payload = {"study_id": str(study.id), "attempt": attempt}
    for operation in START_OPERATIONS:
        outbox_enqueue(workspace=study.workspace, operation=operation,
                       subject=f"{study.id}:{attempt}", payload=payload, study_id=study.id)
    again = " again" if attempt > 1 else ""
    activity_record(workspace=study.workspace, actor=membership.user,
                    action="recruitment.started", study_id=study.id,
                    summary=f"Started recruitment for “{study.name}”{again} from {budget.name}",
                    data={"budget": str(budget.pk), "reserved": str(costs.total),
                          "attempt": attempt, "from": previous, "superseded": superseded})
    return recruitment


def may_request_start(*, membership, study):
    """Whether this person may ask for a start: they edit studies but may not start this
    one themselves."""
    return (membership.allows(Permission.EDIT_STUDY)
            and not can_start(membership=membership, study=study))


def start_refusal_reason(*, membership, study):
    """Why this person cannot start recruitment, in words for the overview."""
    if membership.role == "ops_manager":
        return ("You are not on this study’s team: an Admin, or an Ops Manager on the team, "
                "starts its recruitment. Ask the owner to add you to the team, or request a "
                "start.")
    return "An Admin, or an Ops Manager on the study team, reviews the costs and starts "\
        "recruitment."


@transaction.atomic(durable=True)
def recruitment_request_start(*, membership, study_id):
    """"Request start": tell the Admins and the team's Ops Managers that this published
    study waits for them (SPEC N1). Asking again while a request is open changes nothing."""
    study = (Study.objects.select_for_update().select_related("workspace")
             .filter(pk=study_id, workspace=membership.workspace, is_template=False).first())
    if study is None:
        raise Http404
    if not may_request_start(membership=membership, study=study):
        raise PermissionDenied
    recruitment, _ = Recruitment.objects.select_for_update().get_or_create(
        study=study, defaults={"created_at": clock.now(), "updated_at": clock.now()})
    study.recruitment = recruitment
    problems = start_problems(study)
    if recruitment.state not in STARTABLE:
        raise ValidationError("Recruitment has already started for this study.")
    if problems:
        raise ValidationError(problems)
    if recruitment.start_requested_at is not None:
        return recruitment
    now = clock.now()
    recruitment.start_requested_by = membership.user
    recruitment.start_requested_at = now
    recruitment.updated_at = now
    recruitment.save(update_fields=["start_requested_by", "start_requested_at", "updated_at"])
    activity_record(workspace=study.workspace, actor=membership.user,
                    action="recruitment.start_requested", study_id=study.id,
                    summary=f"Asked for recruitment of “{study.name}” to start")
    notifications.notify(
        workspace=study.workspace_id, kind=notifications.Kind.START_REQUESTED,
        recipients=study_people(study, permission=Permission.START_RECRUITMENT),
        exclude=[membership],
        text=f"{membership.user.display_name} asks you to start recruitment for "
             f"“{study.name}”",
        link=reverse("studies:study_overview", args=[study.id]), study_id=study.id,
        data={"study": study.name})
    return recruitment


def _supersede_earlier_starts(*, study, attempt):
    """An earlier start's create or launch still pending (a launch waiting for a recruit
    that was refused) or failed must never act for this start: a late give-up would fail
    it, and "Retry now" would bring the old recruit back. They are closed as done, with
    why. A worker still running one finds it done and records nothing. Returns how many."""
    if attempt == 1:
        return 0
    earlier = (Q(payload__attempt__lt=attempt) | Q(payload__attempt__isnull=True))
    return (OutboxOperation.objects
            .filter(earlier, study_id=study.id, operation__in=START_OPERATIONS,
                    status__in=[OutboxOperation.Status.PENDING, OutboxOperation.Status.FAILED])
            .update(status=OutboxOperation.Status.DONE, completed_at=clock.now(),
                    result={"superseded_by_attempt": attempt},
                    last_error=f"Not needed any more: start {attempt} replaced this start."))


@sync.on_recruitment_state_change
def _release_when_the_start_ends(*, recruitment, old, new, actor_label):
    """UI declined the study, or the hand-off finally failed: the reserved money goes back
    to the budget at once (SPEC R2), and the audience and incentive unlock so the study can
    be fixed and started again."""
    if new in ENDED and reservation_open_exists(study_id=recruitment.study_id):
        billing.reservation_release_unused(study_id=recruitment.study_id, actor=actor_label)
        studies.study_mark_recruitment_stopped(study=recruitment.study)


@lifecycle.on_transition
def _tell_user_interviews(*, study, old, new, membership):
    """Pausing, resuming and closing a study reach its recruit at UI (SPEC R7)."""
    recruitment = Recruitment.objects.filter(study=study).first()
    live = recruitment is not None and recruitment.state in Recruitment.LIVE_STATES
    operations = {Status.PAUSED: "pause_recruit", Status.CLOSED: "close_recruit"}
    if new == Status.ACTIVE and old == Status.PAUSED:
        operations[Status.ACTIVE] = "resume_recruit"
    if live and new in operations:
        # Pause and resume can repeat: each transition (stamped by its time) is its own
        # operation at UI, and retrying one reuses its key.
        subject = f"{study.id}:{study.updated_at.isoformat()}"
        outbox_enqueue(workspace=study.workspace, operation=operations[new], subject=subject,
                       payload={"study_id": str(study.id)}, study_id=study.id)
    if new == Status.CLOSED:
        _settle(study=study, membership=membership)


def _settle(*, study, membership):
    """SPEC B5: incentives still due are settled, then the unused reservation returns to
    the budget and the receipt is frozen (emailed to the closer after commit)."""
    if study.source == Source.RALLY_PANEL and not reservation_exists(study_id=study.id):
        # Issue 21: the team paid its panel participants; their receipt (billing's service).
        receipt_issue_for_team_paid(study_id=study.id, study_name=study.name,
                                    actor=membership.user)
        return
    if not reservation_exists(study_id=study.id):
        return  # never started: no money to settle
    billing.reservation_close(study_id=study.id, study_name=study.name,
                              actor=membership.user)
