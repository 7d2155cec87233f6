"""CSV exports a team expects — a study's applicants, the activity log, payments — each with
the formula-injection guard, each behind the same rights as its page."""

import csv
import io
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Payout
from rally import clock
from rally.exports import csv_cell
from rally.services import activity_record
from tests.participants.factories import ApplicationFactory, StudyFactory
from tests.rally.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


def _rows(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize(("value", "written"), [
    ("=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"), ("+1", "'+1"),
    ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("Ada L.", "Ada L."),
    (None, ""), (Decimal("12.50"), "12.50")])
def test_cells_that_spreadsheets_would_run_are_quoted(value, written):
    assert csv_cell(value) == written


def test_applicants_export_lists_the_studys_applicants_guarded(researcher, client_for):
    study = StudyFactory(workspace=researcher.workspace, owner=researcher.user)
    ApplicationFactory(study=study, participant__first_name="=cmd|' /C calc'!A0",
                       participant__last_initial="Z", ui_applicant_id="app_x1")
    ApplicationFactory(study=StudyFactory(workspace=researcher.workspace))  # another study
    rows = _rows(client_for(researcher).get(
        reverse("participants:study_applicants_csv", args=[study.id])))
    assert rows[0][:3] == ["Participant", "Status", "Source"]
    assert len(rows) == 2
    assert rows[1][0].startswith("'=cmd") and rows[1][5] == "app_x1"


def test_applicants_of_another_workspaces_study_are_not_found(researcher, client_for):
    other = StudyFactory(workspace=WorkspaceFactory(name="Other"))
    response = client_for(researcher).get(
        reverse("participants:study_applicants_csv", args=[other.id]))
    assert response.status_code == 404


def test_activity_export_is_for_admins_and_ops_managers(admin, ops_manager, researcher,
                                                       observer, client_for):
    activity_record(workspace=admin.workspace, actor=admin.user, action="budget.funds_added",
                    summary="-5 dollars =1+1", data={})
    activity_record(workspace=WorkspaceFactory(name="Other"), actor_label="task:x",
                    action="x", summary="elsewhere")
    for membership in (admin, ops_manager):
        rows = _rows(client_for(membership).get(reverse("activity_csv")))
        assert [row[2:4] for row in rows[1:]] == [["budget.funds_added", "'-5 dollars =1+1"]]
    for membership in (researcher, observer):
        assert client_for(membership).get(reverse("activity_csv")).status_code == 403


def _payout(workspace, name):
    now = clock.now()
    return Payout.objects.create(
        workspace=workspace, study_id=uuid.uuid4(), study_name=name, session_id=uuid.uuid4(),
        application_id=uuid.uuid4(), participant_label="@Ada L.", amount=Decimal("50.00"),
        due_at=now, created_at=now, updated_at=now)


def test_payments_export_follows_the_study_filter(admin, researcher, client_for):
    first = _payout(admin.workspace, "Checkout test")
    _payout(admin.workspace, "Pricing interviews")
    _payout(WorkspaceFactory(name="Other"), "Not ours")
    client = client_for(admin)
    rows = _rows(client.get(reverse("billing:payments_csv")))
    assert sorted(row[1] for row in rows[1:]) == ["Checkout test", "Pricing interviews"]
    assert {row[3] for row in rows[1:]} == {"'@Ada L."}
    only = _rows(client.get(reverse("billing:payments_csv"), {"study": str(first.study_id)}))
    assert [row[1] for row in only[1:]] == ["Checkout test"]
    assert only[1][4] == "50.00"
    assert client_for(researcher).get(reverse("billing:payments_csv")).status_code == 403
