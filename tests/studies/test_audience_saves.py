"""The Audience tab has one save model (each section saves with its button) and every save
says what it saved; a B2C audience is told which Advanced Professional criteria are B2B's."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _url(name, study):
    return reverse(f"studies:{name}", args=[study.id])


def _saved(response):
    found = re.search(r'<p class="notice notice--saved" id="audience-saved">([^<]*)</p>',
                      response.content.decode())
    return found.group(1) if found else None


def test_the_settings_form_saves_with_its_button_only(client_for, researcher, study):
    html = client_for(researcher).get(_url("study_audience", study)).content.decode()
    form = re.search(r'<form method="post" action="[^"]*/audience/settings/"[^>]*>', html)
    assert "data-hx-trigger" not in form.group(0)
    assert "Save audience" in html


@pytest.mark.parametrize(("name", "data", "words"), [
    ("study_audience_settings", {"audience_type": "b2b", "duration_minutes": "45"},
     "Saved the audience: Industry professionals (B2B), 45 minutes."),
    ("study_audience_location", {"action": "add_country", "country": "CA"},
     "Saved the countries: United States and Canada."),
    ("study_audience_location", {"action": "mode", "location_mode": "state"},
     "Filtering the location by state."),
    ("study_audience_location", {"action": "states", "us_states": ["CA", "NY"]},
     "Saved the states: California and New York."),
    ("study_audience_criteria", {"shown": ["job-function"], "values:job-function":
                                 ["engineering"]}, "Saved the criteria: Job function."),
    ("study_audience_criteria", {"shown": ["job-function"]}, "Saved: no criteria applied."),
])
def test_every_save_says_what_it_saved(client_for, researcher, ready_study, name, data,
                                       words):
    if data.get("action") == "states":
        ready_study.location_mode = "state"
        ready_study.save(update_fields=["location_mode"])
    response = client_for(researcher).post(_url(name, ready_study), data, **HTMX)
    assert response.status_code == 200
    assert _saved(response) == words


def test_without_javascript_the_confirmation_comes_after_the_redirect(client_for, researcher,
                                                                      study):
    client = client_for(researcher)
    response = client.post(_url("study_audience_settings", study),
                           {"audience_type": "b2c", "duration_minutes": "30"}, follow=True)
    assert "Saved the audience: General population (B2C), 30 minutes." in \
        response.content.decode()


def test_a_refused_save_says_nothing_was_saved(client_for, researcher, study):
    response = client_for(researcher).post(_url("study_audience_settings", study),
                                           {"audience_type": "b2c", "duration_minutes": "2"},
                                           **HTMX)
    assert _saved(response) is None
    assert "Enter the total participation time" in response.content.decode()


def test_a_b2c_audience_is_told_which_professional_criteria_are_b2bs(client_for, researcher,
                                                                     study, catalog):
    client = client_for(researcher)
    html = client.get(_url("study_audience", study)).content.decode()
    assert ("Advanced Professional criteria for Industry professionals (B2B) audiences only: "
            "Job function, Industry. Choose Industry professionals (B2B) above to target by "
            "them.") in html
    study.audience_type = "b2b"
    study.save(update_fields=["audience_type"])
    html = client.get(_url("study_audience", study)).content.decode()
    assert "b2b-only-hint" not in html
