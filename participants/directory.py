"""The workspace's own people directory (SPEC P6, "the panel" on its pages): the people, their
property values and the property definitions, saved segments, the contact history, and
erasing a person on request. Recruiting these people into studies is the panel app's job.
"""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from billing.models import Payout
from participants import properties as props
from participants.models import Application, Contact, Participant
from rally import clock
from rally.models import PropertyDefinition
from rally.permissions import Permission, require
from rally.services import activity_record


def property_values_clean(*, definitions, values):
    """({key: stored value or None}, {key: problem}) for raw `values` against `definitions`
    ({key: PropertyDefinition})."""
    cleaned, problems = {}, {}
    for key, raw in values.items():
        definition = definitions.get(key)
        if definition is None:
            problems[key] = f"“{key}” is not a property of this workspace."
            continue
        try:
            cleaned[key] = props.coerce(definition, raw)
        except ValueError as exc:
            problems[key] = f"{definition.label} {exc}."
    return cleaned, problems


def properties_merged(current, cleaned):
    """`current` with `cleaned` applied (None removes the key)."""
    merged = dict(current or {})
    for key, value in cleaned.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@transaction.atomic
def participant_properties_update(*, participant, values, actor=None, actor_label=""):
    """Set some of a panel person's property values: `values` is {key: raw value} (a typed
    value or text as a form or CSV holds it; empty clears it). Keys left out keep their
    value. Validates every value by its property's type first and raises ValidationError
    ({key: problem}) with nothing changed; records one activity entry for the change."""
    if participant.kind != Participant.Kind.PANEL:
        raise ValidationError("Only panel people have property values.")
    definitions = {d.key: d for d in
                   PropertyDefinition.objects.filter(workspace_id=participant.workspace_id)}
    cleaned, problems = property_values_clean(definitions=definitions, values=dict(values))
    if problems:
        raise ValidationError(problems)
    person = Participant.objects.select_for_update().get(pk=participant.pk)
    merged = properties_merged(person.properties, cleaned)
    changed = sorted(key for key in cleaned if merged.get(key) != person.properties.get(key))
    if not changed:
        return person
    person.properties = merged
    person.updated_at = clock.now()
    person.save(update_fields=["properties", "updated_at"])
    activity_record(
        workspace=person.workspace, actor=actor, actor_label=actor_label,
        action="participants.properties_updated",
        summary=(f"Updated {', '.join(definitions[key].label for key in changed)} "
                 f"of {person.display_name}"),
        # Values are left out: some properties are PII and the log is read by everyone.
        data={"participant_id": str(person.pk), "keys": changed})
    participant.properties, participant.updated_at = person.properties, person.updated_at
    return person


def contact_record(*, participant, study, kind, subject, sent_by, override_reason=""):
    """Record that Rally sent `participant` a message (the contact history governance
    counts). The caller records the activity of the send itself."""
    return contacts_record(recipients=[(participant, override_reason)], study=study,
                           kind=kind, subject=subject, sent_by=sent_by)[0]


def contacts_record(*, recipients, study, kind, subject, sent_by):
    """`contact_record` for a batch sent together, in one INSERT. `recipients`: a list of
    (participant, override_reason)."""
    if kind not in Contact.Kind.values:
        raise ValidationError("Choose a contact kind: invitation, reminder, booking link "
                              "or other.")
    now = clock.now()
    return Contact.objects.bulk_create([
        Contact(participant=participant, study=study, kind=kind, subject=(subject or "")[:200],
                sent_at=now, sent_by=sent_by,
                override_reason=(override_reason or "").strip()[:500], created_at=now)
        for participant, override_reason in recipients])


@transaction.atomic(durable=True)
def person_save(*, membership, participant=None, first_name, last_name, email,
                      time_zone, values):
    """Add a person to the panel (`participant` None) or edit one: name, email, time zone
    and property values ({key: raw}) together, all or nothing. Editing needs the study
    editors' permission (Admin, Ops Manager, Researcher)."""
    from django.core.validators import validate_email

    from participants.imports import time_zone_clean

    require(membership, Permission.EDIT_STUDY)
    workspace = membership.workspace
    errors = {}
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = "Enter an email address like name@example.com."
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    if not first_name:
        errors["first_name"] = "Enter a first name."
    try:
        time_zone = time_zone_clean(time_zone)
    except ValueError as exc:
        errors["time_zone"] = f"{str(exc)[:1].upper()}{str(exc)[1:]}."
    definitions = {d.key: d for d in PropertyDefinition.objects.filter(workspace=workspace)}
    if not membership.allows(Permission.MANAGE_PANEL) and any(
            definitions[key].is_pii for key in values if key in definitions):
        # PII values are shown to Admins and Ops Managers only; only they change them.
        raise PermissionDenied
    cleaned, problems = property_values_clean(definitions=definitions, values=dict(values))
    errors.update(problems)
    if participant is not None:
        participant = Participant.objects.select_for_update().get(
            pk=participant.pk, workspace=workspace, kind=Participant.Kind.PANEL)
    taken = Participant.objects.filter(workspace=workspace, kind=Participant.Kind.PANEL,
                                       email=email)
    if participant is not None:
        taken = taken.exclude(pk=participant.pk)
    if "email" not in errors and taken.exists():
        errors["email"] = f"{email} is already in the panel."
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    adding = participant is None
    if adding:
        participant = Participant(workspace=workspace, kind=Participant.Kind.PANEL,
                                  last_initial="", created_at=now, properties={})
    participant.first_name, participant.last_name = first_name, last_name
    participant.email, participant.time_zone = email, time_zone
    participant.properties = properties_merged(participant.properties, cleaned)
    participant.updated_at = now
    participant.save()
    activity_record(
        workspace=workspace, actor=membership.user,
        action="participants.panel_person_added" if adding
        else "participants.panel_person_edited",
        summary=(f"Added {participant.display_name} to the panel" if adding
                 else f"Edited {participant.display_name}"),
        data={"participant_id": str(participant.pk)})
    return participant


