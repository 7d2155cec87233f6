"""Writes on studies: create, copy, plan, audience, templates, and the criteria catalog.

Each use case is one durable transaction that locks the study, re-checks the rules (the page
may be stale, the POST may be crafted), writes, and records an activity entry.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from billing.selectors import reservation_exists
from billing.services import reservation_shrink
from rally import clock
from rally.models import Membership, User
from rally.numbers import count_parse, money_parse
from rally.permissions import Permission, require
from rally.services import activity_record, outbox_enqueue
from studies import lifecycle, locations
from studies.locking import study_lock, study_touch
from studies.models import (
    CONSENT_FORM_REASON,
    DURATION_MAX,
    DURATION_MIN,
    SURVEY_SOURCE_REASON,
    AudienceType,
    Characteristic,
    CharacteristicCategory,
    CharacteristicChoice,
    CharacteristicType,
    ConsentVersion,
    LocationMode,
    Source,
    Status,
    Study,
    StudyType,
)
from studies.screeners.versions import screener_version_at_start

LOCKED_AUDIENCE = ("Audience targeting is locked: recruitment has started, so the audience "
                   "can no longer change.")
LOCKED_INCENTIVE = "The incentive amount is locked: recruitment has started."
LIMIT_ONLY_DOWN = ("Recruitment has started: the participation limit can only be lowered "
                   "(it is {limit} now).")
CLOSED_STUDY = "The study is closed: its settings can no longer change."

# Plan fields as the page labels them (activity summaries name them the same way).
PLAN_LABELS = {
    "name": "Study name",
    "study_type": "Study type",
    "source": "Recruitment source",
    "public_title": "Participant-facing title",
    "external_description": "External study description",
    "participation_limit": "Participation limit",
    "incentive_amount": "Incentive amount",
    "consent_form": "Consent form",
    "consent_required": "Require consent",
}
CONSENT_MAX_CHARS = 20_000
CONSENT_NEEDED = ("Write the consent form, or turn off “Require consent”: a study that "
                  "requires consent cannot open booking without one.")


# Shared checks -----------------------------------------------------------------------------


def _require_edit(membership, study):
    require(membership, Permission.EDIT_STUDY)
    if study.status == Status.CLOSED:
        raise ValidationError(CLOSED_STUDY)


def _record(membership, study, action, summary, data=None):
    activity_record(workspace=membership.workspace, actor=membership.user, action=action,
                    summary=summary, study_id=study.id, data=data or {})


#: The most participants one study takes, and the largest incentive one participant gets.
PARTICIPATION_LIMIT_MAX = 10_000
INCENTIVE_MAX = Decimal("99999.99")


def parse_participation_limit(value):
    """A whole number from 1 to 10,000 (None when blank), or a ValidationError with a
    sentence a person understands. The rule is rally.numbers.count_parse (SPEC §13)."""
    if value is None or not str(value).strip():
        return None
    return count_parse(value, label="the participation limit", minimum=1,
                       maximum=PARTICIPATION_LIMIT_MAX)


def parse_incentive_amount(value):
    """USD, more than 0, at most two decimals (None when blank); rally.numbers.money_parse."""
    if value is None or not str(value).strip():
        return None
    return money_parse(value, label="the incentive amount", maximum=INCENTIVE_MAX)


def parse_duration(value):
    return count_parse(value, label="the total participation time", minimum=DURATION_MIN,
                       maximum=DURATION_MAX, unit="minutes")


# Creating and copying -----------------------------------------------------------------------

COPIED_FIELDS = (
    "study_type", "source", "public_title", "external_description", "participation_limit",
    "incentive_amount", "consent_form", "consent_required", "audience_type", "duration_minutes",
    "location_mode", "countries", "us_states", "criteria",
)


def study_copy_settings(*, source, target):
    """Copy plan and audience (with the consent form's version) from source to target.

    The copy is a snapshot: later edits to the source do not reach the target. The
    screener, the test and the scheduling settings are copied by
    `recruitment.workflows.study_copy`, which calls this first.
    """
    for field in COPIED_FIELDS:
        value = getattr(source, field)
        setattr(target, field, list(value) if isinstance(value, list) else value)
    target.criteria = [dict(criterion) for criterion in source.criteria]
    target.save()
    consent_version_keep(study=target, actor=None)


def _check_type_and_source(study_type, source):
    if study_type not in StudyType.values:
        raise ValidationError({"study_type": "Choose one of the listed study types."})
    if source not in Source.values:
        raise ValidationError({"source": "Choose one of the listed recruitment sources."})
    if study_type == StudyType.SURVEY and source == Source.USER_INTERVIEWS:
        raise ValidationError({"source": SURVEY_SOURCE_REASON})


@transaction.atomic(durable=True)
def study_create(*, membership, name, study_type=StudyType.INTERVIEW,
                 source=Source.USER_INTERVIEWS):
    """A new Draft study owned by the person, from scratch. From a template it is
    `recruitment.workflows.study_copy`, which copies what other apps keep too."""
    return _study_new(membership=membership, name=name, study_type=study_type, source=source)


@transaction.atomic
def study_from_template_create(*, membership, name, template):
    """A new Draft study from a template: the row, its plan and audience. Part of
    `recruitment.workflows.study_copy`, in its transaction."""
    if template is None:
        raise ValidationError({"template": "Choose one of the listed templates."})
    return _study_new(membership=membership, name=name, study_type=template.study_type,
                      source=template.source, template=template)


def _study_new(*, membership, name, study_type, source, template=None):
    require(membership, Permission.EDIT_STUDY)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter a study name."})
    if template is not None:
        template = Study.objects.filter(pk=template.pk, workspace_id=membership.workspace_id,
                                        is_template=True).first()
        if template is None:
            raise ValidationError({"template": "Choose one of the listed templates."})
        study_type, source = template.study_type, template.source
    _check_type_and_source(study_type, source)
    now = clock.now()
    study = Study(workspace_id=membership.workspace_id, name=name, study_type=study_type,
                  source=source, owner=membership.user, countries=[locations.DEFAULT_COUNTRY],
                  created_from=template, created_at=now, updated_at=now)
    study.save()
    if template is not None:
        study_copy_settings(source=template, target=study)
    origin = f" from the template “{template.name}”" if template else ""
    _record(membership, study, "study.created", f"Created “{name}”{origin}",
            {"template": str(template.pk) if template else None})
    return study


NAME_MAX_LENGTH = Study._meta.get_field("name").max_length


def _clean_copy_name(name, default):
    name = (name or "").strip() or default
    if "\x00" in name:  # what Django's form fields refuse too: Postgres cannot store it
        raise ValidationError({"name": "The name contains a null character: type it again."})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"Keep the name to {NAME_MAX_LENGTH} characters or "
                                       f"fewer (it has {len(name)})."})
    return name


def template_default_name(study):
    """What "Save as template" proposes as the template's name."""
    return f"{study.name} (template)"[:NAME_MAX_LENGTH]


def duplicate_default_name(study):
    """What "Duplicate study" proposes as the copy's name."""
    return f"Copy of {study.name}"[:NAME_MAX_LENGTH]


@transaction.atomic
def study_duplicate_create(*, membership, study, name=None):
    """"Duplicate study" (SPEC S7), the studies part: a new Draft with the source's plan and
    audience; never its applicants, sessions, money or status. Any study can be duplicated,
    a closed one too (it is only read). Part of `recruitment.workflows.study_copy`, which
    copies the rest and then the team (`study_team_copy`)."""
    require(membership, Permission.EDIT_STUDY)
    source = study_lock(membership=membership, study=study)
    if source.is_template:
        raise ValidationError("A template makes new studies with “New study from this "
                              "template”; it is not duplicated.")
    name = _clean_copy_name(name, duplicate_default_name(source))
    now = clock.now()
    copy = Study(workspace_id=source.workspace_id, name=name, owner=membership.user,
                 countries=[locations.DEFAULT_COUNTRY], created_from=source, created_at=now,
                 updated_at=now)
    copy.save()
    study_copy_settings(source=source, target=copy)
    _record(membership, copy, "study.duplicated",
            f"Created “{name}” as a copy of “{source.name}”", {"study": str(source.pk)})
    return copy


def study_team_copy(*, membership, source, target):
    """The source's owner and team stay on the copy, as far as they are still members here
    (the person copying owns it, so is not on its team too)."""
    people = {member.pk for member in source.team.all()} | {source.owner_id}
    target.team.set(Membership.objects.filter(workspace_id=source.workspace_id,
                                              user_id__in=people)
                    .exclude(user_id=membership.user.pk).values_list("user_id", flat=True))


@transaction.atomic
def study_template_create(*, membership, study, name=None):
    """"Save as template", the studies part: a Draft study with `is_template` and the
    study's plan and audience. Part of `recruitment.workflows.study_copy`."""
    require(membership, Permission.EDIT_STUDY)
    source = study_lock(membership=membership, study=study)
    name = _clean_copy_name(name, template_default_name(source))
    now = clock.now()
    template = Study(workspace_id=source.workspace_id, name=name, owner=membership.user,
                     is_template=True, created_from=source, created_at=now, updated_at=now)
    template.save()
    study_copy_settings(source=source, target=template)
    _record(membership, template, "study.template_saved",
            f"Saved “{source.name}” as the template “{name}”", {"study": str(source.pk)})
    return template


# Plan ---------------------------------------------------------------------------------------


def _clean_plan(study, changes, members):
    """Validate plan changes against the rules and the locks; {field: message} on failure."""
    errors = {}
    cleaned = {}
    for field, parser in (("participation_limit", parse_participation_limit),
                          ("incentive_amount", parse_incentive_amount)):
        if field in changes:
            try:
                cleaned[field] = parser(changes[field])
            except ValidationError as error:
                errors[field] = error.messages[0]
    for field in ("name", "public_title", "external_description", "consent_form"):
        if field in changes:
            cleaned[field] = (changes[field] or "").strip()
    if "name" in cleaned and not cleaned["name"]:
        errors["name"] = "Enter a study name."
    for field, choices in (("study_type", StudyType), ("source", Source)):
        if field in changes:
            if changes[field] not in choices.values:
                errors[field] = "Choose one of the listed options."
            else:
                cleaned[field] = changes[field]
    study_type = cleaned.get("study_type", study.study_type)
    source = cleaned.get("source", study.source)
    if ("study_type" in cleaned or "source" in cleaned) and "source" not in errors:
        moved = (cleaned.get("study_type", study.study_type) != study.study_type
                 or cleaned.get("source", study.source) != study.source)
        if moved and study.status != Status.DRAFT:
            errors["study_type"] = ("The study type and recruitment source can only change "
                                    "while the study is a Draft.")
        if study_type == StudyType.SURVEY and source == Source.USER_INTERVIEWS:
            errors["source"] = SURVEY_SOURCE_REASON
    if "consent_required" in changes:
        cleaned["consent_required"] = changes["consent_required"] in (True, "on", "true", "1")
    if len(cleaned.get("consent_form", "")) > CONSENT_MAX_CHARS:
        errors["consent_form"] = (f"Keep the consent form under {CONSENT_MAX_CHARS:,} "
                                  f"characters.")
    if source == Source.USER_INTERVIEWS and cleaned.get("consent_form"):
        errors["consent_form"] = CONSENT_FORM_REASON
    if source == Source.USER_INTERVIEWS and cleaned.get("consent_required"):
        errors["consent_required"] = CONSENT_FORM_REASON
    if (source == Source.RALLY_PANEL and study.status != Status.DRAFT
            and cleaned.get("consent_required", study.consent_required)
            and not cleaned.get("consent_form", study.consent_form)
            and "consent_form" not in errors):
        errors["consent_form"] = CONSENT_NEEDED
    if study.is_recruitment_locked:
        new_incentive = cleaned.get("incentive_amount", study.incentive_amount)
        if "incentive_amount" in cleaned and new_incentive != study.incentive_amount:
            errors["incentive_amount"] = LOCKED_INCENTIVE
        new_limit = cleaned.get("participation_limit", study.participation_limit)
        if "participation_limit" in cleaned and (
                new_limit is None or new_limit > study.participation_limit):
            errors["participation_limit"] = LIMIT_ONLY_DOWN.format(
                limit=study.participation_limit)
    if "team" in changes:
        wanted = {str(member_id) for member_id in changes["team"]}
        known = {str(user_id) for user_id in members}
        if not wanted <= known:
            errors["team"] = "Choose teammates among the members of this workspace."
        cleaned["team"] = wanted - {str(study.owner_id)}
    if errors:
        raise ValidationError(errors)
    if source == Source.USER_INTERVIEWS:
        cleaned["consent_form"] = ""
        cleaned["consent_required"] = False
    return cleaned


def _money(value):
    return "—" if value is None else f"${value:,.2f}"


def _shown(field, value):
    if field == "incentive_amount":
        return _money(value)
    if field == "study_type":
        return StudyType(value).label
    if field == "source":
        return Source(value).label
    if field == "consent_required":
        return "Yes" if value else "No"
    if value in (None, ""):
        return "—"
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


@transaction.atomic
def study_update_plan(*, membership, study, changes):
    """Change plan fields (keys of PLAN_LABELS, plus "team": member user ids). The plan tab
    saves through `recruitment.workflows.study_plan_update`, which also tells UI whether
    the new participation limit leaves seats free (SPEC R6).

    Refuses, changing nothing, on any invalid value, on a locked field (SPEC A7) or a
    Survey from User Interviews (SPEC S2).
    """
    study = study_lock(membership=membership, study=study)
    _require_edit(membership, study)
    unknown = set(changes) - set(PLAN_LABELS) - {"team"}
    if unknown:
        raise ValidationError(f"Unknown plan fields: {', '.join(sorted(unknown))}.")
    members = Membership.objects.filter(workspace_id=study.workspace_id).values_list(
        "user_id", flat=True)
    cleaned = _clean_plan(study, changes, list(members))
    changed = []
    for field, value in cleaned.items():
        if field == "team":
            continue
        if getattr(study, field) != value:
            changed.append(f"{PLAN_LABELS[field]} {_shown(field, getattr(study, field))} → "
                           f"{_shown(field, value)}")
            setattr(study, field, value)
    if "team" in cleaned:
        current = {str(user_id) for user_id in study.team.values_list("pk", flat=True)}
        if current != cleaned["team"]:
            _require_team_change(membership, study, added=cleaned["team"] - current)
            study.team.set(list(cleaned["team"]))
            changed.append(_team_change(current, cleaned["team"]))
    if not changed:
        return study
    study_touch(study, [field for field in cleaned if field != "team"])
    if "consent_form" in cleaned:
        version, created = consent_version_keep(study=study, actor=membership.user)
        if created:
            changed.append(f"consent form is now version {version.number}")
    if study.is_recruitment_locked and "participation_limit" in cleaned:
        _recruitment_limit_lowered(membership, study)
    _record(membership, study, "study.plan_updated",
            f"Updated the plan of “{study.name}”: " + "; ".join(changed),
            {"fields": sorted(cleaned)})
    return study


TEAM_CHANGE_REFUSED = ("Only an Admin, an Ops Manager or the study's owner can change its "
                       "team.")
TEAM_SELF_ADD_REFUSED = ("You cannot add yourself to the team: ask an Admin, an Ops Manager "
                         "or the study's owner.")


def _require_team_change(membership, study, *, added):
    """SPEC W3: the team changes only by an Admin, an Ops Manager or the owner, and nobody
    adds themselves to gain the team's rights."""
    if not lifecycle.study_team_changeable_by(membership, study):
        raise ValidationError({"team": TEAM_CHANGE_REFUSED})
    if str(membership.user_id) in added:
        raise ValidationError({"team": TEAM_SELF_ADD_REFUSED})


def consent_version_keep(*, study, actor):
    """Keep the study's consent text as a new version when it differs from the latest one
    (SPEC P7: editing makes a new version; agreements keep the version they name). Runs in
    the caller's transaction with the study locked. Returns (the current version or None
    when the study has no consent form, whether it was created now)."""
    if not study.consent_form:
        return None, False
    latest = study.consent_versions.order_by("-number").first()
    if latest is not None and latest.text == study.consent_form:
        return latest, False
    return ConsentVersion.objects.create(
        study=study, number=(latest.number + 1) if latest else 1, text=study.consent_form,
        created_by=actor, created_at=clock.now()), True


def _team_change(before, after):
    """"Team: added Ana Reyes and Ben Ortiz, removed Cleo Park" (sets of user ids)."""
    names = {str(user.pk): user.display_name
             for user in User.objects.filter(pk__in=before ^ after).only("name", "email")}

    def listed(ids):
        people = sorted(names.get(pk, "a former member") for pk in ids)
        return people[0] if len(people) == 1 else f"{', '.join(people[:-1])} and {people[-1]}"

    parts = [f"{verb} {listed(ids)}"
             for verb, ids in (("added", after - before), ("removed", before - after)) if ids]
    return "Team: " + ", ".join(parts)


def _recruitment_limit_lowered(membership, study):
    """After start the limit only goes down (A7): the seats given up return to the budget,
    and User Interviews is told the new number.

    The outbox subject names the start (its time: every start after a decline or a failed
    start sets it anew, and is a new recruit at UI), so lowering to the same number in a
    later start is sent to that start's recruit instead of being taken for the first one's.
    """
    if reservation_exists(study.id):
        reservation_shrink(study_id=study.id, participation_limit=study.participation_limit,
                           actor=membership.user)
    started = study.recruitment_started_at.isoformat()
    outbox_enqueue(workspace=study.workspace, operation="update_recruit",
                   subject=f"{study.id}:started:{started}:limit:{study.participation_limit}",
                   payload={"study_id": str(study.id), "fields": ["num_participants"]},
                   study_id=study.id)


# Audience -----------------------------------------------------------------------------------


def _audience_study(membership, study):
    study = study_lock(membership=membership, study=study)
    _require_edit(membership, study)
    if study.is_recruitment_locked:
        raise ValidationError(LOCKED_AUDIENCE)
    return study


@transaction.atomic(durable=True)
def study_update_audience_settings(*, membership, study, audience_type, duration_minutes):
    """"Audience type" and "Total participation time (minutes)"."""
    study = _audience_study(membership, study)
    errors = {}
    if audience_type not in AudienceType.values:
        errors["audience_type"] = "Choose General population (B2C) or Industry professionals (B2B)."
    try:
        duration = parse_duration(duration_minutes)
    except ValidationError as error:
        errors["duration_minutes"] = error.messages[0]
    if errors:
        raise ValidationError(errors)
    changes = []
    if study.audience_type != audience_type:
        changes.append(f"Audience type {AudienceType(study.audience_type).label} → "
                       f"{AudienceType(audience_type).label}")
        study.audience_type = audience_type
        # Criteria that the new audience type cannot use no longer apply.
        usable = set(Characteristic.objects.filter(
            slug__in=study.criteria_slugs, audience_types__contains=[audience_type])
            .values_list("slug", flat=True))
        dropped = [c["characteristic"] for c in study.criteria if c["characteristic"] not in usable]
        if dropped:
            study.criteria = [c for c in study.criteria if c["characteristic"] in usable]
            changes.append(f"removed criteria not offered for this audience: {', '.join(dropped)}")
    if study.duration_minutes != duration:
        changes.append(f"Total participation time {study.duration_minutes} → {duration} minutes")
        study.duration_minutes = duration
    if changes:
        study_touch(study, ["audience_type", "duration_minutes", "criteria"])
        _record(membership, study, "study.audience_updated",
                f"Updated the audience of “{study.name}”: " + "; ".join(changes))
    return study


@transaction.atomic(durable=True)
def study_set_location_mode(*, membership, study, mode):
    study = _audience_study(membership, study)
    if mode not in LocationMode.values:
        raise ValidationError({"location_mode": "Choose Country or State."})
    if study.location_mode != mode:
        study.location_mode = mode
        if mode == LocationMode.STATE:
            study.countries = [locations.DEFAULT_COUNTRY]
        study_touch(study, ["location_mode", "countries"])
        _record(membership, study, "study.audience_updated",
                f"Location of “{study.name}” now filters by {LocationMode(mode).label}")
    return study


@transaction.atomic(durable=True)
def study_add_country(*, membership, study, code):
    study = _audience_study(membership, study)
    code = (code or "").strip().upper()
    if code not in locations.countries():
        raise ValidationError({"country": "Choose a country from the list."})
    if study.location_mode != LocationMode.COUNTRY:
        raise ValidationError({"country": "Switch the location filter to Country first."})
    if code not in study.countries:
        study.countries = [*study.countries, code]
        study_touch(study, ["countries"])
        _record(membership, study, "study.audience_updated",
                f"Added {locations.country_name(code)} to the audience of “{study.name}”")
    return study


@transaction.atomic(durable=True)
def study_remove_country(*, membership, study, code):
    study = _audience_study(membership, study)
    code = (code or "").strip().upper()
    if code not in locations.countries():
        raise ValidationError({"country": "Choose a country from the list."})
    if code in study.countries:
        study.countries = [c for c in study.countries if c != code]
        study_touch(study, ["countries"])
        _record(membership, study, "study.audience_updated",
                f"Removed {locations.country_name(code)} from the audience of “{study.name}”")
    return study


@transaction.atomic(durable=True)
def study_set_states(*, membership, study, codes):
    study = _audience_study(membership, study)
    codes = [str(code).strip().upper() for code in codes]
    unknown = [code for code in codes if code not in locations.us_states()]
    if unknown:
        raise ValidationError({"us_states": "Choose states from the list (unknown: "
                                            f"{', '.join(unknown)[:60]})."})
    ordered = [code for code in locations.us_states() if code in set(codes)]
    if study.location_mode != LocationMode.STATE:
        raise ValidationError({"us_states": "Switch the location filter to State first."})
    if ordered != study.us_states:
        study.us_states = ordered
        study_touch(study, ["us_states"])
        names = ", ".join(locations.state_name(code) for code in ordered) or "none"
        _record(membership, study, "study.audience_updated",
                f"States of “{study.name}”: {names}")
    return study


def _clean_criterion(characteristic, selection):
    """One criterion in UI's shape, or a ValidationError naming the characteristic."""
    if characteristic.is_range:
        bounds = selection.get("range") or {}
        low, high = str(bounds.get("min", "")).strip(), str(bounds.get("max", "")).strip()
        if not low and not high:
            return None
        try:
            low, high = (count_parse(bound, label="a bound", minimum=characteristic.range_min,
                                     maximum=characteristic.range_max) if bound else default
                         for bound, default in ((low, characteristic.range_min),
                                                (high, characteristic.range_max)))
        except ValidationError:
            raise ValidationError(
                f"{characteristic.name}: enter whole numbers from {characteristic.range_min} "
                f"to {characteristic.range_max}, the lower bound first.") from None
        if not characteristic.range_min <= low <= high <= characteristic.range_max:
            raise ValidationError(
                f"{characteristic.name}: choose a range from {characteristic.range_min} to "
                f"{characteristic.range_max}, the lower bound first.")
        return {"characteristic": characteristic.slug, "range": {"min": low, "max": high}}
    values = [str(value) for value in selection.get("values") or []]
    if not values:
        return None
    known = {choice.external_id for choice in characteristic.choices.all()}
    if not set(values) <= known:
        raise ValidationError(f"{characteristic.name}: choose values from the list.")
    ordered = sorted(set(values), key=values.index)
    return {"characteristic": characteristic.slug, "values": ordered}


@transaction.atomic(durable=True)
def study_apply_criteria(*, membership, study, selections):
    """"Apply criteria": {slug: {"values": [...]} | {"range": {min, max}} | {}}.

    A characteristic with an empty selection is removed; others are set; characteristics
    not mentioned stay as they are.
    """
    study = _audience_study(membership, study)
    characteristics = {
        c.slug: c for c in Characteristic.objects.filter(slug__in=list(selections))
        .prefetch_related("choices")}
    unknown = [slug for slug in selections if slug not in characteristics]
    if unknown:
        raise ValidationError({"criteria": "Choose criteria from the catalog."})
    errors = []
    cleaned = {}
    for slug, selection in selections.items():
        characteristic = characteristics[slug]
        if study.audience_type not in characteristic.audience_types:
            errors.append(f"{characteristic.name} is not offered for "
                          f"{AudienceType(study.audience_type).label} audiences.")
            continue
        try:
            cleaned[slug] = _clean_criterion(characteristic, selection)
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError({"criteria": errors})
    current = {c["characteristic"]: c for c in study.criteria}
    before = dict(current)
    for slug, criterion in cleaned.items():
        if criterion is None:
            current.pop(slug, None)
        else:
            current[slug] = criterion
    if current == before:
        return study
    study.criteria = list(current.values())
    study_touch(study, ["criteria"])
    added = [characteristics[s].name for s in current if s not in before]
    removed = [characteristics[s].name for s in before if s not in current]
    changed = [characteristics[s].name for s in current if s in before
               and current[s] != before[s]]
    parts = [f"{label} {', '.join(names)}" for label, names in
             (("added", added), ("changed", changed), ("removed", removed)) if names]
    _record(membership, study, "study.audience_updated",
            f"Criteria of “{study.name}”: " + "; ".join(parts), {"criteria": study.criteria})
    return study


@transaction.atomic(durable=True)
def study_remove_criterion(*, membership, study, slug):
    study = _audience_study(membership, study)
    if slug not in study.criteria_slugs:
        return study
    study.criteria = [c for c in study.criteria if c["characteristic"] != slug]
    study_touch(study, ["criteria"])
    name = Characteristic.objects.filter(slug=slug).values_list("name", flat=True).first()
    _record(membership, study, "study.audience_updated",
            f"Removed the criterion {name or slug} from “{study.name}”")
    return study


# Status and recruitment -------------------------------------------------------------------


@transaction.atomic(durable=True)
def study_publish(*, membership, study):
    """"Publish Study": Draft → Active inside Rally (recruitment starts elsewhere). Pausing,
    resuming and closing reach User Interviews and money: `recruitment.workflows`."""
    return lifecycle.study_transition(membership=membership, study=study, to=Status.ACTIVE,
                                      expect=(Status.DRAFT,))


def study_mark_recruitment_started(*, study):
    """Lock audience and incentive (SPEC A7). Call inside the "Start Recruitment" transaction.

    Idempotent: the first start time is kept.
    """
    updated = Study.objects.filter(pk=study.pk, recruitment_started_at__isnull=True).update(
        recruitment_started_at=clock.now(), updated_at=clock.now())
    study.refresh_from_db(fields=["recruitment_started_at", "updated_at"])
    if updated:
        # The recruit is created with the screener as it is now: keep it as a version (Q4).
        screener_version_at_start(study=study)
    return bool(updated)


def study_mark_recruitment_stopped(*, study):
    """Unlock audience and incentive again: the start at User Interviews was declined or
    finally failed and its reservation released, so the study can be fixed and restarted.
    Call inside that transaction. Idempotent."""
    updated = Study.objects.filter(pk=study.pk, recruitment_started_at__isnull=False).update(
        recruitment_started_at=None, updated_at=clock.now())
    study.refresh_from_db(fields=["recruitment_started_at", "updated_at"])
    return bool(updated)


# Criteria catalog -------------------------------------------------------------------------


def _catalog_item(item):
    try:
        slug, name = str(item["slug"]), str(item["name"])
        category = CharacteristicCategory(item["category"])
        kind = CharacteristicType(item["type"])
        audience_types = [AudienceType(value).value for value in item.get("audience_types", [])]
        choices = [(str(choice["id"]), str(choice["label"])) for choice in
                   item.get("choices") or []]
        bounds = item.get("range")
        low, high = (int(bounds["min"]), int(bounds["max"])) if bounds else (None, None)
    except (KeyError, TypeError, ValueError) as error:
        raise ValidationError(f"Malformed characteristic {item!r}: {error}") from None
    if kind == CharacteristicType.RANGE and (low is None or low > high):
        raise ValidationError(f"Characteristic {slug} needs a range with min ≤ max.")
    return slug, name, category, kind, audience_types, choices, low, high


@transaction.atomic
def characteristics_replace(*, items):
    """Make the local catalog equal to `items` (UI's `characteristics`), in one transaction.

    Each item: {slug, name, category, type, audience_types, choices: [{id, label}],
    range: {min, max} | None}. Characteristics no longer listed are removed; studies keep
    their criteria (the chips then say the criterion is no longer offered).
    """
    parsed = [_catalog_item(item) for item in items]
    now = clock.now()
    seen = []
    for position, (slug, name, category, kind, audience_types, choices, low, high) in \
            enumerate(parsed):
        characteristic, _ = Characteristic.objects.update_or_create(
            slug=slug, defaults={"name": name, "category": category, "type": kind,
                                 "audience_types": audience_types, "range_min": low,
                                 "range_max": high, "position": position, "synced_at": now})
        seen.append(slug)
        characteristic.choices.exclude(external_id__in=[cid for cid, _ in choices]).delete()
        existing = {c.external_id: c for c in characteristic.choices.all()}
        for choice_position, (choice_id, label) in enumerate(choices):
            choice = existing.get(choice_id)
            if choice is None:
                CharacteristicChoice.objects.create(characteristic=characteristic,
                                                    external_id=choice_id, label=label,
                                                    position=choice_position)
            elif (choice.label, choice.position) != (label, choice_position):
                choice.label, choice.position = label, choice_position
                choice.save(update_fields=["label", "position"])
    stale = Characteristic.objects.exclude(slug__in=seen)
    removed = stale.count()
    stale.delete()
    return {"synced": len(seen), "removed": removed}
