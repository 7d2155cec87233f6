"""Reads on studies that views and other apps share: lookups scoped to the workspace, the
studies list, the audience as User Interviews receives it, the catalog and the cost estimate.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, Q
from django.http import Http404

from billing.pricing import recruitment_estimate, recruitment_fee
from rally.permissions import require
from studies import locations
from studies.lifecycle import study_on_team
from studies.models import (
    AudienceType,
    Characteristic,
    CharacteristicCategory,
    CharacteristicChoice,
    LocationMode,
    Source,
    Status,
    Study,
    StudyType,
)


def get_study_for_user(membership, study_id, *, permission):
    """The study of the member's workspace with this id: 404 when there is none (or no
    membership), 403 when the member may not do `permission` on it (W1, W2; a TEAM cell
    counts the owner and the team as on it)."""
    if membership is None:
        raise Http404
    study = (Study.objects.filter(pk=study_id, workspace_id=membership.workspace_id)
             .select_related("owner", "workspace")
             .prefetch_related("team").first())
    if study is None:
        raise Http404
    require(membership, permission, on_team=study_on_team(study, membership.user))
    return study


# The studies list ---------------------------------------------------------------------------

SORTS = {
    "updated": ("-updated_at", "Last updated"),
    "name": ("name", "Name"),
    "created": ("-created_at", "Newest"),
    "status": ("status", "Status"),
}


def studies_for_list(*, workspace, status="", study_type="", source="", query="",
                     sort="updated", templates=False):
    studies = Study.objects.filter(workspace=workspace, is_template=templates)
    if status in Status.values:
        studies = studies.filter(status=status)
    if study_type in StudyType.values:
        studies = studies.filter(study_type=study_type)
    if source in Source.values:
        studies = studies.filter(source=source)
    if query.strip():
        studies = studies.filter(name__icontains=query.strip())
    order = SORTS.get(sort, SORTS["updated"])[0]
    return studies.select_related("owner").order_by(order, "-updated_at", "id")


def templates_for_workspace(workspace):
    return Study.objects.filter(workspace=workspace, is_template=True).order_by("name")


# Audience -----------------------------------------------------------------------------------


def study_audience_payload(study):
    """The study's audience in UI_API.md's shape (`audience` of a recruit or an estimate)."""
    if study.location_mode == LocationMode.STATE:
        countries, states = [locations.DEFAULT_COUNTRY], list(study.us_states)
    else:
        countries, states = list(study.countries), []
    criteria = []
    for criterion in study.criteria:
        if "range" in criterion:
            criteria.append({"characteristic": criterion["characteristic"],
                             "range": dict(criterion["range"])})
        else:
            criteria.append({"characteristic": criterion["characteristic"],
                             "values": list(criterion["values"])})
    return {"type": study.audience_type, "countries": countries, "usStates": states,
            "criteria": criteria}


@dataclass(frozen=True)
class AppliedCriterion:
    slug: str
    name: str
    summary: str  # "Healthcare, Finance" or "25-40" (with an en dash)
    category_label: str
    offered: bool  # False when the catalog no longer lists it


def study_applied_criteria(study):
    """The study's criteria with names and value labels, for chips (one query + choices)."""
    slugs = study.criteria_slugs
    if not slugs:
        return []
    catalog = {c.slug: c for c in Characteristic.objects.filter(slug__in=slugs)
               .prefetch_related("choices")}
    applied = []
    for criterion in study.criteria:
        characteristic = catalog.get(criterion["characteristic"])
        if characteristic is None:
            applied.append(AppliedCriterion(criterion["characteristic"],
                                            criterion["characteristic"],
                                            "no longer offered by User Interviews", "", False))
            continue
        if "range" in criterion:
            summary = f"{criterion['range']['min']}\u2013{criterion['range']['max']}"
        else:
            labels = {choice.external_id: choice.label for choice in characteristic.choices.all()}
            summary = ", ".join(labels.get(value, value) for value in criterion["values"])
        applied.append(AppliedCriterion(characteristic.slug, characteristic.name, summary,
                                        characteristic.get_category_display(), True))
    return applied


@dataclass
class CatalogGroup:
    category: str
    label: str
    characteristics: list


