"""The workspace's people directory ("the panel", SPEC P6): the Participants page with its
filters and segments, a person's profile, property definitions, and CSV import."""

import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from participants import directory, imports, selectors
from participants import properties as props
from participants.consent import consent_agreements_for_participant
from participants.directory_forms import (
    ImportMappingForm,
    ImportStartForm,
    ImportUploadForm,
    PersonForm,
    PropertyForm,
    SegmentForm,
)
from participants.imports import ImportFileError
from participants.models import PeopleImport
from rally.lists import ListQuery, page_of, sort_param
from rally.models import PropertyType
from rally.permissions import Permission
from rally.selectors import require_permission

PAGE_SIZE = 50
COLUMNS_MAX = 6


def _viewer(request):
    return require_permission(request.membership, Permission.VIEW)


def _sees_pii(membership):
    return membership.allows(Permission.MANAGE_PANEL)


def _definitions(membership):
    """The property definitions this member may read (PII only for Admins and Ops
    Managers)."""
    definitions = selectors.property_definitions(workspace=membership.workspace)
    if _sees_pii(membership):
        return definitions
    return [d for d in definitions if not d.is_pii]


# Filters in the URL: q=text, f=property:op:value (repeated), cols=property (repeated) ------


def rule_from_param(param):
    key, _, rest = param.partition(":")
    op, _, value = rest.partition(":")
    rule = {"property": key, "op": op}
    if op == "in":
        rule["value"] = [part.strip() for part in value.split(",") if part.strip()]
    elif op not in props.VALUELESS_OPS:
        rule["value"] = value
    return rule


def rule_to_param(rule):
    value = rule.get("value")
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if rule.get("op") in props.VALUELESS_OPS:
        return f"{rule['property']}:{rule['op']}"
    return f"{rule['property']}:{rule['op']}:{value if value is not None else ''}"


#: Sortable columns of the directory: key → (label, fields).
SORTS = {
    "name": ("Name", ("first_name", "last_name", "email", "id")),
    "email": ("Email", ("email", "id")),
    "time_zone": ("Time zone", ("time_zone", "first_name", "last_name", "id")),
}


def _directory_query(*, q, rules, cols, sort):
    """The directory's query string, in its URL order: q, f (rules), cols, sort."""
    return ListQuery(reverse("participants:people_directory"),
                     {"q": q, "f": _rule_params(rules), "cols": list(cols), "sort": sort},
                     default_sort="name")


def _rule_params(rules):
    return [rule_to_param(rule) for rule in rules]


def _rule_label(rule, by_key):
    definition = by_key.get(rule.get("property"))
    if definition is None:
        return f"{rule.get('property')} {rule.get('op')}"
    words = f"{definition.label} {props.OP_LABELS.get(rule['op'], rule['op'])}"
    if rule["op"] in props.VALUELESS_OPS:
        return words
    values = rule.get("value")
    values = values if isinstance(values, list) else [values]
    shown = []
    for value in values:
        if definition.type in (PropertyType.SINGLE_SELECT, PropertyType.MULTI_SELECT):
            with contextlib.suppress(ValueError):
                value = props.display(definition, props.option_uid(definition, value))
        shown.append(str(value))
    return f"{words} {', '.join(shown)}"


def _filter_problems(membership, filters, visible):
    problems = selectors.people_filter_problems(workspace=membership.workspace, filters=filters)
    keys = {d.key for d in visible}
    for rule in filters["rules"]:
        if (isinstance(rule, dict) and rule.get("property") not in keys
                and not any(str(rule.get("property")) in p for p in problems)):
            problems.append(f"“{rule.get('property')}” is not a property you can filter by.")
    return problems


