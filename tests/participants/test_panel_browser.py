"""The panel in Chromium: import a small CSV through the pages, then filter the directory
and save the filter as a segment."""

import re

import pytest
from playwright.sync_api import expect

from participants.models import Participant, Segment
from rally.services import property_define
from tests.e2e import flow
from tests.screenshots import screenshot

CSV = ("Email,Name,Plan,Seats\n"
       "ada@example.com,Ada Lovelace,Pro,250\n"
       "bo@example.com,Bo Chen,Free,3\n"
       "broken-email,Cy Diaz,Pro,1\n"
       "di@example.com,Di Evans,Pro,40\n")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_import_a_csv_then_filter_the_directory(live_server, page, workspace, ops_manager,
                                                tmp_path):
    property_define(workspace=workspace, key="plan", label="Plan", type="single_select",
                    options=["Free", "Pro"])
    property_define(workspace=workspace, key="seats", label="Seats", type="number")
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(CSV, encoding="utf-8")

    flow.sign_in(page, live_server, ops_manager)
    page.get_by_role("navigation", name="Main").get_by_role("link",
                                                           name="Participants").click()
    expect(page.get_by_text("No one in your panel yet")).to_be_visible()
    page.get_by_role("link", name="Import CSV").first.click()

    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("name")
    expect(page.get_by_label("Plan", exact=True)).to_have_value("property:plan")
    report = page.get_by_role("region", name=re.compile("Validation report"))
    expect(report).to_contain_text("Row 4 has no valid email (“broken-email”)")
    page.get_by_role("button", name="Import 3 people").click()
    expect(page.get_by_role("alert")).to_contain_text("1 row is not valid")
    assert not Participant.objects.exists()

    page.get_by_label(re.compile("Import only the 3 valid rows")).check()
    page.get_by_role("button", name="Import 3 people").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Imported 3 people from customers.csv (3 new, 0 updated, 1 invalid row left out)")
    page.get_by_role("link", name="See the people").click()

    table = page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(4)  # header + 3 people
    page.get_by_label("Property", exact=True).select_option("plan")
    expect(page.locator("#add-value-hint")).to_contain_text("One of: Free, Pro.")
    page.get_by_label("Operator").select_option("eq")
    page.get_by_label("Value", exact=True).fill("Pro")
    page.get_by_role("button", name="Add filter").click()
    page.get_by_label("Property", exact=True).select_option("seats")
    # htmx narrows the operators to the property's type.
    expect(page.locator("#add-value-hint")).to_have_text("A number, like 250.")
    expect(page.get_by_label("Operator").locator("option")).to_have_count(8)
    page.get_by_label("Operator").select_option("gt")
    page.get_by_label("Value", exact=True).fill("100")
    page.get_by_role("button", name="Add filter").click()
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("Ada Lovelace")

    page.get_by_role("link", name="Remove Seats is more than 100").click()
    expect(table.get_by_role("row")).to_have_count(3)
    expect(table).to_contain_text("Di Evans")
    expect(table).not_to_contain_text("Bo Chen")

    page.get_by_label("Segment name").fill("Pro customers")
    page.get_by_role("button", name="Save as segment").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved the segment")
    assert Segment.objects.get().filters["rules"] == [
        {"property": "plan", "op": "eq", "value": "Pro"}]
    page.get_by_role("link", name="Clear all").click()
    expect(table.get_by_role("row")).to_have_count(4)
    page.get_by_role("link", name="Pro customers").click()
    expect(table.get_by_role("row")).to_have_count(3)
    screenshot(page, "directory")


# axe-core on the panel's pages (the a11y suite's fixtures: axe injected, CSP bypassed).
from tests.a11y.conftest import (  # noqa: E402, F401
    axe_source,
    axe_violations,
    browser_context_args,
)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_panel_pages_have_no_serious_accessibility_violation(live_server, page, workspace,
                                                             admin, axe_violations):  # noqa: F811
    from django.urls import reverse

    from participants import imports
    from participants.directory import segment_save
    from tests.participants.factories import PanelPersonFactory

    plan = property_define(workspace=workspace, key="plan", label="Plan",
                           type="single_select", options=["Free", "Pro"])
    property_define(workspace=workspace, key="tools", label="Tools", type="multi_select",
                    options=["Figma", "Miro"])
    property_define(workspace=workspace, key="phone", label="Phone", type="text", is_pii=True)
    person = PanelPersonFactory(workspace=workspace, first_name="Ada", last_name="Lovelace",
                                properties={"plan": "pro", "tools": ["figma"]})
    segment_save(membership=admin, name="Pro", filters={"q": "", "rules": [
        {"property": "plan", "op": "eq", "value": "pro"}]})
    people_import = imports.people_import_upload(membership=admin, file_name="c.csv", data=(
        b"Email,Name,Plan\na@example.com,A B,Pro\nbad,C D,Gold\n"))
    done = imports.people_import_upload(membership=admin, file_name="d.csv",
                                       data=b"Email,Name\nd@example.com,D E\n")
    imports.people_import_start(membership=admin, people_import=done, on_duplicate="skip",
                               only_valid=False)
    pages = {
        "directory": reverse("participants:people_directory")
        + "?f=plan%3Aeq%3Apro&cols=plan&cols=phone&add_property=plan&add_op=gt",
        "profile": reverse("participants:person_profile", args=[person.pk]),
        "edit": reverse("participants:person_edit", args=[person.pk]),
        "properties": reverse("participants:people_properties"),
        "property": reverse("participants:people_property_edit", args=[plan.pk]),
        "upload": reverse("participants:people_import_upload"),
        "review": reverse("participants:people_import_review", args=[people_import.pk]),
        "imported": reverse("participants:people_import_review", args=[done.pk]),
    }
    page.set_viewport_size({"width": 1280, "height": 900})
    flow.sign_in(page, live_server, admin)
    page.wait_for_url(lambda url: "/login/" not in url)
    found = {}
    for name, path in pages.items():
        response = page.goto(live_server.url + path)
        assert response.status == 200, name
        found[name] = axe_violations(page)
    problems = {name: lines for name, lines in found.items() if lines}
    assert not problems, "\n".join(
        f"{name}:\n    " + "\n    ".join(lines) for name, lines in problems.items())