@transaction.atomic(durable=True)
def segment_save(*, membership, name, filters):
    """Save the filters as a segment (a segment of the same name is replaced)."""
    from participants.models import Segment
    from participants.selectors import people_filter_problems

    require(membership, Permission.EDIT_STUDY)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter a name for the segment."})
    if len(name) > 120:
        raise ValidationError({"name": "Use at most 120 characters."})
    problems = people_filter_problems(workspace=membership.workspace, filters=filters)
    if problems:
        raise ValidationError({"filters": problems})
    clean = {"q": (filters.get("q") or "").strip(), "rules": list(filters.get("rules") or [])}
    segment, created = Segment.objects.update_or_create(
        workspace=membership.workspace, name=name,
        defaults={"filters": clean},
        create_defaults={"filters": clean, "created_by": membership.user,
                         "created_at": clock.now()})
    activity_record(workspace=membership.workspace, actor=membership.user,
                    action="participants.segment_saved",
                    summary=f"{'Saved' if created else 'Updated'} the segment “{name}”",
                    data={"segment_id": str(segment.pk), "filters": clean})
    return segment


@transaction.atomic(durable=True)
def segment_delete(*, membership, segment):
    require(membership, Permission.EDIT_STUDY)
    if segment.workspace_id != membership.workspace_id:
        raise PermissionDenied
    deleted, _ = type(segment).objects.filter(pk=segment.pk).delete()
    if deleted:
        activity_record(workspace=membership.workspace, actor=membership.user,
                        action="participants.segment_deleted",
                        summary=f"Deleted the segment “{segment.name}”",
                        data={"segment_id": str(segment.pk)})


def _options_clean(type_, options_text, current=()):
    """Option labels (one a line) as [{"uid", "label"}]: an option whose label stays keeps its
    uid, so stored values keep meaning the same option."""
    from django.utils.text import slugify

    from rally.models import PropertyType

    if type_ not in (PropertyType.SINGLE_SELECT, PropertyType.MULTI_SELECT):
        return []
    labels = []
    for line in (options_text or "").splitlines():
        label = line.strip()
        if label and label.casefold() not in (known.casefold() for known in labels):
            labels.append(label[:120])
    if not labels:
        raise ValidationError({"options": "A select property needs at least one option "
                                          "(one a line)."})
    by_label = {option["label"].casefold(): option["uid"] for option in current}
    used = {option["uid"] for option in current}
    options = []
    for label in labels:
        uid = by_label.get(label.casefold())
        if uid is None:
            base = slugify(label).replace("-", "_")[:50] or "option"
            uid, n = base, 2
            while uid in used:
                uid, n = f"{base}_{n}", n + 1
            used.add(uid)
        options.append({"uid": uid, "label": label})
    return options


@transaction.atomic(durable=True)
def property_create(*, membership, label, key, type, options_text="", is_pii=False):
    """Define a new panel property (Admin, Ops Manager). The key defaults to the label's
    slug and never changes."""
    from django.utils.text import slugify

    from rally.services import property_define

    require(membership, Permission.MANAGE_PANEL)
    workspace = membership.workspace
    label = (label or "").strip()
    key = re.sub(r"_+", "_", slugify(key or label).replace("-", "_")).strip("_")[:60]
    if not label:
        raise ValidationError({"label": "Enter a label."})
    if not key:
        raise ValidationError({"key": "Enter a key made of letters, digits and underscores."})
    if key in FIELD_KEYS:
        raise ValidationError({"key": f"“{key}” is a field every person has; choose "
                                      "another key."})
    if PropertyDefinition.objects.filter(workspace=workspace, key=key).exists():
        raise ValidationError({"key": f"A property with the key “{key}” exists already."})
    options = _options_clean(type, options_text)
    definition = property_define(workspace=workspace, key=key, label=label, type=type,
                                 options=options, is_pii=bool(is_pii))
    activity_record(workspace=workspace, actor=membership.user,
                    action="participants.property_defined",
                    summary=f"Added the property “{definition.label}” "
                            f"({definition.get_type_display()})",
                    data={"key": definition.key, "type": definition.type})
    return definition


