"""axe-core on the Reports page and on a study overview's recruitment metrics panel."""

from datetime import timedelta

import pytest

from studies.services import study_mark_recruitment_started
from tests.a11y.conftest import assert_no_problems, log_in
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
    log_in(page, live_server, admin.user.email, PASSWORD)
    problems = {}
    for name, path in (("reports", "/reports/"),
                       ("reports, filter error", "/reports/?started_from=2026-13-40"),
                       ("overview", f"/studies/{study.pk}/")):
        page.goto(f"{live_server.url}{path}")
        if name == "overview":  # the metrics card loads after the page
            page.locator("#metrics-panel:not([aria-busy])").wait_for()
            assert page.get_by_text("Time to first qualified applicant").is_visible()
        problems[name] = axe_violations(page)
    assert_no_problems(problems)
