"""CSV import into the workspace's people directory: read the file, map its columns, check
every row, then write all the rows (or, when the importer says so, all the valid ones) in one go.

Reading and checking are plain Python over the decoded text (kept on the PeopleImport row,
so a worker can run the import); writing is bulk, in chunks, with one lookup of existing
people per chunk, so 10,000 rows take a few statements per thousand rows.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from functools import cache

from django.core.cache import cache as progress_cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from participants import properties as props
from participants.models import Participant, PeopleImport
from rally import clock
from rally.models import PropertyDefinition
from rally.permissions import Permission, require
from rally.services import activity_record

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
#: Files up to this many rows import while the page waits; bigger ones in a worker.
INLINE_ROWS = 1000
CHUNK = 1000
PREVIEW_ROWS = 10
REPORT_ROWS = 200
RUN_TASK = "participants.panel_import_run"

#: Targets a column can map to besides properties ("" skips the column).
FIELD_TARGETS = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "name": "Full name (first and last)",
    "time_zone": "Time zone",
}
_FIELD_GUESSES = {
    "email": {"email", "e_mail", "email_address", "mail", "emailaddress"},
    "first_name": {"first_name", "firstname", "first", "given_name", "forename"},
    "last_name": {"last_name", "lastname", "last", "surname", "family_name"},
    "name": {"name", "full_name", "fullname", "participant", "person"},
    "time_zone": {"time_zone", "timezone", "tz", "zone"},
}


class ImportFileError(ValueError):
    """The file cannot be read as a CSV of people; the message says why and what to do."""


# Reading the file --------------------------------------------------------------------------


def file_decode(data):
    """(text, encoding label) of uploaded bytes: UTF-8 (with or without BOM), UTF-16 with a
    BOM, else Windows-1252. Raises ImportFileError for bytes none of them reads."""
    if not data:
        raise ImportFileError("The file is empty. Choose a CSV file with a header row and "
                              "one row per person.")
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"The file is {len(data) / 1024 / 1024:.1f} MB; the most one "
                              "import takes is 20 MB. Split it into smaller files.")
    if data.startswith(b"\xef\xbb\xbf"):
        return _decoded(data, "utf-8-sig", "UTF-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decoded(data, "utf-16", "UTF-16")
    if b"\x00" in data[:4096]:
        raise ImportFileError("This looks like a spreadsheet or other binary file, not a CSV. "
                              "Save it as “CSV UTF-8” and upload that.")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is neither UTF-8 nor Windows-1252 text: the byte "
            f"0x{data[exc.start]:02X} at position {exc.start + 1} can’t be read. Save it as "
            "“CSV UTF-8” and upload it again.") from exc


def _decoded(data, codec, label):
    try:
        return data.decode(codec), label
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file says it is {label} but the byte at position {exc.start + 1} is not. "
            "Save it as “CSV UTF-8” and upload it again.") from exc


def _dialect(text):
    first_line = text.split("\n", 1)[0]
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", ";", "\t")}
    delimiter = max(counts, key=counts.get)
    return delimiter if counts[delimiter] else ","


def csv_read(text):
    """(header, rows) of CSV text; each row is (row number as a spreadsheet counts it, cells).
    Blank lines are left out. Raises ImportFileError when the text is not a usable CSV."""
    delimiter = _dialect(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        header = None
        for cells in reader:
            if header is None:
                if not any(cell.strip() for cell in cells):
                    continue
                header = [cell.strip() for cell in cells]
                continue
            if not any(cell.strip() for cell in cells):
                continue
            rows.append((reader.line_num, cells))
            if len(rows) > MAX_ROWS:
                raise ImportFileError(f"The file has more than {MAX_ROWS:,} people; split it "
                                      "into smaller files.")
    except csv.Error as exc:
        raise ImportFileError(f"The file is not a well-formed CSV (line {reader.line_num}: "
                              f"{exc}). Check its quotes, or export it again.") from exc
    if header is None:
        raise ImportFileError("The file is empty. Choose a CSV file with a header row and "
                              "one row per person.")
    if any("@" in cell for cell in header):
        raise ImportFileError("The first row holds an email address, so it is not a header. "
                              "Add a first row naming the columns (for example Email, First "
                              "name, Last name) and upload again.")
    blank = [str(i + 1) for i, cell in enumerate(header) if not cell]
    if blank:
        raise ImportFileError(f"Column {', '.join(blank)} of the header row has no name. "
                              "Name every column (or delete the empty ones) and upload again.")
    seen = set()
    for cell in header:
        if cell.casefold() in seen:
            raise ImportFileError(f"Two columns are called “{cell}”. Give each column its own "
                                  "name and upload again.")
        seen.add(cell.casefold())
    if not rows:
        raise ImportFileError("The file has a header row but no people below it.")
    return header, rows


# Mapping -----------------------------------------------------------------------------------


def _norm(text):
    return slugify(text).replace("-", "_")


def mapping_guess(header, definitions):
    """[[header, target]] guessed from the column names: fields by their usual names,
    properties by key or label, anything else skipped."""
    by_name = {}
    for definition in definitions:
        by_name.setdefault(_norm(definition.key), f"property:{definition.key}")
        by_name.setdefault(_norm(definition.label), f"property:{definition.key}")
    used, mapping = set(), []
    for column in header:
        name = _norm(column)
        target = next((t for t, names in _FIELD_GUESSES.items() if name in names), None)
        target = target or by_name.get(name, "")
        if target in used:
            target = ""
        used.add(target)
        mapping.append([column, target])
    return mapping


def target_choices(definitions):
    """(value, label) of every target a column can take, for the mapping form."""
    return ([("", "Skip this column")] + list(FIELD_TARGETS.items())
            + [(f"property:{d.key}", f"Property: {d.label}") for d in definitions])


def mapping_problems(mapping, definitions):
    keys = {d.key for d in definitions}
    targets = [target for _, target in mapping if target]
    problems = []
    for target in sorted({t for t in targets if targets.count(t) > 1}):
        problems.append(f"{_target_label(target, definitions)} is chosen for more than one "
                        "column; choose it once.")
    for target in targets:
        if target.startswith("property:") and target.removeprefix("property:") not in keys:
            problems.append(f"“{target.removeprefix('property:')}” is not a property of "
                            "this workspace.")
        elif not target.startswith("property:") and target not in FIELD_TARGETS:
            problems.append(f"“{target}” is not something a column can be imported as.")
    if "email" not in targets:
        problems.append("Choose the column that holds the email address: people are "
                        "matched by email.")
    if "first_name" not in targets and "name" not in targets:
        problems.append("Choose the column that holds the first name (or the full name).")
    if "name" in targets and ("first_name" in targets or "last_name" in targets):
        problems.append("Use either a full name column or first and last name columns, "
                        "not both.")
    return problems


def _target_label(target, definitions):
    if target.startswith("property:"):
        key = target.removeprefix("property:")
        return next((f"Property “{d.label}”" for d in definitions if d.key == key), key)
    return FIELD_TARGETS.get(target, target)


# Checking the rows ---------------------------------------------------------------------------


@cache
def _time_zones():
    from zoneinfo import available_timezones

    return {name.casefold(): name for name in available_timezones()}


def time_zone_clean(raw):
    """The IANA name `raw` spells (any case), or raises ValueError."""
    text = (raw or "").strip()
    if not text:
        return ""
    name = _time_zones().get(text.casefold())
    if name is None:
        raise ValueError(f"“{text}” is not a time zone (use names like Europe/Berlin)")
    return name


@dataclass
class Person:
    row: int
    email: str
    first_name: str = ""
    last_name: str = ""
    time_zone: str = ""
    properties: dict = field(default_factory=dict)
    mapped: set = field(default_factory=set)  # fields the file sets: first_name, time_zone…


@dataclass
class Checked:
    people: list
    problems: list  # [(row, reason)]
    total: int

    @property
    def invalid_rows(self):
        return len({row for row, _ in self.problems})


def rows_check(header, rows, mapping, definitions):
    """Every row read into a Person, or into problems [(row, reason)]."""
    by_key = {d.key: d for d in definitions}
    targets = [target for _, target in mapping]
    width = len(header)
    people, problems, first_row_of = [], [], {}
    for row, cells in rows:
        if len(cells) > width and any(cell.strip() for cell in cells[width:]):
            problems.append((row, f"has {len(cells)} cells but the header names {width} "
                                  "columns"))
            continue
        if len(cells) < width:
            problems.append((row, f"has {len(cells)} cells but the header names {width} "
                                  "columns"))
            continue
        person, reasons = _person(row, cells, targets, by_key)
        if person is not None and person.email:
            first = first_row_of.setdefault(person.email, row)
            if first != row:
                reasons.append(f"repeats the email {person.email} of row {first}")
        if reasons:
            problems.extend((row, reason) for reason in reasons)
        else:
            people.append(person)
    return Checked(people=people, problems=problems, total=len(rows))


def _person(row, cells, targets, by_key):
    person, reasons = Person(row=row, email=""), []
    for cell, target in zip(cells, targets, strict=False):
        value = cell.strip()
        if not target:
            continue
        if target == "email":
            try:
                validate_email(value)
            except ValidationError:
                reasons.append(f"has no valid email (“{value}”)" if value
                               else "has no email")
            else:
                person.email = value.lower()
        elif target == "name":
            first, _, last = value.partition(" ")
            person.first_name, person.last_name = first.strip(), last.strip()
            person.mapped.update(("first_name", "last_name"))
        elif target in ("first_name", "last_name"):
            setattr(person, target, value)
            person.mapped.add(target)
        elif target == "time_zone":
            try:
                person.time_zone = time_zone_clean(value)
            except ValueError:
                # Each reason reads after "Row 6 …" in the report.
                reasons.append(f"has “{value}” as its time zone, which is not a time zone "
                               f"name (use names like Europe/Berlin)")
            else:
                person.mapped.add("time_zone")
        else:
            definition = by_key[target.removeprefix("property:")]
            try:
                stored = props.coerce(definition, value)
            except ValueError as exc:
                reasons.append(f"has a value for {definition.label} that does not fit: {exc}")
            else:
                if stored is not None:
                    person.properties[definition.key] = stored
    if not person.first_name:
        reasons.append("has no first name")
    elif len(person.first_name) > 150 or len(person.last_name) > 150:
        reasons.append("has a name longer than 150 characters")
    return person, reasons


def import_check(people_import, *, definitions=None):
    """(header, Checked) of an import with its current mapping."""
    if definitions is None:
        definitions = list(PropertyDefinition.objects.filter(
            workspace_id=people_import.workspace_id))
    header, rows = csv_read(people_import.csv_text)
    return header, rows_check(header, rows, people_import.mapping, definitions)


def existing_emails(workspace, emails):
    """Which of `emails` are already panel people of the workspace (chunked lookups)."""
    found = set()
    emails = list(emails)
    for start in range(0, len(emails), 5000):
        found.update(Participant.objects.filter(
            workspace=workspace, kind=Participant.Kind.PANEL,
            email__in=emails[start:start + 5000]).values_list("email", flat=True))
    return found


# Writing -----------------------------------------------------------------------------------


def progress_key(import_id):
    return f"panel_import:{import_id}:progress"


def import_progress(people_import):
    """How many rows have been written: a queued import being written reports through the
    cache (its rows commit all at once, at the end)."""
    if people_import.status == PeopleImport.Status.QUEUED:
        done = progress_cache.get(progress_key(people_import.pk))
        return min(int(done or 0), people_import.total_rows)
    if people_import.status == PeopleImport.Status.DONE:
        return people_import.total_rows
    return people_import.processed_rows


def people_import_run(*, import_id):
    """Write a queued import: all its rows and its Imported status in one transaction, or
    nothing (then it is marked failed, with the reason). The import's row stays locked while
    it is written, so a second run at the same time skips it, and a run that dies leaves it
    queued for the task's redelivery. Returns the import, or None when there was nothing to
    do."""
    try:
        with transaction.atomic(durable=True):
            people_import = (PeopleImport.objects.select_for_update(skip_locked=True)
                            .filter(pk=import_id, status=PeopleImport.Status.QUEUED).first())
            if people_import is None:
                return None
            _write(people_import)
    except (ImportFileError, ValidationError, IntegrityError) as exc:
        message = (str(exc) if isinstance(exc, ImportFileError)
                   else " ".join(getattr(exc, "messages", []))
                   if isinstance(exc, ValidationError)
                   else "Someone added some of these people while the file was importing. "
                        "Nothing was imported; import the file again.")
        PeopleImport.objects.filter(pk=import_id, status=PeopleImport.Status.QUEUED).update(
            status=PeopleImport.Status.FAILED, error=message[:500], finished_at=clock.now(),
            csv_text="")
    finally:
        progress_cache.delete(progress_key(import_id))
    return PeopleImport.objects.get(pk=import_id)


def _write(people_import):
    definitions = list(PropertyDefinition.objects.filter(
        workspace_id=people_import.workspace_id))
    problems = mapping_problems(people_import.mapping, definitions)
    if problems:
        raise ValidationError(problems)
    _, checked = import_check(people_import, definitions=definitions)
    if checked.problems and not people_import.only_valid:
        raise ValidationError(
            f"{_rows(checked.invalid_rows)} of the file "
            f"{'is' if checked.invalid_rows == 1 else 'are'} not valid and importing only the "
            "valid rows was not chosen. Nothing was imported.")
    workspace = people_import.workspace
    update = people_import.on_duplicate == PeopleImport.OnDuplicate.UPDATE
    created = updated = skipped = 0
    now = clock.now()
    for start in range(0, len(checked.people), CHUNK):
        chunk = checked.people[start:start + CHUNK]
        existing = {person.email: person for person in Participant.objects.select_for_update()
                    .filter(workspace=workspace, kind=Participant.Kind.PANEL,
                            email__in=[p.email for p in chunk])}
        new, changed = [], []
        for person in chunk:
            current = existing.get(person.email)
            if current is None:
                new.append(Participant(
                    workspace=workspace, kind=Participant.Kind.PANEL, email=person.email,
                    first_name=person.first_name, last_name=person.last_name,
                    last_initial="", time_zone=person.time_zone,
                    properties=person.properties, created_at=now, updated_at=now))
            elif update:
                # Only what the file holds changes: empty cells keep the stored value, and
                # an opted-out person stays opted out.
                if "first_name" in person.mapped:
                    current.first_name = person.first_name
                if "last_name" in person.mapped and person.last_name:
                    current.last_name = person.last_name
                if person.time_zone:
                    current.time_zone = person.time_zone
                current.properties = {**current.properties, **person.properties}
                current.updated_at = now
                changed.append(current)
            else:
                skipped += 1
        Participant.objects.bulk_create(new)
        Participant.objects.bulk_update(changed, ["first_name", "last_name", "time_zone",
                                                  "properties", "updated_at"])
        created += len(new)
        updated += len(changed)
        progress_cache.set(progress_key(people_import.pk), start + len(chunk), 3600)
    invalid = checked.invalid_rows if people_import.only_valid else 0
    PeopleImport.objects.filter(pk=people_import.pk).update(
        # The file's text (people's emails and properties) is not kept once it is in.
        status=PeopleImport.Status.DONE, csv_text="", total_rows=checked.total,
        processed_rows=checked.total, created_count=created, updated_count=updated,
        skipped_count=skipped, invalid_count=invalid, error="", finished_at=clock.now())
    actor = people_import.created_by
    activity_record(
        workspace=workspace, actor=actor, actor_label="" if actor else "task:people_import",
        action="participants.panel_imported",
        summary=import_summary(people_import.file_name, created, updated, skipped, invalid),
        data={"import_id": str(people_import.pk), "created": created, "updated": updated,
              "skipped": skipped, "invalid": invalid})


def _rows(count, noun="row"):
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def import_summary(file_name, created, updated, skipped, invalid):
    parts = [f"{created:,} new", f"{updated:,} updated"]
    if skipped:
        parts.append(f"{skipped:,} already in the panel skipped")
    if invalid:
        parts.append(f"{invalid:,} invalid row{'s' if invalid != 1 else ''} left out")
    return f"Imported {created + updated:,} people from {file_name} ({', '.join(parts)})"


def _safe_name(name):
    return re.sub(r"[\x00-\x1f]", "", name or "")[:255] or "upload.csv"


# The import's steps (services the pages call) --------------------------------------------------


def _same_workspace(membership, people_import):
    if people_import.workspace_id != membership.workspace_id:
        raise PermissionDenied


@transaction.atomic(durable=True)
def people_import_upload(*, membership, file_name, data):
    """Read an uploaded file (bytes) and keep it as an import waiting for its mapping,
    guessed from the header. Raises ImportFileError when the file is not a usable CSV."""
    require(membership, Permission.MANAGE_PANEL)
    text, encoding = file_decode(data)
    header, rows = csv_read(text)
    definitions = list(PropertyDefinition.objects.filter(workspace=membership.workspace))
    return PeopleImport.objects.create(
        workspace=membership.workspace, created_by=membership.user,
        file_name=_safe_name(file_name), encoding=encoding, csv_text=text,
        mapping=mapping_guess(header, definitions), total_rows=len(rows),
        created_at=clock.now())


@transaction.atomic(durable=True)
def people_import_map(*, membership, people_import, targets):
    """Set the target of each column (`targets`: one per header column, in order)."""
    require(membership, Permission.MANAGE_PANEL)
    _same_workspace(membership, people_import)
    people_import = PeopleImport.objects.select_for_update().get(pk=people_import.pk)
    if people_import.status != PeopleImport.Status.MAPPING:
        raise ValidationError("This file has already been imported.")
    header = [column for column, _ in people_import.mapping]
    if len(targets) != len(header):
        raise ValidationError("Choose what to do with every column.")
    mapping = [[column, target or ""] for column, target in zip(header, targets, strict=True)]
    definitions = list(PropertyDefinition.objects.filter(workspace=membership.workspace))
    problems = mapping_problems(mapping, definitions)
    people_import.mapping = mapping
    people_import.save(update_fields=["mapping"])
    return problems


def people_import_start(*, membership, people_import, on_duplicate, only_valid):
    """Queue the import with the importer's choices and run it: here when the file is
    small, in a worker otherwise. Refuses (ValidationError, nothing changed) when the mapping
    is incomplete, or when some rows are invalid and only the valid ones were not chosen."""
    require(membership, Permission.MANAGE_PANEL)
    _same_workspace(membership, people_import)
    if on_duplicate not in PeopleImport.OnDuplicate.values:
        raise ValidationError("Choose “Update existing” or “Skip existing”.")
    definitions = list(PropertyDefinition.objects.filter(workspace=membership.workspace))
    problems = mapping_problems(people_import.mapping, definitions)
    if problems:
        raise ValidationError(problems)
    _, checked = import_check(people_import, definitions=definitions)
    if not checked.people:
        raise ValidationError("No row of the file is valid: correct the file and upload "
                              "it again.")
    if checked.problems and not only_valid:
        raise ValidationError(
            f"{_rows(checked.invalid_rows)} {'is' if checked.invalid_rows == 1 else 'are'} "
            "not valid. Correct the file and upload it again, or choose to import only the "
            f"{_rows(len(checked.people), 'valid row')}. Nothing was imported.")
    with transaction.atomic(durable=True):
        started = PeopleImport.objects.filter(
            pk=people_import.pk, status=PeopleImport.Status.MAPPING).update(
            status=PeopleImport.Status.QUEUED, queued_at=clock.now(),
            on_duplicate=on_duplicate,
            only_valid=bool(only_valid), total_rows=checked.total, processed_rows=0)
        if not started:
            raise ValidationError("This file has already been imported.")
        if checked.total > INLINE_ROWS:
            transaction.on_commit(lambda: people_import_dispatch(people_import.pk))
    if checked.total <= INLINE_ROWS:
        people_import_run(import_id=people_import.pk)
    people_import.refresh_from_db()
    return people_import


def people_import_dispatch(import_id):
    """Ask a worker to run a queued import (by task name, after the commit that queued it)."""
    import logging

    from rally.celery import app

    try:
        app.send_task(RUN_TASK, args=[str(import_id)])
    except Exception:
        logging.getLogger(__name__).warning("panel import dispatch failed for %s", import_id)


#: A queued import gets this long for its first task before the sweep dispatches it again.
REDISPATCH_AFTER_SECONDS = 60


def people_imports_redispatch():
    """Dispatch again every import queued for a while (a task lost between the commit and
    the broker). Returns how many were dispatched."""
    from datetime import timedelta

    stale = clock.now() - timedelta(seconds=REDISPATCH_AFTER_SECONDS)
    ids = list(PeopleImport.objects.filter(status=PeopleImport.Status.QUEUED,
                                          queued_at__lt=stale).values_list("pk", flat=True))
    for import_id in ids:
        people_import_dispatch(import_id)
    return len(ids)