def criteria_catalog(*, audience_type, query=""):
    """The catalog offered for this audience type, grouped in SPEC A4's order.

    `query` matches characteristic names and choice labels (type-ahead); a characteristic
    that matches only by some choices shows those choices first.
    """
    characteristics = Characteristic.objects.filter(audience_types__contains=[audience_type])
    query = query.strip()
    if query:
        characteristics = characteristics.filter(
            Q(name__icontains=query) | Q(choices__label__icontains=query)).distinct()
    characteristics = characteristics.prefetch_related(
        Prefetch("choices", queryset=CharacteristicChoice.objects.order_by("position", "label")))
    by_category = {category: [] for category in CharacteristicCategory.values}
    for characteristic in characteristics.order_by("position", "name"):
        by_category[characteristic.category].append(characteristic)
    return [CatalogGroup(category, CharacteristicCategory(category).label, rows)
            for category, rows in by_category.items() if rows]


def b2b_only_professional_names(*, audience_type):
    """For a B2C audience: the Advanced Professional criteria offered to B2B audiences only
    (the Audience tab says so under the group). Empty for B2B."""
    if audience_type == AudienceType.B2B:
        return []
    return list(Characteristic.objects.filter(category=CharacteristicCategory.PROFESSIONAL)
                .exclude(audience_types__contains=[audience_type])
                .order_by("position", "name").values_list("name", flat=True))


# Cost ---------------------------------------------------------------------------------------


def study_cost_estimate(*, source, study_type, audience_type, participation_limit,
                        incentive_amount):
    """The estimate for these plan values (the plan page passes unsaved values as typed):
    the fee in effect today, or why there is none."""
    fee, reason = None, ""
    if source != Source.USER_INTERVIEWS:
        fee, reason = Decimal("0.00"), "The Rally panel has no recruitment fee."
    elif study_type not in (StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW,
                            StudyType.UNMODERATED_TEST):
        reason = "User Interviews does not recruit for this study type."
    else:
        try:
            fee = recruitment_fee(audience_type=audience_type, study_type=study_type)
        except (ObjectDoesNotExist, ValueError):
            reason = "No recruitment fee is in effect for this audience and study type."
    return recruitment_estimate(participation_limit=participation_limit, fee=fee,
                                incentive=incentive_amount, fee_reason=reason)


def study_cost_for(study):
    return study_cost_estimate(source=study.source, study_type=study.study_type,
                               audience_type=study.audience_type,
                               participation_limit=study.participation_limit,
                               incentive_amount=study.incentive_amount)


# Screeners ------------------------------------------------------------------------------------


def study_screener_payload(study):
    """The `screener` of the study's recruit in UI_API.md's shape: {"version", "questions"}.

    Once recruitment has started, the latest version (every change after the start makes
    one). Before, the draft as the version "Start Recruitment" will keep.
    """
    from studies.screeners.versions import screener_draft, snapshot_for_ui

    latest = study.screener_versions.order_by("-number").first()
    draft = screener_draft(study)
    if latest is not None and (study.is_recruitment_locked or latest.questions == draft):
        return {"version": latest.number, "questions": snapshot_for_ui(latest.questions)}
    return {"version": (latest.number if latest else 0) + 1,
            "questions": snapshot_for_ui(draft)}


def screener_version_questions(study, version):
    """The questions of screener version `version` as applicants saw them (None if unknown),
    so an applicant's answers can be shown next to the question text they answered."""
    row = study.screener_versions.filter(number=version).values_list("questions",
                                                                     flat=True).first()
    return row


def screener_versions(study):
    return list(study.screener_versions.select_related("created_by").order_by("-number"))


def consent_version_current(study):
    """The consent form version participants agree to now, or None (no consent form)."""
    if not study.consent_form:
        return None
    return study.consent_versions.order_by("-number").first()


def consent_versions(study):
    """Every version of the study's consent form, newest first."""
    return list(study.consent_versions.order_by("-number").select_related("created_by"))


# Who is told (notifications) -----------------------------------------------------------------


def study_people(study, *, permission, team_only=False):
    """Ids of the workspace's people whose role allows `permission` on this study: Admins
    (and others the matrix allows everywhere) and, where it says "team", the study's team.
    `team_only` keeps the team alone (new applicants go to the people running the study).
    Two queries whatever the workspace's size."""
    from rally.models import Membership

    team = set(Study.team.through.objects.filter(study_id=study.pk)
               .values_list("user_id", flat=True)) | {study.owner_id}
    members = Membership.objects.filter(workspace_id=study.workspace_id).only("user_id", "role")
    return [member.user_id for member in members
            if member.allows(permission, on_team=member.user_id in team)
            and (not team_only or member.user_id in team)]