@login_required
@require_GET
def people_directory(request):
    membership = _viewer(request)
    definitions = _definitions(membership)
    by_key = {d.key: d for d in definitions}
    q = request.GET.get("q", "").strip()[:200]
    rules = [rule_from_param(param) for param in request.GET.getlist("f")[:20]]
    cols = [key for key in dict.fromkeys(request.GET.getlist("cols")) if key in by_key]
    cols = cols[:COLUMNS_MAX]
    segment_id = request.GET.get("segment", "")
    sort = sort_param(request.GET.get("sort"), default="name", allowed={
        *SORTS, *(f"{PROPERTY_SORT}{key}" for key in cols
                  if by_key[key].type in selectors.SORTABLE_TYPES)})
    add = {"property": request.GET.get("add_property", ""),
           "op": request.GET.get("add_op", ""), "value": request.GET.get("add_value", "")}
    if request.htmx and request.GET.get("filter_ops"):
        # The property changed in the filter builder: its operators and a hint for its value.
        definition = by_key.get(add["property"])
        return render(request, "participants/people_directory.html#filter_operator", {
            "ops": _ops_for(definition), "add": add, "value_hint": _value_hint(definition)})
    problems = []
    if add["property"] or add["op"]:
        # "Add filter": check the new rule with the others; keep it in the URL when usable.
        new_rule = rule_from_param(rule_to_param(add))
        candidate = {"q": q, "rules": [*rules, new_rule]}
        problems = _filter_problems(membership, candidate, definitions)
        if not problems:
            return redirect(_directory_query(q=q, rules=candidate["rules"], cols=cols,
                                             sort=sort).url())
    filters = {"q": q, "rules": rules}
    rule_problems = _filter_problems(membership, filters, definitions)
    if rule_problems:
        problems += rule_problems
        people = selectors.people_matching(workspace=membership.workspace, filters={"q": q})
        usable = []
    else:
        people = selectors.people_matching(workspace=membership.workspace, filters=filters)
        usable = rules
    sorted_by = _sorted_property(sort, cols, by_key)
    if sorted_by is not None:
        people = selectors.people_by_property(people, definition=sorted_by,
                                                    descending=sort.startswith("-"))
    else:
        fields = SORTS[sort.lstrip("-")][1]
        people = people.order_by(*(f"-{f}" if sort.startswith("-") else f for f in fields))
    page = page_of(people.only("id", "first_name", "last_name", "email", "time_zone",
                               "properties", "opted_out_at", "kind"), request.GET, PAGE_SIZE)
    columns = [by_key[key] for key in cols]
    rows = [{"person": person,
             "values": [props.display(d, person.properties.get(d.key)) for d in columns]}
            for person in page.object_list]
    segments = selectors.segments_for_workspace(workspace=membership.workspace)
    segment = next((s for s in segments if str(s.pk) == segment_id), None)
    query = _directory_query(q=q, rules=usable, cols=cols, sort=sort)
    return render(request, "participants/people_directory.html", {
        "definitions": definitions,
        "rows": rows,
        "page": page,
        "columns": columns,
        "q": q,
        "rules": usable,
        "chips": [{"label": _rule_label(rule, by_key),
                   "url": query.url(f=_rule_params([r for r in usable if r is not rule]))}
                  for rule in usable],
        "problems": list(dict.fromkeys(problems)),
        "add": add,
        "ops": _ops_for(None),
        "value_hint": _value_hint(None),
        "params": query.pairs(q=""),
        "sort_columns": [query.sort_link(key, SORTS[key][0]) for key in SORTS],
        "property_columns": [_property_column(d, query) for d in columns],
        "filter_params": [("f", param) for param in _rule_params(usable)],
        "segments": [{"segment": s, "url": query.url(
            q=s.filters.get("q", ""), f=_rule_params(s.filters.get("rules", [])),
            sort="name", segment=str(s.pk))} for s in segments],
        "segment": segment,
        "segment_form": SegmentForm(initial={"name": segment.name if segment else ""}),
        "filtered": bool(q or usable),
        "clear_url": query.url(q="", f=[]),
        "pages": query.page_links(page),
        "can_edit": membership.allows(Permission.EDIT_STUDY),
        "can_manage": membership.allows(Permission.MANAGE_PANEL),
        "can_delete_segments": membership.allows(Permission.EDIT_STUDY),
    })


#: A property column's sort key in the URL: sort=p:<key> (ascending), sort=-p:<key>.
PROPERTY_SORT = "p:"


def _sorted_property(sort, cols, by_key):
    """The definition `sort` orders by, when it names a shown column of a type that sorts."""
    key = sort.lstrip("-").removeprefix(PROPERTY_SORT)
    if not sort.lstrip("-").startswith(PROPERTY_SORT) or key not in cols:
        return None
    definition = by_key.get(key)
    if definition is None or definition.type not in selectors.SORTABLE_TYPES:
        return None
    return definition


