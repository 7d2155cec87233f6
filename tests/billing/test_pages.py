"""Budgets, Add Funds, history, CSV and receipts pages: roles, bad input, figures, queries."""

import csv
import io
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from billing import services
from billing.models import Budget, Transfer
from tests.billing.factories import BudgetFactory, funds_add

pytestmark = pytest.mark.django_db

READERS = ["admin", "ops_manager"]
NOT_READERS = ["researcher", "observer"]


def add_funds_url(budget, next_url=None):
    url = reverse("billing:funds_add", args=[budget.pk])
    return f"{url}?next={next_url}" if next_url else url


def post_funds(client, budget, amount="250.00", reference="PO-77", key=None, **extra):
    return client.post(add_funds_url(budget), {
        "amount": amount, "reference": reference, "key": str(key or uuid.uuid4()),
        "next": extra.pop("next", "")}, **extra)


@pytest.fixture
def closed_receipt(funded_budget, reserve, admin):
    _, study_id = reserve(funded_budget, limit=3, name="Pricing page interviews")
    services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                            actor=admin.user)
    services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                            actor=admin.user)
    return services.reservation_close(study_id=study_id, actor=admin.user)


# Access ------------------------------------------------------------------------------------

PAGES = ["billing:budgets", "billing:payments", "billing:reservations", "billing:receipts"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("persona", READERS)
def test_admins_and_ops_managers_read_budget_pages(client_for, personas, persona, page):
    assert client_for(personas[persona]).get(reverse(page)).status_code == 200


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("persona", NOT_READERS)
def test_researchers_and_observers_are_refused_budget_pages(client_for, personas, persona,
                                                            page):
    assert client_for(personas[persona]).get(reverse(page)).status_code == 403


@pytest.mark.parametrize("persona", NOT_READERS)
def test_researchers_and_observers_cannot_open_a_budget_or_receipt(
        client_for, personas, persona, funded_budget, closed_receipt):
    client = client_for(personas[persona])
    for url in (reverse("billing:budget_detail", args=[funded_budget.pk]),
                reverse("billing:budget_history_csv", args=[funded_budget.pk]),
                reverse("billing:receipt_detail", args=[closed_receipt.pk]),
                reverse("billing:receipt_pdf", args=[closed_receipt.pk])):
        assert client.get(url).status_code == 403


def test_the_nav_shows_budgets_and_receipts_only_to_readers(client_for, admin, researcher):
    assert b">Receipts</a>" in client_for(admin).get(reverse("home")).content
    page = client_for(researcher).get(reverse("home")).content
    assert b">Budgets</a>" not in page and b">Receipts</a>" not in page


def test_another_workspaces_budget_and_receipt_answer_404(client_for, outsider, funded_budget,
                                                          closed_receipt):
    client = client_for(outsider)
    for url in (reverse("billing:budget_detail", args=[funded_budget.pk]),
                reverse("billing:budget_history_csv", args=[funded_budget.pk]),
                add_funds_url(funded_budget),
                reverse("billing:receipt_detail", args=[closed_receipt.pk]),
                reverse("billing:receipt_pdf", args=[closed_receipt.pk])):
        assert client.get(url).status_code == 404
    assert post_funds(client, funded_budget).status_code == 404
    assert Transfer.objects.filter(kind="funds").count() == 1


# Add Funds ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["admin", "ops_manager"])
def test_admins_and_ops_managers_add_funds(client_for, personas, persona, budget):
    response = post_funds(client_for(personas[persona]), budget, "1234.50")
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:budget_detail", args=[budget.pk])
    transfer = Transfer.objects.get()
    assert transfer.amount == Decimal("1234.50") and transfer.actor == personas[persona].user


@pytest.mark.parametrize("persona", NOT_READERS)
def test_researchers_and_observers_cannot_add_funds(client_for, personas, persona, budget):
    client = client_for(personas[persona])
    assert post_funds(client, budget).status_code == 403
    assert client.get(add_funds_url(budget)).status_code == 403
    assert not Transfer.objects.exists()


def test_add_funds_submitted_twice_adds_once(client_for, admin, budget):
    key = uuid.uuid4()
    client = client_for(admin)
    post_funds(client, budget, key=key)
    post_funds(client, budget, key=key)
    assert Transfer.objects.count() == 1


@pytest.mark.parametrize("amount,message", [
    ("-10", "greater than $0.00"), ("0", "greater than $0.00"),
    ("10.999", "at most two decimals"), ("ten", "number of US dollars"),
    ("", "This field is required"), ("99999999999", "at most $1,000,000.00"),
    ("1e400", "number of US dollars"), ("NaN", "number of US dollars")])
def test_add_funds_shows_bad_amounts_next_to_the_field(client_for, admin, budget, amount,
                                                       message):
    response = post_funds(client_for(admin), budget, amount)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Transfer.objects.exists()


def test_add_funds_needs_a_reference(client_for, admin, budget):
    response = post_funds(client_for(admin), budget, reference="")
    assert response.status_code == 400 and not Transfer.objects.exists()


def test_add_funds_without_a_key_is_refused(client_for, admin, budget):
    response = client_for(admin).post(add_funds_url(budget),
                                      {"amount": "5", "reference": "x", "key": "nope"})
    assert response.status_code == 400 and not Transfer.objects.exists()


def test_add_funds_returns_to_a_safe_next_url_only(client_for, admin, budget):
    client = client_for(admin)
    response = post_funds(client, budget, next="/studies/abc/")
    assert response["Location"] == "/studies/abc/"
    response = post_funds(client, budget, next="https://evil.example/")
    assert response["Location"] == reverse("billing:budget_detail", args=[budget.pk])


def test_add_funds_as_htmx_partial_answers_with_the_event(client_for, admin, budget):
    client = client_for(admin)
    form = client.get(add_funds_url(budget, "/studies/x/"), HTTP_HX_REQUEST="true")
    html = form.content.decode()
    assert form.status_code == 200 and "<html" not in html and 'name="key"' in html
    assert 'value="/studies/x/"' in html and "data-dialog-close" in html
    response = post_funds(client, budget, "40.00", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "fundsAdded" in response["HX-Trigger"]
    assert "Available is now $40.00" in response.content.decode()
    bad = post_funds(client, budget, "-1", HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and "greater than $0.00" in bad.content.decode()


def test_add_funds_page_works_without_javascript(client_for, ops_manager, budget):
    response = client_for(ops_manager).get(add_funds_url(budget))
    assert response.status_code == 200
    html = response.content.decode()
    main = html[html.index("<main"):html.index("</main>")]
    # A page of its own: the form, not the dialog it fills when JavaScript embeds it.
    assert "<html" in html and "Add Funds" in main and "data-dialog-close" not in main


# Budgets -----------------------------------------------------------------------------------


def test_budgets_page_shows_available_reserved_spent(client_for, admin, funded_budget, reserve):
    _, study_id = reserve(funded_budget, limit=2)
    services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                            actor=admin.user)
    html = client_for(admin).get(reverse("billing:budgets")).content.decode()
    assert "$670.00" in html  # available: 1,000 - 330
    assert "$165.00" in html  # reserved and spent
    for word in ("All Budgets", "Payments", "Reservations", "Available", "Reserved", "Spent",
                 "Add Funds"):
        assert word in html


def test_opening_the_budgets_page_of_a_workspace_without_a_budget_writes_nothing(
        client_for, admin, workspace):
    """Workspace Budget is made with the workspace (recruitment.workflows.workspace_create); a page
    never makes it, whatever it finds."""
    client = client_for(admin)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("billing:budgets")).status_code == 200
        assert [q["sql"] for q in queries.captured_queries
                if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
                and "django_session" not in q["sql"]] == []
    assert not Budget.objects.filter(workspace=workspace).exists()


def test_ops_manager_sees_no_create_or_manage_controls(client_for, ops_manager, budget):
    html = client_for(ops_manager).get(reverse("billing:budgets")).content.decode()
    assert "New budget" not in html and "Add Funds" in html


def test_only_admins_create_budgets(client_for, personas):
    for persona in ("ops_manager", "researcher", "observer"):
        response = client_for(personas[persona]).post(reverse("billing:budget_create"),
                                                      {"name": "Sneaky"})
        assert response.status_code == 403
    response = client_for(personas["admin"]).post(reverse("billing:budget_create"),
                                                  {"name": "  Design   Team "})
    budget = Budget.objects.get()
    assert budget.name == "Design Team"
    assert response["Location"] == reverse("billing:budget_detail", args=[budget.pk])


def test_budget_names_are_unique_in_a_workspace(client_for, admin, budget):
    response = client_for(admin).post(reverse("billing:budget_create"),
                                      {"name": "workspace budget"})
    assert response.status_code == 400 and "already a budget" in response.content.decode()
    assert client_for(admin).post(reverse("billing:budget_create"),
                                  {"name": ""}).status_code == 400


def test_budget_history_lists_every_movement_with_actor(client_for, admin, ops_manager,
                                                        funded_budget, reserve):
    funds_add(ops_manager, funded_budget, "20.00", "INV-9")
    reserve(funded_budget, limit=1, name="Checkout test")
    html = client_for(admin).get(
        reverse("billing:budget_detail", args=[funded_budget.pk])).content.decode()
    for text in ("Funds added", "INV-9", ops_manager.user.display_name, "Reserved for study",
                 "Checkout test", "+$20.00", "\u2212$165.00"):
        assert text in html


def test_history_csv_has_every_movement_and_defuses_formulas(client_for, admin, budget):
    funds_add(admin, budget, "10.00", "=HYPERLINK(\"http://x\")")
    funds_add(admin, budget, "5.25", "PO-2")
    response = client_for(admin).get(reverse("billing:budget_history_csv", args=[budget.pk]))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["Date (America/New_York)", "Movement", "Details"]
    assert rows[1][0].endswith(("-05:00", "-04:00"))  # the reader's zone, offset included
    assert {row[2] for row in rows[1:]} == {"'=HYPERLINK(\"http://x\")", "PO-2"}
    assert {row[5] for row in rows[1:]} == {"10.00", "5.25"}


def _budgets_page_queries(client):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("billing:budgets")).status_code == 200
    return len(queries)


