"""Reads on applications that views and other apps share, scoped to one study; and the
workspace's people directory (its people, filters, segments)."""

from django.core.exceptions import ValidationError
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Lower
from django.http import Http404

from participants import properties as props
from participants.models import Application, Contact, Participant, PeopleImport, Segment
from rally.models import PropertyDefinition, PropertyType
from rally.selectors import get_workspace_object_for_user
from studies.selectors import get_study_for_user

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


def _one_or_404(rows, **lookup):
    """The one row matching `lookup`, or 404 for anything else: a missing row, another
    workspace's or study's, or an id that is not even well-formed."""
    try:
        return rows.get(**lookup)
    except (rows.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404 from exc


def application_get_for_study(*, study, application_id):
    """One application of `study` (404 for any other id: another study's, or garbage)."""
    return _one_or_404(Application.objects.select_related("participant"), pk=application_id,
                       study=study)


def get_application_for_user(membership, study_id, application_id, *, permission):
    """One application of a study of the member's workspace: 404 for an unknown study or an
    application of another study, 403 when the member may not do `permission` on the study
    (get_study_for_user decides, team-aware). The study is the application's `study`."""
    study = get_study_for_user(membership, study_id, permission=permission)
    application = application_get_for_study(study=study, application_id=application_id)
    application.study = study  # already read, with its team
    return application


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


# The panel (SPEC P6) -------------------------------------------------------------------------
#
# Filters: {"q": "free text over name/email", "rules": [{"property", "op", "value"}]}, all
# rules AND-ed; the operators each property type takes are `properties.OPS_BY_TYPE`.

#: The most rules one filter holds.
FILTER_RULES_MAX = 20


def property_definitions(*, workspace):
    """The workspace's property definitions, by label."""
    return list(PropertyDefinition.objects.filter(workspace=workspace).order_by("label", "key"))


def _normalized(filters):
    if filters is None:
        return "", [], []
    if not isinstance(filters, dict):
        return "", [], ["Filters must be an object with “q” and “rules”."]
    q = filters.get("q") or ""
    rules = filters.get("rules") or []
    problems = []
    if not isinstance(q, str):
        problems.append("The search text must be text.")
        q = ""
    if not isinstance(rules, list):
        problems.append("Filter rules must be a list.")
        rules = []
    return q.strip(), rules, problems


def _rule_problem(rule, definitions):
    """(problem, cleaned value) for one rule."""
    if not isinstance(rule, dict):
        return "A filter rule must name a property, an operator and a value.", None
    key, op, value = rule.get("property"), rule.get("op"), rule.get("value")
    definition = definitions.get(key) if isinstance(key, str) else None
    if definition is None:
        return f"“{key}” is not a property of this workspace.", None
    if op not in props.OPS_BY_TYPE[definition.type]:
        allowed = ", ".join(props.OP_LABELS[o] for o in props.OPS_BY_TYPE[definition.type])
        return (f"{definition.label}: “{op}” is not an operator for this property "
                f"(use {allowed})."), None
    if op in props.VALUELESS_OPS:
        return None, None
    if op == "in":
        values = value if isinstance(value, list) else [value]
        values = [v for v in values if not props.is_empty(v)]
        if not values:
            return f"{definition.label}: choose at least one option.", None
        try:
            return None, [props.option_uid(definition, v) for v in values]
        except ValueError as exc:
            return f"{definition.label}: {exc}.", None
    if props.is_empty(value):
        return f"{definition.label}: enter a value to compare with.", None
    if op == "contains":
        return None, str(value).strip()
    try:
        if definition.type == PropertyType.MULTI_SELECT:
            raise ValueError("use “is any of”")
        return None, props.coerce(definition, value)
    except ValueError as exc:
        return f"{definition.label}: {exc}.", None


def _rules_checked(*, workspace, filters):
    q, rules, problems = _normalized(filters)
    if len(rules) > FILTER_RULES_MAX:
        problems.append(f"Use at most {FILTER_RULES_MAX} filter rules.")
        rules = rules[:FILTER_RULES_MAX]
    definitions = {d.key: d for d in PropertyDefinition.objects.filter(workspace=workspace)}
    checked = []
    for rule in rules:
        problem, value = _rule_problem(rule, definitions)
        if problem:
            problems.append(problem)
        else:
            checked.append((definitions[rule["property"]], rule["op"], value))
    return q, checked, problems


def people_filter_problems(*, workspace, filters):
    """What is wrong with `filters` for this workspace's properties (empty when usable)."""
    return _rules_checked(workspace=workspace, filters=filters)[2]


def _rule_q(queryset, index, definition, op, value):
    key = definition.key
    alias = f"_rule{index}"
    queryset = queryset.alias(**{alias: KeyTransform(key, "properties")})
    is_set = Q(properties__has_key=key)
    if op == "is_set":
        return queryset, is_set
    if op == "not_set":
        return queryset, ~is_set
    if op == "is_true":
        return queryset, Q(**{alias: True})
    if op == "is_false":
        return queryset, Q(**{alias: False})
    if op == "in":
        if definition.type == PropertyType.MULTI_SELECT:
            return queryset, Q(**{f"{alias}__has_any_keys": value})
        return queryset, Q(**{f"{alias}__in": value})
    if definition.type == PropertyType.TEXT and op in ("eq", "neq", "contains"):
        text_alias = f"_rule{index}_text"
        queryset = queryset.alias(**{text_alias: KeyTextTransform(key, "properties")})
        lookup = "icontains" if op == "contains" else "iexact"
        matched = is_set & Q(**{f"{text_alias}__{lookup}": value})
        return queryset, (~matched if op == "neq" else matched)
    if op in ("eq", "neq"):
        matched = is_set & Q(**{alias: value})
        return queryset, (~matched if op == "neq" else matched)
    return queryset, is_set & Q(**{f"{alias}__{op}": value})


def people_matching(*, workspace, filters=None):
    """The workspace's panel people matching `filters`, ordered by name.

    Raises ValidationError listing the problems when the filters are not usable
    (`people_filter_problems` says the same without raising).
    """
    q, checked, problems = _rules_checked(workspace=workspace, filters=filters)
    if problems:
        raise ValidationError(problems)
    people = Participant.objects.filter(workspace=workspace, kind=Participant.Kind.PANEL)
    for word in q.split()[:10]:  # every word matches the name or the email
        people = people.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word)
                               | Q(email__icontains=word))
    for index, (definition, op, value) in enumerate(checked):
        people, condition = _rule_q(people, index, definition, op, value)
        people = people.filter(condition)
    return people.order_by("first_name", "last_name", "email", "id")