def _property_column(definition, query):
    """A property column's header: a sort link (none for a multi select)."""
    if definition.type not in selectors.SORTABLE_TYPES:
        return {"definition": definition, "aria_sort": None, "url": None}
    return {"definition": definition,
            **query.sort_link(f"{PROPERTY_SORT}{definition.key}", definition.label)}


def _ops_for(definition):
    """(op, label) a property takes; every operator when none is chosen (without JavaScript
    the list can't follow the property, and the server says when a pair does not fit)."""
    ops = props.OPS_BY_TYPE[definition.type] if definition else props.ALL_OPS
    return [(op, props.OP_LABELS[op]) for op in ops]


VALUE_HINTS = {
    PropertyType.TEXT: "Text to compare with (any case).",
    PropertyType.NUMBER: "A number, like 250.",
    PropertyType.DATE: "A date like 2026-03-31.",
    PropertyType.BOOLEAN: "No value needed.",
}


def _value_hint(definition):
    if definition is None:
        return ("Dates as YYYY-MM-DD; for “is any of”, options separated by commas. Leave "
                "empty for “is set”, “is yes”…")
    if definition.type in VALUE_HINTS:
        return VALUE_HINTS[definition.type]
    labels = ", ".join(option["label"] for option in definition.options)
    return f"One of: {labels}. For “is any of”, separate several with commas."


@login_required
@require_POST
def people_segment_save(request):
    membership = require_permission(request.membership, Permission.EDIT_STUDY)
    definitions = _definitions(membership)
    q = request.POST.get("q", "").strip()[:200]
    rules = [rule_from_param(param) for param in request.POST.getlist("f")[:20]]
    cols = request.POST.getlist("cols")
    form = SegmentForm(request.POST)
    filters = {"q": q, "rules": rules}
    problems = _filter_problems(membership, filters, definitions)
    if not form.is_valid():
        messages.error(request, "Enter a name for the segment.")
    elif problems:
        messages.error(request, " ".join(problems))
    elif not (q or rules):
        messages.error(request, "Add a search or a filter first: a segment saves filters.")
    else:
        try:
            segment = directory.segment_save(membership=membership,
                                            name=form.cleaned_data["name"], filters=filters)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Saved the segment “{segment.name}”.")
            return redirect(_directory_query(q=q, rules=rules, cols=cols, sort="name")
                            .url(segment=str(segment.pk)))
    return redirect(_directory_query(q=q, rules=rules, cols=cols, sort="name").url())


@login_required
@require_POST
def people_segment_delete(request, segment_id):
    membership = request.membership
    segment = selectors.get_segment_for_user(membership, segment_id,
                                             permission=Permission.EDIT_STUDY)
    directory.segment_delete(membership=membership, segment=segment)
    messages.success(request, f"Deleted the segment “{segment.name}”.")
    return redirect("participants:people_directory")


# A person -------------------------------------------------------------------------------


@login_required
@require_GET
def person_profile(request, participant_id):
    membership = request.membership
    person = selectors.get_person_for_user(membership, participant_id,
                                           permission=Permission.VIEW)
    definitions = _definitions(membership)
    applications, contacts = selectors.person_history(participant=person)
    return render(request, "participants/person_profile.html", {
        "person": person,
        "agreements": list(consent_agreements_for_participant(person)),
        "values": [{"definition": d, "value": props.display(d, person.properties.get(d.key))}
                   for d in definitions],
        "applications": applications,
        "contacts": contacts,
        "can_edit": membership.allows(Permission.EDIT_STUDY),
        "can_erase": membership.allows(Permission.MANAGE_PANEL),
        "erased": person.first_name == directory.person_pseudonym(person),
        "sees_pii": _sees_pii(membership),
    })