def test_budgets_page_query_count_does_not_grow_with_budgets(client_for, admin, workspace):
    client = client_for(admin)
    BudgetFactory(workspace=workspace, name="Workspace Budget")  # made with the workspace
    _budgets_page_queries(client)  # a first visit, as a person makes before the count
    for n in range(1):
        funds_add(admin, BudgetFactory(workspace=workspace, name=f"Team {n}"), "10")
    small = _budgets_page_queries(client)
    for n in range(2, 50):
        funds_add(admin, BudgetFactory(workspace=workspace, name=f"Team {n}"), "10")
    assert _budgets_page_queries(client) == small
    assert small <= 15


def test_reservations_tab_lists_each_study_with_its_figures(client_for, admin, funded_budget,
                                                            reserve):
    reserve(funded_budget, limit=3, name="Mobile diary")
    html = client_for(admin).get(reverse("billing:reservations")).content.decode()
    assert "Mobile diary" in html and "$495.00" in html and "0 of 3" in html


def test_payments_tab_is_honest_when_empty(client_for, admin):
    html = client_for(admin).get(reverse("billing:payments")).content.decode()
    assert "No incentive payments yet" in html


# Receipts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", READERS)
def test_receipt_page_shows_the_final_billing_details(client_for, personas, persona,
                                                      closed_receipt):
    html = client_for(personas[persona]).get(
        reverse("billing:receipt_detail", args=[closed_receipt.pk])).content.decode()
    for text in ("Reserved", "$495.00", "Recruitment Fees", "2 \u00d7 $65.00", "$130.00",
                 "Incentives", "$200.00", "Total Spent", "$330.00", "Unused", "$165.00",
                 "Workspace Budget", "Download PDF"):
        assert text in html