#: Property types the directory sorts by (a multi select holds several values: no one order).
SORTABLE_TYPES = (PropertyType.TEXT, PropertyType.NUMBER, PropertyType.DATE,
                  PropertyType.BOOLEAN, PropertyType.SINGLE_SELECT)

NAME_ORDER = ("first_name", "last_name", "email", "id")


def _property_sort_key(definition):
    """The value people are ordered by for one property, NULL when they have none.

    Only values of the property's own JSON type count (a value stored under an earlier type
    is treated as missing rather than failing a cast): numbers numerically, dates by date
    (stored ISO 2026-03-31, so their text orders by date), booleans No before Yes, text
    case-insensitively, single selects by their option's label (alphabetically; a uid that
    is no longer an option counts as missing)."""
    key = definition.key
    json_type = Func(KeyTransform(key, "properties"), function="jsonb_typeof",
                     output_field=CharField())
    text = KeyTextTransform(key, "properties")
    kind = definition.type
    if kind == PropertyType.NUMBER:
        return Case(When(Q(_sort_type="number"), then=Cast(text, FloatField())),
                    output_field=FloatField()), json_type
    if kind == PropertyType.BOOLEAN:
        return Case(
            When(Q(_sort_type="boolean", _sort_text="false"), then=Value(0)),
            When(Q(_sort_type="boolean", _sort_text="true"), then=Value(1)),
            output_field=IntegerField()), json_type
    if kind == PropertyType.SINGLE_SELECT:
        by_label = sorted(definition.options,
                          key=lambda option: (option["label"].casefold(), option["uid"]))
        whens = [When(Q(_sort_type="string", _sort_text=option["uid"]), then=Value(rank))
                 for rank, option in enumerate(by_label)]
        if not whens:
            return Value(None, output_field=IntegerField()), json_type
        return Case(*whens, output_field=IntegerField()), json_type
    # Text and dates.
    return Case(When(Q(_sort_type="string"), then=Lower(text)),
                output_field=CharField()), json_type


def people_by_property(people, *, definition, descending=False):
    """`people` ordered by one property's value (see `_property_sort_key`), people without a
    value last either way, then by name. ValueError for a type that does not sort."""
    if definition.type not in SORTABLE_TYPES:
        raise ValueError(f"{definition.label} does not sort.")
    sort_key, json_type = _property_sort_key(definition)
    people = people.alias(_sort_type=json_type,
                          _sort_text=KeyTextTransform(definition.key, "properties"),
                          _sort_value=sort_key)
    value = F("_sort_value")
    first = value.desc(nulls_last=True) if descending else value.asc(nulls_last=True)
    return people.order_by(first, *NAME_ORDER)


def get_person_for_user(membership, participant_id, *, permission):
    """One panel person of the member's workspace: 404 for anything else, 403 when the role
    may not do `permission` (rally.selectors.get_workspace_object_for_user)."""
    return get_workspace_object_for_user(
        membership, Participant.objects.filter(kind=Participant.Kind.PANEL), participant_id,
        permission=permission)


def person_history(*, participant):
    """(applications with their study, contacts with their study) of one person."""
    applications = list(participant.applications.select_related("study")
                         .order_by("-applied_at"))
    contacts = list(Contact.objects.filter(participant=participant)
                    .select_related("study", "sent_by").order_by("-sent_at")[:200])
    return applications, contacts


def segments_for_workspace(*, workspace):
    return list(Segment.objects.filter(workspace=workspace).order_by("name"))


def segment_get(*, workspace, segment_id):
    return _one_or_404(Segment.objects, pk=segment_id, workspace=workspace)


def get_segment_for_user(membership, segment_id, *, permission):
    return get_workspace_object_for_user(membership, Segment.objects, segment_id,
                                         permission=permission)


def get_people_import_for_user(membership, import_id, *, permission):
    return get_workspace_object_for_user(membership, PeopleImport.objects, import_id,
                                         permission=permission)


def get_property_definition_for_user(membership, definition_id, *, permission):
    return get_workspace_object_for_user(membership, PropertyDefinition.objects,
                                         definition_id, permission=permission)


def property_value_counts(*, workspace, definitions):
    """{key: how many panel people have a value for it}, in one query."""
    if not definitions:
        return {}
    people = Participant.objects.filter(workspace=workspace, kind=Participant.Kind.PANEL)
    counts = people.aggregate(**{
        f"n{index}": Count("id", filter=Q(properties__has_key=definition.key))
        for index, definition in enumerate(definitions)})
    return {definition.key: counts[f"n{index}"] for index, definition in enumerate(definitions)}
