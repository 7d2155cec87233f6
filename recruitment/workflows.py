"""The use cases that span apps, written out: a workspace is created; a study pauses,
resumes, closes, is copied or has its plan saved; recruitment starts, or its start ends.
One function each.

Each calls the lower apps' services in the order its docstring gives, inside one durable
transaction (the study row is locked first, then as recruitment.orchestration says), and
its changes, activity entries and outbox rows for User Interviews commit together. Nothing
here talks to UI: workers send the outbox rows after commit. No hooks: what happens, and in
what order, is read here and nowhere else.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import TextChoices

from billing import payouts
from billing import services as billing
from billing.panel_incentives import receipt_issue_for_team_paid
from billing.selectors import reservation_exists, reservation_open_exists
from participants.services import study_ui_intake_sync
from rally import services as rally
from rally.services import outbox_enqueue
from recruitment import orchestration
from recruitment.models import Recruitment
from scheduling.services import scheduling_settings_copy, sessions_complete_ended_of_study
from studies import lifecycle
from studies import services as studies
from studies.models import Source, Status
from studies.screeners.writes import screener_copy
from studies.unmoderated import test_tasks_copy

# Workspaces ---------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def workspace_create(*, name, admin_email, admin_name="", password=None):
    """A new workspace (sign-up, `manage.py create_workspace`). In this order:

    1. the workspace and its first Admin (the core, with its activity entry);
    2. its "Workspace Budget" (SPEC B3), so every page can show one without making it.

    Returns the Admin's membership.
    """
    membership = rally.workspace_create(name=name, admin_email=admin_email,
                                        admin_name=admin_name, password=password)
    billing.budget_default_create(workspace=membership.workspace)
    return membership


# Status -------------------------------------------------------------------------------------


def _recruit_tell(*, study, operation):
    """Write the outbox row that reaches the study's recruit at UI, if it is live there.
    Pause and resume can repeat: each transition (stamped by its time) is its own operation
    at UI, and retrying one reuses its key."""
    recruitment = Recruitment.objects.filter(study=study).first()
    if recruitment is None or recruitment.state not in Recruitment.LIVE_STATES:
        return None
    return outbox_enqueue(workspace=study.workspace, operation=operation,
                          subject=f"{study.id}:{study.updated_at.isoformat()}",
                          payload={"study_id": str(study.id)}, study_id=study.id)


@transaction.atomic(durable=True)
def study_pause(*, membership, study):
    """"Paused" (SPEC R7): 1. the study becomes Paused (its activity entry); 2. if its
    recruit is live at UI, `pause_recruit` is queued. Reserved funds stay reserved."""
    study = lifecycle.study_transition(membership=membership, study=study, to=Status.PAUSED)
    _recruit_tell(study=study, operation="pause_recruit")
    return study


@transaction.atomic(durable=True)
def study_resume(*, membership, study):
    """"Active" again after a pause (SPEC R7): 1. the Paused study becomes Active (its
    activity entry); 2. if its recruit is live at UI, `resume_recruit` is queued."""
    study = lifecycle.study_transition(membership=membership, study=study, to=Status.ACTIVE,
                                       expect=(Status.PAUSED,))
    _recruit_tell(study=study, operation="resume_recruit")
    return study


@transaction.atomic(durable=True)
def study_close(*, membership, study):
    """"Closed" (SPEC R7, B5), final. In this order:

    1. the study becomes Closed (its activity entry);
    2. its ended sessions nobody marked count as completed (C5, I2), so their incentives
       are due now;
    3. every incentive due is settled (payouts sent through the outbox);
    4. if its recruit is live at UI, `close_recruit` is queued;
    5. whatever is left of the reservation returns to the budget and the receipt is frozen
       (emailed to the closer after commit). A study never started has no reservation; a
       Rally-panel study has none either, and its receipt lists the incentives the team paid
       (SPEC P6, B7).

    Settling (3) comes before the release (5): money still owed to participants is paid,
    not returned to the budget.
    """
    study = lifecycle.study_transition(membership=membership, study=study, to=Status.CLOSED)
    sessions_complete_ended_of_study(study_id=study.pk, actor=membership.user)
    payouts.payouts_settle_study(study_id=study.pk, actor=membership.user)
    _recruit_tell(study=study, operation="close_recruit")
    if reservation_exists(study_id=study.pk):
        billing.reservation_close(study_id=study.pk, study_name=study.name,
                                  actor=membership.user)
    elif study.source == Source.RALLY_PANEL:
        receipt_issue_for_team_paid(study_id=study.pk, study_name=study.name,
                                    actor=membership.user)
    return study


def study_status_change(*, membership, study, to):
    """The "Change status" menu: the workflow for the status chosen (publishing a Draft is
    `studies.services.study_publish`)."""
    if to not in Status.values:
        raise ValidationError("Choose one of the listed statuses.")
    to = Status(to)
    if to == Status.CLOSED:
        return study_close(membership=membership, study=study)
    if to == Status.PAUSED:
        return study_pause(membership=membership, study=study)
    if to == Status.ACTIVE and study.status == Status.DRAFT:
        return studies.study_publish(membership=membership, study=study)
    if to == Status.ACTIVE:
        return study_resume(membership=membership, study=study)
    # Back to Draft: never allowed; the lifecycle refuses it and says why.
    return lifecycle.study_transition(membership=membership, study=study, to=to)


# Plan ---------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def study_plan_update(*, membership, study, changes):
    """Save the plan tab: 1. the plan changes (studies; after start a lower limit returns
    seats to the budget and tells UI the new number); 2. a changed participation limit
    closes UI's intake when the seats taken now fill it, or reopens it when seats are free
    again (SPEC R6) — the outbox row commits with the plan."""
    study = studies.study_update_plan(membership=membership, study=study, changes=changes)
    if "participation_limit" in changes:
        study_ui_intake_sync(study=study)
    return study


# Copies -------------------------------------------------------------------------------------


class CopyKind(TextChoices):
    TEMPLATE = "template", "Save as template"
    DUPLICATE = "duplicate", "Duplicate study"
    FROM_TEMPLATE = "from_template", "New study from a template"


@transaction.atomic(durable=True)
def study_copy(*, membership, study, kind, name=None):
    """"Save as template", "Duplicate study" (SPEC S7) and "New study" from a template: a
    new Draft made from `study` (for FROM_TEMPLATE, the template). In this order:

    1. the new study with the source's plan and audience (studies; its activity entry);
    2. the draft screener (same question ids, so its logic holds);
    3. the Unmoderated Test's tasks and URL;
    4. the scheduling settings (hosts only if they are on the new study's team, which is
       still empty here: the person copying, who owns it, hosts);
    5. for a duplicate, the source's owner and team join the new study's team.

    Never copied: applicants, sessions, money, status.
    """
    kind = CopyKind(kind)
    if kind == CopyKind.TEMPLATE:
        copy = studies.study_template_create(membership=membership, study=study, name=name)
    elif kind == CopyKind.DUPLICATE:
        copy = studies.study_duplicate_create(membership=membership, study=study, name=name)
    else:
        copy = studies.study_from_template_create(membership=membership, name=name,
                                                  template=study)
    source = copy.created_from
    screener_copy(source=source, target=copy)
    test_tasks_copy(source=source, target=copy)
    scheduling_settings_copy(source=source, target=copy)
    if kind == CopyKind.DUPLICATE:
        studies.study_team_copy(membership=membership, source=source, target=copy)
    return copy


# Recruitment --------------------------------------------------------------------------------


def recruitment_start(*, membership, study_id, budget_id):
    """"Start Recruitment" (SPEC R1, R2, R6), in one durable transaction: 1. the study and
    its recruitment row are locked and re-checked; 2. the estimate is reserved from the
    budget (refused with the shortfall when it is short, and the people who may add funds
    hear of it in a transaction of their own); 3. audience and incentive lock, the screener
    is kept as a version; 4. the outbox rows that create and launch the recruit at UI;
    5. if the seats are already all taken, the row that closes the new recruit's intake;
    6. the activity entry. See `recruitment.orchestration.recruitment_start`."""
    return orchestration.recruitment_start(membership=membership, study_id=study_id,
                                           budget_id=budget_id)


def recruitment_end(*, recruitment, actor_label):
    """UI declined the study, or the hand-off finally failed (SPEC R2). In the transaction
    that records the new state (recruitment.sync): 1. what is left of the reservation goes
    back to the budget at once; 2. the audience and incentive unlock, so the study can be
    fixed and started again. Nothing happens when the reservation is already released."""
    if not reservation_open_exists(study_id=recruitment.study_id):
        return False
    billing.reservation_release_unused(study_id=recruitment.study_id, actor=actor_label)
    studies.study_mark_recruitment_stopped(study=recruitment.study)
    return True
