"""The booking page names the study by its participant-facing title, never the team's name."""

import pytest
from django.urls import reverse

from scheduling import services

pytestmark = pytest.mark.django_db


def _page(client, application):
    token = services.booking_token_make(application)
    return client.get(reverse("scheduling:booking", kwargs={"token": token})).content.decode()


def test_booking_page_shows_the_participant_title(client, study, scheduling, invited):
    study.name = "Pricing push Q3 (internal)"
    study.public_title = "Talk to us about paying for software"
    study.save()
    html = _page(client, invited())
    assert "<title>Book your session · Talk to us about paying for software" in html
    assert '<p class="eyebrow">Talk to us about paying for software</p>' in html
    assert "Pricing push" not in html


def test_booking_page_without_a_participant_title_shows_a_neutral_one(client, study, scheduling,
                                                                      invited):
    study.name = "Pricing push Q3 (internal)"
    study.public_title = ""
    study.save()
    html = _page(client, invited())
    assert '<p class="eyebrow">Research study</p>' in html and "Pricing push" not in html
