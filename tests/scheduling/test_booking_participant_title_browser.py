"""In Chromium: the participant's booking page is titled with the participant-facing title."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from scheduling import services
from tests.screenshots import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_booking_page_shows_only_what_participants_should_see(live_server, page, study,
                                                             scheduling, invited):
    study.name = "Pricing push Q3 (internal)"
    study.public_title = "Talk to us about paying for software"
    study.save()
    token = services.booking_token_make(invited())
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(live_server.url + reverse("scheduling:booking", kwargs={"token": token}))
    expect(page).to_have_title("Book your session · Talk to us about paying for software · Rally")
    expect(page.locator(".booking .eyebrow")).to_have_text("Talk to us about paying for software")
    expect(page.get_by_text("Pricing push")).to_have_count(0)
    screenshot(page, "booking", widths=(1366, 390))