@login_required
@require_POST
def person_erase(request, participant_id):
    """A privacy request: erase the person's personal data (Admins and Ops Managers)."""
    membership = request.membership
    person = selectors.get_person_for_user(membership, participant_id,
                                           permission=Permission.MANAGE_PANEL)
    directory.person_erase(membership=membership, participant=person)
    messages.success(request, "Their personal data was erased. Their studies, payments and "
                              "activity stay under a pseudonym; they are never invited again.")
    return redirect("participants:person_profile", participant_id=person.pk)


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request, participant_id=None):
    if participant_id is None:  # "Add a person"
        membership, person = require_permission(request.membership, Permission.EDIT_STUDY), None
    else:
        membership = request.membership
        person = selectors.get_person_for_user(membership, participant_id,
                                               permission=Permission.EDIT_STUDY)
    definitions = _definitions(membership)
    initial = PersonForm.initial_for(person, definitions) if person else None
    form = PersonForm(request.POST or None, initial=initial, definitions=definitions)
    if request.method == "POST" and form.is_valid():
        try:
            saved = directory.person_save(
                membership=membership, participant=person,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"], email=form.cleaned_data["email"],
                time_zone=form.cleaned_data["time_zone"], values=form.property_values())
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Saved {saved.display_name}.")
            return redirect("participants:person_profile", participant_id=saved.pk)
    return render(request, "participants/person_edit.html", {
        "person": person, "form": form, "time_zones": _common_time_zones(),
    }, status=400 if form.errors else 200)


def _common_time_zones():
    return sorted(zone for zone in imports._time_zones().values()
                  if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "posix/")))


# Properties -------------------------------------------------------------------------------


def _options_text(definition):
    return "\n".join(option["label"] for option in definition.options)


