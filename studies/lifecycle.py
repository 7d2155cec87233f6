"""A study's status lifecycle (SPEC S5), written once: the transitions, who may take them,
what publishing requires. Only the study's own row changes here: pausing, resuming and
closing also reach User Interviews and money, so they are `recruitment.workflows`.

Draft → "Publish Study" → Active ⇄ Paused → Closed (irreversible). Publishing happens inside
Rally only; recruitment at User Interviews starts elsewhere ("Start Recruitment").
"""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404

from rally import clock
from rally.permissions import Permission
from rally.services import activity_record
from studies.models import (
    SURVEY_SOURCE_REASON,
    AudienceType,
    Characteristic,
    CharacteristicCategory,
    LocationMode,
    Source,
    Status,
    Study,
    StudyType,
)


@dataclass(frozen=True)
class Transition:
    permission: Permission
    verb: str  # what the menu and the activity log call it
    action: str  # activity action code


TRANSITIONS = {
    (Status.DRAFT, Status.ACTIVE): Transition(Permission.PUBLISH_STUDY, "Publish Study",
                                              "study.published"),
    (Status.ACTIVE, Status.PAUSED): Transition(Permission.PAUSE_RESUME_STUDY, "Paused",
                                               "study.paused"),
    (Status.PAUSED, Status.ACTIVE): Transition(Permission.PAUSE_RESUME_STUDY, "Active",
                                               "study.resumed"),
    (Status.ACTIVE, Status.CLOSED): Transition(Permission.CLOSE_STUDY, "Closed",
                                               "study.closed"),
    (Status.PAUSED, Status.CLOSED): Transition(Permission.CLOSE_STUDY, "Closed",
                                               "study.closed"),
}

CLOSE_CONSEQUENCES = (
    "Closing is final: the study cannot be reopened. Recruitment stops, no new sessions can "
    "be booked or rescheduled, incentives still due are paid, and whatever is left of the "
    "reservation returns to the budget."
)


def study_on_team(study, user):
    """Whether `user` is the study's owner or one of its teammates (SPEC W3)."""
    if study.owner_id == user.pk:
        return True
    cached = getattr(study, "_prefetched_objects_cache", {}).get("team")
    if cached is not None:
        return any(member.pk == user.pk for member in cached)
    return study.team.filter(pk=user.pk).exists()


def study_team_changeable_by(membership, study):
    """SPEC W3: an Admin, an Ops Manager or the study's owner changes its team."""
    if membership is None or membership.workspace_id != study.workspace_id:
        return False
    return membership.allows(Permission.CHANGE_STUDY_TEAM) or (
        study.owner_id == membership.user_id and membership.allows(Permission.EDIT_STUDY))


def transition_allowed(*, membership, study, to):
    transition = TRANSITIONS.get((Status(study.status), Status(to)))
    if transition is None or study.is_template:
        return False
    return membership.allows(transition.permission,
                             on_team=study_on_team(study, membership.user))


def allowed_targets(*, membership, study):
    """The statuses this person may move the study to now ("Change status" menu)."""
    return [to for (frm, to) in TRANSITIONS if frm == study.status
            and transition_allowed(membership=membership, study=study, to=to)]


# Publishing requirements --------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something missing before a study can be published, and where it is fixed."""

    field: str  # the form field's name (its control is id_<field> on the tab)
    tab: str  # "plan" or "audience"
    message: str