def test_receipt_pdf_carries_the_figures(client_for, admin, closed_receipt):
    response = client_for(admin).get(reverse("billing:receipt_pdf", args=[closed_receipt.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    for figure in ("Pricing page interviews", "Reserved", "$495.00", "Recruitment Fees",
                   "$130.00", "Incentives", "$200.00", "Total Spent", "$330.00", "Unused",
                   "$165.00", "Workspace Budget", closed_receipt.number):
        assert figure in text


def test_receipts_filter_by_budget_and_date(client_for, admin, workspace, closed_receipt):
    other = BudgetFactory(workspace=workspace, name="Other")
    client = client_for(admin)
    html = client.get(reverse("billing:receipts")).content.decode()
    assert closed_receipt.number in html
    html = client.get(reverse("billing:receipts"), {"budget": other.pk}).content.decode()
    assert closed_receipt.number not in html and "No receipts match" in html
    day = closed_receipt.issued_at.astimezone(ZoneInfo(admin.user.time_zone)).date()  # theirs
    html = client.get(reverse("billing:receipts"),
                      {"issued_from": day.isoformat(), "issued_to": day.isoformat()}
                      ).content.decode()
    assert closed_receipt.number in html
    html = client.get(reverse("billing:receipts"),
                      {"issued_from": "2001-01-01", "issued_to": "2001-01-02"}).content.decode()
    assert closed_receipt.number not in html


def test_receipts_filter_rejects_nonsense_without_crashing(client_for, admin, closed_receipt,
                                                           outsider):
    client = client_for(admin)
    foreign = BudgetFactory(workspace=outsider.workspace)
    for params in ({"budget": "not-a-uuid"}, {"issued_from": "yesterday"},
                   {"budget": str(foreign.pk)},
                   {"issued_from": "2030-01-02", "issued_to": "2030-01-01"}):
        assert client.get(reverse("billing:receipts"), params).status_code == 400


def test_receipts_list_is_empty_honestly(client_for, ops_manager):
    html = client_for(ops_manager).get(reverse("billing:receipts")).content.decode()
    assert "No receipts yet" in html


def test_add_funds_embedded_inline_keeps_the_host_dialog(client_for, admin, budget):
    client = client_for(admin)
    form = client.get(add_funds_url(budget, "/studies/x/") + "&embed=inline",
                      HTTP_HX_REQUEST="true").content.decode()
    assert "data-dialog-close" not in form and 'name="embed" value="inline"' in form
    response = client.post(add_funds_url(budget), {
        "amount": "75", "reference": "PO-1", "key": str(uuid.uuid4()), "embed": "inline",
        "next": "/studies/x/"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "Added $75.00" in html and "data-dialog-close" not in html
    assert "fundsAdded" in response["HX-Trigger"]


def test_study_billing_partial_shows_open_then_final_figures(admin, funded_budget, reserve):
    from django.template.loader import render_to_string

    from billing.selectors import study_billing_for

    _, study_id = reserve(funded_budget, limit=2)
    assert study_billing_for(uuid.uuid4()) is None
    html = render_to_string("billing/_study_billing.html",
                            {"billing": study_billing_for(study_id)})
    assert "$330.00" in html and "0 of 2 participants" in html
    services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                            actor=admin.user)
    services.reservation_close(study_id=study_id, actor=admin.user)
    html = render_to_string("billing/_study_billing.html",
                            {"billing": study_billing_for(study_id)})
    for text in ("Final billing details", "Total Spent", "$165.00", "Unused", "Budget"):
        assert text in html


@pytest.mark.parametrize("page", ["billing:budgets", "billing:payments", "billing:reservations",
                                  "budget detail"])
def test_every_budgets_page_gives_its_new_budget_dialog_the_name_field(client_for, admin, page):
    budget = BudgetFactory(workspace=admin.workspace)
    url = (reverse("billing:budget_detail", args=[budget.pk]) if page == "budget detail"
           else reverse(page))
    html = client_for(admin).get(url).content.decode()
    dialog = html[html.index('<dialog id="new-budget-dialog"'):]
    dialog = dialog[:dialog.index("</dialog>")]
    assert '<label for="id_name">' in dialog
    assert 'name="name"' in dialog
    assert 'for=""' not in html