#: Keys a property can't take: they name the fields every panel person has.
FIELD_KEYS = {"email", "first_name", "last_name", "name", "time_zone"}


@transaction.atomic(durable=True)
def property_update(*, membership, definition, label, type, options_text="", is_pii=False):
    """Change a property's label, options or PII flag. Its type changes only while no one has
    a value for it, and an option someone has can't be removed."""
    require(membership, Permission.MANAGE_PANEL)
    definition = PropertyDefinition.objects.select_for_update().get(
        pk=definition.pk, workspace=membership.workspace)
    label = (label or "").strip()
    if not label:
        raise ValidationError({"label": "Enter a label."})
    from rally.models import PropertyType

    if type not in PropertyType.values:
        raise ValidationError({"type": "Choose one of the listed property types."})
    holders = Participant.objects.filter(workspace=membership.workspace,
                                         kind=Participant.Kind.PANEL,
                                         properties__has_key=definition.key)
    if type != definition.type and holders.exists():
        raise ValidationError({"type": f"People have values for “{definition.label}”, so "
                                       "its type can’t change."})
    options = _options_clean(type, options_text,
                             current=definition.options if type == definition.type else ())
    removed = {o["uid"] for o in definition.options} - {o["uid"] for o in options}
    if removed and type == definition.type:
        in_use = []
        for option in definition.options:
            if option["uid"] not in removed:
                continue
            lookup = ({f"properties__{definition.key}__contains": option["uid"]}
                      if type == PropertyType.MULTI_SELECT
                      else {f"properties__{definition.key}": option["uid"]})
            if holders.filter(**lookup).exists():
                in_use.append(option["label"])
        if in_use:
            raise ValidationError({"options": "People have the option"
                                              f"{'s' if len(in_use) > 1 else ''} "
                                              f"{', '.join(in_use)}: keep "
                                              f"{'them' if len(in_use) > 1 else 'it'}."})
    changes = []
    if label != definition.label:
        changes.append("label")
    if type != definition.type:
        changes.append("type")
    if options != definition.options:
        changes.append("options")
    if bool(is_pii) != definition.is_pii:
        changes.append("PII flag")
    if not changes:
        return definition
    definition.label, definition.type = label, type
    definition.options, definition.is_pii = options, bool(is_pii)
    definition.save(update_fields=["label", "type", "options", "is_pii"])
    activity_record(workspace=membership.workspace, actor=membership.user,
                    action="participants.property_changed",
                    summary=f"Changed the {', '.join(changes)} of the property "
                            f"“{definition.label}”",
                    data={"key": definition.key, "changes": changes})
    return definition


# A privacy request: erase a person of the panel -------------------------------------------


def person_pseudonym(participant):
    """A stable pseudonym for an erased person ("Erased person 3F9A1C"), from their id."""
    return f"Erased person {participant.pk.hex[:6].upper()}"


@transaction.atomic(durable=True)
def person_erase(*, membership, participant):
    """Erase a person of the workspace's own panel on request: their name, email, time zone,
    properties and the subjects of emails sent to them are removed; their applications,
    sessions, payouts and the ledger stay (money must add up) under a pseudonym, and they are
    never invited again. One activity entry names who erased them. Erasing twice changes
    nothing more."""
    if not membership.allows(Permission.MANAGE_PANEL):
        raise PermissionDenied
    person = Participant.objects.select_for_update().get(
        pk=participant.pk, workspace=membership.workspace, kind=Participant.Kind.PANEL)
    pseudonym = person_pseudonym(person)
    if person.first_name == pseudonym:
        return person
    now = clock.now()
    person.first_name, person.last_name, person.last_initial = pseudonym, "", ""
    # Panel people must have an email, unique in the workspace: an address that reaches no one.
    person.email = f"erased-{person.pk.hex}@erased.invalid"
    person.time_zone = ""
    person.properties = {}
    person.opted_out_at = person.opted_out_at or now
    person.updated_at = now
    person.save(update_fields=["first_name", "last_name", "last_initial", "email", "time_zone",
                               "properties", "opted_out_at", "updated_at"])
    Contact.objects.filter(participant=person).update(subject="(erased)")
    Payout.objects.filter(application_id__in=Application.objects.filter(
        participant=person).values("pk")).update(participant_label=pseudonym, updated_at=now)
    activity_record(workspace=membership.workspace, actor=membership.user,
                    action="participants.person_erased",
                    summary=f"Erased a panel person's personal data ({pseudonym})",
                    data={"participant_id": str(person.pk), "pseudonym": pseudonym})
    return person
