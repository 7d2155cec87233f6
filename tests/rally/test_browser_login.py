import pytest

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_researcher_signs_in_and_sees_the_dashboard(live_server, page, researcher):
    page.goto(f"{live_server.url}/")
    page.get_by_label("Email").fill(researcher.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name=f"Welcome, {researcher.user.display_name}").wait_for()
    assert page.get_by_role("button", name="Log out").count() == 0  # inside the closed menu
    page.get_by_label(f"Account menu for {researcher.user.display_name}").click()
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for()
