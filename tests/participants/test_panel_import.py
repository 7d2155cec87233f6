"""CSV import into the panel (SPEC P6): reading the file, mapping, the validation report,
all-or-nothing writes, update vs skip, big files in a worker with progress."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from participants import imports
from participants.imports import ImportFileError, csv_read, file_decode
from participants.models import Participant, PeopleImport
from rally import clock
from rally.models import ActivityEntry
from rally.services import property_define
from tests.participants.factories import PanelPersonFactory

pytestmark = pytest.mark.django_db

UPLOAD = reverse("participants:people_import_upload")


@pytest.fixture
def definitions(workspace):
    return [
        property_define(workspace=workspace, key="plan", label="Plan", type="single_select",
                        options=["Free", "Pro", "Enterprise"]),
        property_define(workspace=workspace, key="seats", label="Seats", type="number"),
        property_define(workspace=workspace, key="renewal", label="Renewal date",
                        type="date"),
        property_define(workspace=workspace, key="beta", label="Beta tester", type="boolean"),
        property_define(workspace=workspace, key="tools", label="Tools", type="multi_select",
                        options=["Figma", "Miro"]),
    ]


@pytest.fixture
def worker(monkeypatch):
    """Stand in for the Celery worker: a dispatched import is recorded, run by `run()`."""
    from rally.celery import app

    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, args=(), **kw: sent.append(
        (name, list(args))))
    return sent


def upload(client, text, *, name="people.csv", encoding="utf-8"):
    data = text if isinstance(text, bytes) else text.encode(encoding)
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data, "text/csv")})


def start(client, people_import, **data):
    return client.post(reverse("participants:people_import_review", args=[people_import.pk]),
                       {"action": "start", "on_duplicate": "update", **data})


GOOD = ("Email,First name,Last name,Time zone,Plan,Seats,Renewal date,Beta tester,Tools\n"
        "ada@example.com,Ada,Lovelace,Europe/London,Pro,250,2027-01-31,yes,Figma;Miro\n"
        "BO@example.com,Bo,Chen,america/new_york,free,\"1,200\",,no,\n")


# Reading the file ---------------------------------------------------------------------------


def test_decode_utf8_with_and_without_bom_and_cp1252():
    assert file_decode("Zoë".encode()) == ("Zoë", "UTF-8")
    assert file_decode(b"\xef\xbb\xbfZo\xc3\xab") == ("Zoë", "UTF-8")
    assert file_decode("Zoë".encode("cp1252")) == ("Zoë", "Windows-1252")
    assert file_decode("Zoë".encode("utf-16")) == ("Zoë", "UTF-16")


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty"),
    (b"Email\x81\x8d,Name\n", "neither UTF-8 nor Windows-1252"),
    (b"PK\x03\x04\x00\x00binary", "not a CSV"),
    (b"\xef\xbb\xbfEmail,\xff\n", "says it is UTF-8"),
])
def test_unreadable_files_say_why(data, message):
    with pytest.raises(ImportFileError, match=message):
        file_decode(data)


def test_files_over_20_mb_are_refused(monkeypatch):
    monkeypatch.setattr(imports, "MAX_BYTES", 10)
    with pytest.raises(ImportFileError, match="20 MB"):
        file_decode(b"Email,Name\na@b.c,A\n")


@pytest.mark.parametrize(("text", "message"), [
    ("\n\n", "The file is empty"),
    ("Email,Name\n", "no people below it"),
    ("ada@example.com,Ada\nbo@example.com,Bo\n", "not a header"),
    ("Email,,Name\na@b.co,x,A\n", "Column 2 of the header row has no name"),
    ("Email,email\na@b.co,a@b.co\n", "Two columns are called"),
    ('Email,Name\n"a@b.co,Ada\n', "not a well-formed CSV"),
])
def test_malformed_csv_says_why(text, message):
    with pytest.raises(ImportFileError, match=message):
        csv_read(text)


def test_semicolons_and_tabs_are_delimiters_too():
    assert csv_read("Email;Name\na@b.co;Ada\n") == (["Email", "Name"], [(2, ["a@b.co", "Ada"])])
    assert csv_read("Email\tName\na@b.co\tAda\n")[1] == [(2, ["a@b.co", "Ada"])]


# Mapping and checking ----------------------------------------------------------------------


def test_mapping_is_guessed_from_headers(definitions):
    header = ["E-mail", "Full name", "TZ", "plan", "Renewal date", "Notes"]
    assert imports.mapping_guess(header, definitions) == [
        ["E-mail", "email"], ["Full name", "name"], ["TZ", "time_zone"],
        ["plan", "property:plan"], ["Renewal date", "property:renewal"], ["Notes", ""]]


def test_mapping_needs_email_and_a_name_once(definitions):
    problems = imports.mapping_problems([["a", "first_name"], ["b", "first_name"]], definitions)
    assert any("more than one column" in p for p in problems)
    assert any("email address" in p for p in problems)
    assert imports.mapping_problems([["a", "email"], ["b", "name"]], definitions) == []


def test_each_bad_row_is_reported_with_its_row_number(definitions):
    text = ("Email,First name,Time zone,Plan,Seats,Renewal date,Beta tester\n"
            "ok@example.com,Ok,,Pro,1,2026-01-01,yes\n"
            "not-an-email,Nemo,,,,,\n"
            "ok@example.com,Twin,,,,,\n"
            "tz@example.com,Tz,Mars/Base,,,,\n"
            "num@example.com,Num,,,many,,\n"
            "opt@example.com,Opt,,Gold,,,\n"
            "date@example.com,Date,,,,31/01/2026,\n"
            "bool@example.com,Bool,,,,,maybe\n"
            "short@example.com,Short\n"
            ",Nobody,,,,,\n")
    header, rows = csv_read(text)
    mapping = imports.mapping_guess(header, definitions)
    checked = imports.rows_check(header, rows, mapping, definitions)
    report = dict(checked.problems)
    assert [p.email for p in checked.people] == ["ok@example.com"]
    assert report[3] == "has no valid email (“not-an-email”)"
    assert report[4] == "repeats the email ok@example.com of row 2"
    assert report[5] == ("has “Mars/Base” as its time zone, which is not a time zone name "
                         "(use names like Europe/Berlin)")
    assert report[6] == "has a value for Seats that does not fit: “many” is not a number"
    assert report[7] == ("has a value for Plan that does not fit: “Gold” is not one of the "
                         "options (Free, Pro, Enterprise)")
    assert "is not a date like 2026-03-31" in report[8]
    assert report[9] == "has a value for Beta tester that does not fit: “maybe” is not yes or no"
    assert report[10] == "has 2 cells but the header names 7 columns"
    assert report[11] == "has no email"
    assert checked.invalid_rows == 9 and checked.total == 10


# Through the pages -----------------------------------------------------------------------


def test_happy_path_upload_map_preview_import(client_for, ops_manager, definitions,
                                              workspace):
    client = client_for(ops_manager)
    response = upload(client, GOOD)
    people_import = PeopleImport.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "participants:people_import_review", args=[people_import.pk])
    html = client.get(response.url).content.decode()
    assert "2. What each column holds" in html and "Property: Plan" in html
    assert "Lovelace" in html and "1200" in html  # preview of the rows as they will be
    assert "Import 2 people" in html and "Validation report" not in html
    response = start(client, people_import)
    assert response.status_code == 302
    people_import.refresh_from_db()
    assert people_import.status == "done" and people_import.created_count == 2
    assert people_import.csv_text == ""  # the people are in; their file is not kept
    ada = Participant.objects.get(email="ada@example.com")
    assert ada.kind == "panel" and ada.time_zone == "Europe/London"
    assert ada.properties == {"plan": "pro", "seats": 250, "renewal": "2027-01-31",
                              "beta": True, "tools": ["figma", "miro"]}
    bo = Participant.objects.get(email="bo@example.com")
    assert bo.time_zone == "America/New_York" and bo.properties == {
        "plan": "free", "seats": 1200, "beta": False}
    entry = ActivityEntry.objects.get(action="participants.panel_imported")
    assert entry.actor == ops_manager.user and "Imported 2 people from people.csv" in (
        entry.summary)
    html = client.get(reverse("participants:people_import_review",
                              args=[people_import.pk])).content.decode()
    assert "Imported 2 people from people.csv (2 new, 0 updated)" in html


def test_mapping_step_changes_what_columns_import_as(client_for, admin, definitions):
    client = client_for(admin)
    upload(client, "Contact,Given,Company plan,Ignore me\nx@example.com,Xia,Enterprise,zzz\n")
    people_import = PeopleImport.objects.get()
    url = reverse("participants:people_import_review", args=[people_import.pk])
    html = client.get(url).content.decode()
    assert "Choose the column that holds the email address" in html
    client.post(url, {"action": "map", "column_0": "email", "column_1": "first_name",
                      "column_2": "property:plan", "column_3": ""})
    people_import.refresh_from_db()
    assert people_import.mapping == [["Contact", "email"], ["Given", "first_name"],
                                    ["Company plan", "property:plan"], ["Ignore me", ""]]
    start(client, people_import)
    assert Participant.objects.get(email="x@example.com").properties == {"plan": "enterprise"}


def test_invalid_rows_import_nothing_unless_only_valid_is_chosen(client_for, admin,
                                                                 definitions):
    client = client_for(admin)
    upload(client, "Email,Name,Seats\na@example.com,A A,1\nbad,B B,2\nc@example.com,C C,x\n")
    people_import = PeopleImport.objects.get()
    url = reverse("participants:people_import_review", args=[people_import.pk])
    html = client.get(url).content.decode()
    assert "Validation report: 2 invalid rows" in html
    assert "Row 3 has no valid email (“bad”)" in html
    assert "Row 4 has a value for Seats that does not fit: “x” is not a number" in html
    assert "Import only the 1 valid row and leave out the 2 invalid ones" in html
    response = start(client, people_import)
    assert response.status_code == 400
    assert "2 rows are not valid" in response.content.decode()
    assert not Participant.objects.exists()
    people_import.refresh_from_db()
    assert people_import.status == "mapping"
    start(client, people_import, only_valid="on")
    people_import.refresh_from_db()
    assert (people_import.status, people_import.created_count, people_import.invalid_count) == (
        "done", 1, 2)
    assert list(Participant.objects.values_list("email", flat=True)) == ["a@example.com"]
    assert "1 new, 0 updated, 2 invalid rows left out" in ActivityEntry.objects.get(
        action="participants.panel_imported").summary


@pytest.mark.parametrize("policy", ["update", "skip"])
def test_existing_people_are_updated_or_skipped_and_stay_opted_out(
        client_for, admin, definitions, workspace, policy):
    opted_out_at = clock.now()
    ada = PanelPersonFactory(workspace=workspace, email="ada@example.com", first_name="Ada",
                             last_name="Byron", time_zone="Europe/Paris",
                             properties={"seats": 5, "beta": True}, opted_out_at=opted_out_at)
    client = client_for(admin)
    upload(client, "Email,First name,Last name,Seats,Plan\n"
                   "ADA@example.com,Ada,Lovelace,7,\nnew@example.com,New,Person,1,Pro\n")
    people_import = PeopleImport.objects.get()
    html = client.get(reverse("participants:people_import_review",
                              args=[people_import.pk])).content.decode()
    assert "Already in the panel" in html
    start(client, people_import, on_duplicate=policy)
    people_import.refresh_from_db()
    ada.refresh_from_db()
    assert Participant.objects.count() == 2
    assert ada.opted_out_at == opted_out_at
    if policy == "update":
        assert (people_import.created_count, people_import.updated_count) == (1, 1)
        assert ada.last_name == "Lovelace" and ada.time_zone == "Europe/Paris"
        assert ada.properties == {"seats": 7, "beta": True}
    else:
        assert (people_import.created_count, people_import.skipped_count) == (1, 1)
        assert ada.last_name == "Byron" and ada.properties == {"seats": 5, "beta": True}


def test_wrong_encoding_and_bad_files_are_refused_on_upload(client_for, admin):
    client = client_for(admin)
    response = upload(client, b"Email,Name\na@example.com,\x81\x8d\n")
    assert response.status_code == 400
    assert "neither UTF-8 nor Windows-1252" in response.content.decode()
    response = upload(client, "")
    assert response.status_code == 400
    assert not PeopleImport.objects.exists()
    response = upload(client, "Email,Name\nzoe@example.com,Zoë Ærø\n", encoding="cp1252")
    assert response.status_code == 302
    people_import = PeopleImport.objects.get()
    assert people_import.encoding == "Windows-1252"
    html = client.get(response.url).content.decode()
    assert "Zoë" in html and "the file is not UTF-8" in html


@pytest.mark.parametrize("persona", ["researcher", "observer"])
def test_only_admins_and_ops_managers_import(client_for, personas, persona, admin):
    client = client_for(personas[persona])
    assert client.get(UPLOAD).status_code == 403
    assert upload(client, GOOD).status_code == 403
    people_import = imports.people_import_upload(membership=admin, file_name="p.csv",
                                               data=GOOD.encode())
    url = reverse("participants:people_import_review", args=[people_import.pk])
    assert client.get(url).status_code == 403


def test_another_workspaces_import_is_404(client_for, outsider, admin, definitions):
    people_import = imports.people_import_upload(membership=admin, file_name="p.csv",
                                               data=GOOD.encode())
    for name in ("people_import_review", "people_import_progress"):
        url = reverse(f"participants:{name}", args=[people_import.pk])
        assert client_for(outsider).get(url).status_code == 404


def test_an_import_runs_once(client_for, admin, definitions):
    client = client_for(admin)
    upload(client, GOOD)
    people_import = PeopleImport.objects.get()
    start(client, people_import)
    response = start(client, people_import)
    assert response.status_code == 200 and Participant.objects.count() == 2
    assert imports.people_import_run(import_id=people_import.pk) is None


def _big_csv(count, *, bad_rows=()):
    lines = ["Email,First name,Last name,Seats,Plan,Renewal date"]
    for n in range(count):
        email = "broken" if n in bad_rows else f"person{n}@example.com"
        lines.append(f"{email},First{n},Last{n},{n},{'Pro' if n % 2 else 'Free'},2027-01-01")
    return "\n".join(lines) + "\n"


def test_ten_thousand_rows_import_in_a_worker_with_progress(
        client_for, admin, definitions, workspace, worker, django_capture_on_commit_callbacks):
    PanelPersonFactory(workspace=workspace, email="person7@example.com", first_name="Old",
                       opted_out_at=clock.now())
    client = client_for(admin)
    upload(client, _big_csv(10_000))
    people_import = PeopleImport.objects.get()
    assert people_import.total_rows == 10_000
    html = client.get(reverse("participants:people_import_review",
                              args=[people_import.pk])).content.decode()
    assert "10,000" in html and "Import 10,000 people" in html
    with django_capture_on_commit_callbacks(execute=True):
        start(client, people_import)
    assert worker == [(imports.RUN_TASK, [str(people_import.pk)])]
    progress_url = reverse("participants:people_import_progress", args=[people_import.pk])
    html = client.get(progress_url, headers={"HX-Request": "true"}).content.decode()
    assert "Imported 0 of 10,000" in html and 'data-hx-trigger="every 1s"' in html
    # Mid-run the worker reports through the cache.
    cache.set(imports.progress_key(people_import.pk), 4000)
    response = client.get(progress_url, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Imported 4,000 of 10,000" in response.content.decode()

    from participants.tasks import people_import_run
    people_import_run(str(people_import.pk))
    people_import.refresh_from_db()
    assert (people_import.status, people_import.created_count, people_import.updated_count) == (
        "done", 9_999, 1)
    assert Participant.objects.filter(workspace=workspace, kind="panel").count() == 10_000
    old = Participant.objects.get(email="person7@example.com")
    assert old.first_name == "First7" and old.opted_out_at is not None
    assert Participant.objects.get(email="person9999@example.com").properties == {
        "seats": 9999, "plan": "pro", "renewal": "2027-01-01"}
    response = client.get(progress_url, headers={"HX-Request": "true"})
    assert response.status_code == 286  # htmx stops polling
    assert "Imported 10,000 people" in response.content.decode()


def test_a_failed_run_imports_nothing_and_says_why(admin, definitions, workspace):
    people_import = imports.people_import_upload(membership=admin, file_name="p.csv",
                                               data=_big_csv(1500).encode())
    imports.people_import_start(membership=admin, people_import=people_import,
                               on_duplicate="update", only_valid=False)
    # Someone adds one of these people between queueing and the run.
    PanelPersonFactory(workspace=workspace, email="person1400@example.com")

    def conflicting_create(objs, *args, **kwargs):
        from django.db import IntegrityError
        raise IntegrityError("duplicate key")

    from unittest import mock
    with mock.patch.object(Participant.objects, "bulk_create", conflicting_create):
        imports.people_import_run(import_id=people_import.pk)
    people_import.refresh_from_db()
    assert people_import.status == "failed" and "Nothing was imported" in people_import.error
    assert Participant.objects.count() == 1
    assert not ActivityEntry.objects.filter(action="participants.panel_imported").exists()


def test_a_run_that_dies_leaves_the_import_queued_for_the_next_run(admin, definitions):
    people_import = imports.people_import_upload(membership=admin, file_name="p.csv",
                                               data=_big_csv(1200).encode())
    imports.people_import_start(membership=admin, people_import=people_import,
                               on_duplicate="update", only_valid=False)
    from unittest import mock
    with (mock.patch.object(Participant.objects, "bulk_update",
                            side_effect=RuntimeError("worker lost")),
          pytest.raises(RuntimeError)):
        imports.people_import_run(import_id=people_import.pk)
    people_import.refresh_from_db()
    assert people_import.status == "queued" and not Participant.objects.exists()
    done = imports.people_import_run(import_id=people_import.pk)
    assert done.status == "done" and Participant.objects.count() == 1200
    assert imports.people_import_run(import_id=people_import.pk) is None


def test_the_sweep_dispatches_imports_whose_task_was_lost(admin, definitions, worker,
                                                          monkeypatch):
    from datetime import timedelta

    people_import = imports.people_import_upload(membership=admin, file_name="p.csv",
                                               data=_big_csv(1100).encode())
    imports.people_import_start(membership=admin, people_import=people_import,
                               on_duplicate="update", only_valid=False)
    assert imports.people_imports_redispatch() == 0  # its own task may still come
    later = clock.now() + timedelta(minutes=2)
    monkeypatch.setattr(clock, "now", lambda: later)
    from participants.tasks import people_imports_sweep
    assert people_imports_sweep() == 1
    assert worker == [(imports.RUN_TASK, [str(people_import.pk)])]
    imports.people_import_run(import_id=people_import.pk)
    worker.clear()
    assert imports.people_imports_redispatch() == 0 and worker == []