def publish_problems(study):
    """Every requirement the study misses for "Publish Study" (empty when it may publish)."""
    problems = []
    if not study.name.strip():
        problems.append(Problem("name", "plan", "Enter a study name."))
    from_ui = study.source == Source.USER_INTERVIEWS
    if from_ui and study.study_type == StudyType.SURVEY:
        problems.append(Problem("source", "plan", SURVEY_SOURCE_REASON))
    if from_ui and not study.external_description.strip():
        problems.append(Problem("external_description", "plan",
                                "Enter an external study description: applicants read it "
                                "before they apply."))
    if study.participation_limit is None:
        problems.append(Problem("participation_limit", "plan",
                                "Enter a participation limit (a whole number, 1 or more)."))
    if (study.source == Source.RALLY_PANEL and study.consent_required
            and not study.consent_form.strip()):
        problems.append(Problem("consent_form", "plan",
                                "Write the consent form: this study requires consent, and "
                                "booking cannot open without a consent form."))
    if study.study_type == StudyType.UNMODERATED_TEST and not study.test_tasks.exists():
        problems.append(Problem("tasks", "test",
                                "Add at least one task on the Test tab: participants follow "
                                "the tasks when they take the test."))
    if not from_ui:
        return problems
    if study.incentive_amount is None:
        problems.append(Problem("incentive_amount", "plan",
                                "Enter an incentive amount in USD, more than $0."))
    if study.location_mode == LocationMode.STATE and not study.us_states:
        problems.append(Problem("us_states", "audience", "Choose at least one state."))
    if study.location_mode == LocationMode.COUNTRY and not study.countries:
        problems.append(Problem("country", "audience", "Add at least one country."))
    if study.audience_type == AudienceType.B2B and not _has_professional_criterion(study):
        problems.append(Problem("criteria", "audience",
                                "Industry professionals (B2B) audiences need at least one "
                                "Advanced Professional criterion, such as Job function or "
                                "Industry."))
    return problems


def _has_professional_criterion(study):
    slugs = study.criteria_slugs
    return bool(slugs) and Characteristic.objects.filter(
        slug__in=slugs, category=CharacteristicCategory.PROFESSIONAL).exists()


class PublishBlocked(ValidationError):
    """Publishing refused; `problems` lists every missing requirement."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__([problem.message for problem in problems])


# The transition itself ----------------------------------------------------------------------


@transaction.atomic
def study_transition(*, membership, study, to, expect=None):
    """Move the study to `to`, or refuse with a clear reason; nothing changes on refusal.

    A building block: it locks and changes the study row and writes its activity entry,
    nothing else. "Publish Study" is `studies.services.study_publish`; pause, resume and
    close are `recruitment.workflows`, which call this first in their own transaction.
    `expect`: the statuses the study must be in now (resuming moves only a Paused study).
    """
    if to not in Status.values:
        raise ValidationError("Choose one of the listed statuses.")
    to = Status(to)
    study = Study.objects.select_for_update().filter(pk=study.pk,
                                                     workspace=membership.workspace).first()
    if study is None:
        raise Http404
    old = Status(study.status)
    if study.is_template:
        raise ValidationError("A template cannot change status. Create a study from it "
                              "with “New study”.")
    if old == Status.CLOSED:
        raise ValidationError("The study is closed. Closing is final; its status cannot "
                              "change any more.")
    if old == to:
        raise ValidationError(f"The study is already {old.label}.")
    if expect is not None and old not in expect:
        raise ValidationError(f"A {old.label} study cannot move to {to.label} here.")
    transition = TRANSITIONS.get((old, to))
    if transition is None:
        raise ValidationError(f"A {old.label} study cannot move to {to.label}.")
    if not membership.allows(transition.permission,
                             on_team=study_on_team(study, membership.user)):
        raise PermissionDenied
    if to == Status.ACTIVE and old == Status.DRAFT:
        problems = publish_problems(study)
        if problems:
            raise PublishBlocked(problems)
        study.published_at = clock.now()
    if to == Status.CLOSED:
        study.closed_at = clock.now()
    study.status = to
    study.updated_at = clock.now()
    study.save(update_fields=["status", "published_at", "closed_at", "updated_at"])
    summary = (f"Published “{study.name}”" if transition.action == "study.published"
               else f"Changed the status of “{study.name}” from {old.label} to {to.label}")
    activity_record(workspace=study.workspace, actor=membership.user, action=transition.action,
                    summary=summary, study_id=study.id,
                    data={"from": old.value, "to": to.value})
    return study
