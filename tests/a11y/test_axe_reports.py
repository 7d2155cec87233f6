"""axe-core on the Reports page and on a study overview's recruitment metrics panel."""

from datetime import timedelta

import pytest

from studies.services import study_mark_recruitment_started
from tests.billing.payouts_support import funded_ui_study
from tests.conftest import PASSWORD
from tests.participants.factories import ApplicationFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_reports_and_the_metrics_panel_have_no_serious_violation(live_server, page, admin,
                                                                 axe_violations):
    study = funded_ui_study(admin, limit=2, name="Onboarding interviews")
    study_mark_recruitment_started(study=study)
    study.refresh_from_db()
    ApplicationFactory(study=study, applied_at=study.recruitment_started_at
                       + timedelta(minutes=90))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    problems = {}
    for name, path in (("reports", "/reports/"),
                       ("reports, filter error", "/reports/?started_from=2026-13-40"),
                       ("overview", f"/studies/{study.pk}/")):
        page.goto(f"{live_server.url}{path}")
        if name == "overview":  # the metrics card loads after the page
            page.locator("#metrics-panel:not([aria-busy])").wait_for()
            assert page.get_by_text("Time to first qualified applicant").is_visible()
        found = axe_violations(page)
        if found:
            problems[name] = found
    assert not problems, "\n".join(f"{name}:\n  " + "\n  ".join(lines)
                                   for name, lines in problems.items())