@login_required
@require_http_methods(["GET", "POST"])
def people_properties(request):
    membership = require_permission(request.membership, Permission.MANAGE_PANEL)
    form = PropertyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            definition = directory.property_create(
                membership=membership, label=form.cleaned_data["label"],
                key=form.cleaned_data["key"], type=form.cleaned_data["type"],
                options_text=form.cleaned_data["options"],
                is_pii=form.cleaned_data["is_pii"])
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Added the property “{definition.label}”.")
            return redirect("participants:people_properties")
    definitions = selectors.property_definitions(workspace=membership.workspace)
    return render(request, "participants/people_properties.html", {
        "definitions": definitions, "form": form,
        "counts": selectors.property_value_counts(workspace=membership.workspace,
                                                  definitions=definitions),
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def people_property_edit(request, definition_id):
    definition = selectors.get_property_definition_for_user(
        request.membership, definition_id, permission=Permission.MANAGE_PANEL)
    membership = request.membership
    form = PropertyForm(request.POST or None, editing=True, initial={
        "label": definition.label, "type": definition.type,
        "options": _options_text(definition), "is_pii": definition.is_pii})
    if request.method == "POST" and form.is_valid():
        try:
            directory.property_update(
                membership=membership, definition=definition,
                label=form.cleaned_data["label"], type=form.cleaned_data["type"],
                options_text=form.cleaned_data["options"],
                is_pii=form.cleaned_data["is_pii"])
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, f"Saved the property “{form.cleaned_data['label']}”.")
            return redirect("participants:people_properties")
    counts = selectors.property_value_counts(workspace=membership.workspace,
                                             definitions=[definition])
    return render(request, "participants/people_property_edit.html", {
        "definition": definition, "form": form, "holders": counts.get(definition.key, 0),
    }, status=400 if form.errors else 200)


# CSV import -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def people_import_upload(request):
    membership = require_permission(request.membership, Permission.MANAGE_PANEL)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            people_import = imports.people_import_upload(
                membership=membership, file_name=upload.name, data=upload.read())
        except ImportFileError as error:
            form.add_error("file", str(error))
        else:
            return redirect("participants:people_import_review", import_id=people_import.pk)
    recent = PeopleImport.objects.filter(workspace=membership.workspace).only(
        "id", "file_name", "status", "created_count", "updated_count", "skipped_count",
        "invalid_count", "total_rows", "created_at")[:10]
    return render(request, "participants/import_upload.html", {
        "form": form, "recent": recent,
        "definitions": selectors.property_definitions(workspace=membership.workspace),
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def people_import_review(request, import_id):
    """The mapping, the preview with its validation report, and the import choices; once
    started, the progress and the outcome."""
    membership = request.membership
    people_import = selectors.get_people_import_for_user(membership, import_id,
                                                         permission=Permission.MANAGE_PANEL)
    definitions = selectors.property_definitions(workspace=membership.workspace)
    if people_import.status != PeopleImport.Status.MAPPING:
        return render(request, "participants/import_review.html", {
            "people_import": people_import, **_progress_context(people_import)})
    action = request.POST.get("action")
    mapping_form = ImportMappingForm(request.POST if action == "map" else None,
                                     mapping=people_import.mapping, definitions=definitions)
    start_form = ImportStartForm(request.POST if action == "start" else None)
    if action == "map" and mapping_form.is_valid():
        try:
            imports.people_import_map(membership=membership, people_import=people_import,
                                     targets=mapping_form.targets())
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("participants:people_import_review", import_id=people_import.pk)
    if action == "start" and start_form.is_valid():
        try:
            people_import = imports.people_import_start(
                membership=membership, people_import=people_import,
                on_duplicate=start_form.cleaned_data["on_duplicate"],
                only_valid=start_form.cleaned_data["only_valid"])
        except ValidationError as error:
            start_form.add_error(None, error.messages)
        else:
            if people_import.status == PeopleImport.Status.DONE:
                messages.success(request, imports.import_summary(
                    people_import.file_name, people_import.created_count,
                    people_import.updated_count, people_import.skipped_count,
                    people_import.invalid_count) + ".")
            return redirect("participants:people_import_review", import_id=people_import.pk)
    mapping_problems = imports.mapping_problems(people_import.mapping, definitions)
    context = {"people_import": people_import, "mapping_form": mapping_form,
               "start_form": start_form, "mapping_problems": mapping_problems}
    if not mapping_problems:
        try:
            _header, checked = imports.import_check(people_import, definitions=definitions)
        except ImportFileError as error:
            context["file_error"] = str(error)
        else:
            context.update(_preview(membership, people_import, checked, definitions))
    return render(request, "participants/import_review.html", context,
                  status=400 if start_form.errors else 200)


def _preview(membership, people_import, checked, definitions):
    by_key = {d.key: d for d in definitions}
    targets = [target for _, target in people_import.mapping if target]
    existing = imports.existing_emails(membership.workspace,
                                       [person.email for person in checked.people])
    preview_columns = []
    for target in targets:
        if target == "name":
            preview_columns += [("first_name", "First name"), ("last_name", "Last name")]
        elif target.startswith("property:"):
            definition = by_key[target.removeprefix("property:")]
            preview_columns.append((target, definition.label))
        else:
            preview_columns.append((target, imports.FIELD_TARGETS[target]))

    def cell(person, target):
        if target.startswith("property:"):
            definition = by_key[target.removeprefix("property:")]
            return props.display(definition, person.properties.get(definition.key))
        return getattr(person, target)

    return {
        "checked": checked,
        "preview_columns": [label for _, label in preview_columns],
        # An address is one long word: only its cell may break anywhere.
        "email_index": next((index for index, (target, _) in enumerate(preview_columns)
                             if target == "email"), None),
        "preview_rows": [{"row": person.row, "existing": person.email in existing,
                          "cells": [cell(person, target) for target, _ in preview_columns]}
                         for person in checked.people[:imports.PREVIEW_ROWS]],
        "report": checked.problems[:imports.REPORT_ROWS],
        "report_more": max(len(checked.problems) - imports.REPORT_ROWS, 0),
        "valid_count": len(checked.people),
        "existing_count": len(existing),
        "new_count": len(checked.people) - len(existing),
    }


def _progress_context(people_import):
    done = imports.import_progress(people_import)
    return {"progress": {"done": done, "total": people_import.total_rows,
                         "running": people_import.status == PeopleImport.Status.QUEUED},
            "summary": imports.import_summary(
                people_import.file_name, people_import.created_count,
                people_import.updated_count, people_import.skipped_count,
                people_import.invalid_count)}


@login_required
@require_GET
def people_import_progress(request, import_id):
    """The progress region alone (htmx polls it; 286 stops the polling once finished)."""
    people_import = selectors.get_people_import_for_user(request.membership, import_id,
                                                       permission=Permission.MANAGE_PANEL)
    context = {"people_import": people_import, **_progress_context(people_import)}
    response = render(request, "participants/import_review.html#progress", context)
    if not context["progress"]["running"] and request.htmx:
        return HttpResponse(response.content, status=286)
    return response
