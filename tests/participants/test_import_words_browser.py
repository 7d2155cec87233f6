"""CSV import in Chromium: "Import CSV" is offered once, the report's sentences read
("Row 3 has “Mars/Olympus” as its time zone…"), and the preview fits its card."""

import re

import pytest
from playwright.sync_api import expect

from rally.services import property_define
from tests.e2e import flow
from tests.screenshots import screenshot

CSV = ("Email,First name,Last name,Time zone,Company,Job title,Plan,Seats,Notes\n"
       "ada.lovelace.longname@example-analytical-engines.com,Ada,Lovelace-Byron,"
       "Europe/London,Analytical Engines Incorporated,Principal Mathematician and Poet,Pro,"
       "250,Prefers afternoons; met at the Babbage conference in the spring\n"
       "bo@example.com,Bo,Chen,Mars/Olympus,Chen & Partners,Designer,Free,3,\n"
       "di@example.com,Di,Evans,America/New_York,Evans Group,Research Operations Lead,Pro,"
       "lots,Call before noon\n")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_import_page_words_and_preview_fit(live_server, page, workspace, ops_manager,
                                          tmp_path):
    property_define(workspace=workspace, key="plan", label="Plan", type="single_select",
                    options=["Free", "Pro"])
    property_define(workspace=workspace, key="seats", label="Seats", type="number")
    for key, label in (("company", "Company"), ("job_title", "Job title"),
                       ("notes", "Notes")):
        property_define(workspace=workspace, key=key, label=label, type="text")
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    page.set_viewport_size({"width": 1366, "height": 900})
    flow.sign_in(page, live_server, ops_manager)
    page.goto(f"{live_server.url}/participants/")
    expect(page.get_by_role("link", name="Import CSV")).to_have_count(1)

    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload and map columns").click()
    report = page.get_by_role("region", name=re.compile("Validation report"))
    expect(report).to_contain_text("Row 3 has “Mars/Olympus” as its time zone, which is not a "
                                   "time zone name (use names like Europe/Berlin)")
    expect(report).to_contain_text("Row 4 has a value for Seats that does not fit: “lots” is "
                                   "not a number")
    preview = page.locator("table.import-preview")
    expect(preview).to_be_visible()
    fits = preview.evaluate("""table => {
        const wrap = table.closest('.table-wrap');
        return wrap.scrollWidth <= wrap.clientWidth;
    }""")
    assert fits
    screenshot(page, "import-review", widths=(1366, 390))
