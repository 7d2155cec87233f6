"""The Audience tab (SPEC A1 to A7, section 13): type, time, location, criteria, locks, htmx."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from rally.models import ActivityEntry
from studies import locations, services
from studies.models import AudienceType, Characteristic, LocationMode
from studies.selectors import study_audience_payload
from tests.studies.factories import CATALOG

pytestmark = pytest.mark.django_db


def url(name, study, *args):
    return reverse(f"studies:{name}", args=[study.id, *args])


def test_locations_come_from_the_library():
    assert len(locations.us_states()) == 51
    assert locations.us_states()["DC"] == "Washington, D.C."
    assert "PR" not in locations.us_states()
    assert locations.countries()["US"] == "United States"
    assert len(locations.countries()) > 240


def test_a_new_study_targets_the_united_states(researcher):
    study = services.study_create(membership=researcher, name="New")
    assert study.countries == ["US"]
    assert study.location_mode == LocationMode.COUNTRY
    assert study_audience_payload(study) == {"type": "b2c", "countries": ["US"],
                                             "usStates": [], "criteria": []}


def test_settings_save_and_trigger_a_reach_refresh(client_for, researcher, study):
    response = client_for(researcher).post(
        url("study_audience_settings", study),
        {"audience_type": "b2b", "duration_minutes": "45"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == "audience-changed"
    html = response.content.decode()
    assert 'id="audience-editor"' in html and 'data-hx-swap-oob="true"' in html
    study.refresh_from_db()
    assert (study.audience_type, study.duration_minutes) == (AudienceType.B2B, 45)
    assert ActivityEntry.objects.filter(study_id=study.id,
                                        action="study.audience_updated").exists()


@pytest.mark.parametrize("minutes", ["4", "481", "0", "-10", "sixty", "30.5", ""])
def test_participation_time_outside_5_to_480_is_refused(client_for, researcher, study,
                                                        minutes):
    response = client_for(researcher).post(url("study_audience_settings", study),
                                           {"audience_type": "b2c", "duration_minutes": minutes})
    assert response.status_code == 400
    html = response.content.decode()
    assert "total participation time" in html.lower()
    assert 'id="id_duration_minutes-error"' in html
    assert 'href="#id_duration_minutes"' in html
    assert not response.has_header("HX-Trigger")
    study.refresh_from_db()
    assert study.duration_minutes == 60


def test_unknown_audience_type_is_refused(researcher, study):
    with pytest.raises(ValidationError):
        services.study_update_audience_settings(membership=researcher, study=study,
                                                audience_type="b2x", duration_minutes="30")


def test_countries_can_be_added_and_removed(client_for, researcher, study):
    client = client_for(researcher)
    client.post(url("study_audience_location", study), {"action": "add_country",
                                                        "country": "CA"})
    client.post(url("study_audience_location", study), {"action": "remove_country",
                                                        "country": "US"})
    study.refresh_from_db()
    assert study.countries == ["CA"]


@pytest.mark.parametrize("code", ["XX", "USA", "", "<script>"])
def test_unknown_country_code_is_refused(client_for, researcher, study, code):
    response = client_for(researcher).post(url("study_audience_location", study),
                                           {"action": "add_country", "country": code})
    assert response.status_code == 400
    assert "Choose a country from the list" in response.content.decode()
    study.refresh_from_db()
    assert study.countries == ["US"]


def test_switching_to_states_offers_51_and_saves_two(client_for, researcher, study):
    client = client_for(researcher)
    client.post(url("study_audience_location", study), {"action": "mode",
                                                        "location_mode": "state"})
    page = client.get(url("study_audience", study)).content.decode()
    assert page.count('name="us_states"') == 51
    client.post(url("study_audience_location", study),
                {"action": "states", "us_states": ["NY", "CA"]})
    study.refresh_from_db()
    assert study.us_states == ["CA", "NY"]
    assert study_audience_payload(study)["usStates"] == ["CA", "NY"]
    assert study_audience_payload(study)["countries"] == ["US"]


@pytest.mark.parametrize("codes", [["ZZ"], ["CA", "PR"], ["US-CA"]])
def test_unknown_state_code_is_refused(client_for, researcher, study, codes):
    client = client_for(researcher)
    client.post(url("study_audience_location", study), {"action": "mode",
                                                        "location_mode": "state"})
    response = client.post(url("study_audience_location", study),
                           {"action": "states", "us_states": codes})
    assert response.status_code == 400
    assert "Choose states from the list" in response.content.decode()
    study.refresh_from_db()
    assert study.us_states == []


# Criteria ---------------------------------------------------------------------------------


def test_catalog_is_grouped_and_only_offers_what_the_audience_type_allows(
        client_for, researcher, study, catalog):
    client = client_for(researcher)
    b2c = client.get(url("study_audience", study)).content.decode()
    assert "<summary>Job function" not in b2c  # B2B only (named only in the B2B hint)
    assert "Assistive technology" in b2c
    study.audience_type = AudienceType.B2B
    study.save()
    b2b = client.get(url("study_audience", study)).content.decode()
    positions = [b2b.index(f">{group}</h3>") for group in
                 ("Advanced Professional", "Accessibility", "Demographic", "Technology")]
    assert positions == sorted(positions)


def test_search_matches_names_and_choices_as_you_type(client_for, researcher, study, catalog):
    study.audience_type = AudienceType.B2B
    study.save()
    client = client_for(researcher)
    response = client.get(url("study_audience", study), {"q": "health"},
                          HTTP_HX_REQUEST="true", HTTP_HX_TARGET="criteria-results")
    html = response.content.decode()
    assert 'id="criteria-results"' in html and "<html" not in html
    assert "Industry" in html and "Job function" not in html and "Browsers" not in html
    html = client.get(url("study_audience", study), {"q": "brow"}).content.decode()
    assert "Browsers" in html and "Industry</summary>" not in html


def test_apply_criteria_adds_values_and_ranges(client_for, researcher, study, catalog):
    study.audience_type = AudienceType.B2B
    study.save()
    response = client_for(researcher).post(url("study_audience_criteria", study), {
        "shown": ["job-function", "age", "browsers"],
        "values:job-function": ["engineering", "design"],
        "min:age": "25", "max:age": "40",
    }, HTTP_HX_REQUEST="true")
    assert response["HX-Trigger"] == "audience-changed"
    study.refresh_from_db()
    assert study.criteria == [
        {"characteristic": "job-function", "values": ["engineering", "design"]},
        {"characteristic": "age", "range": {"min": 25, "max": 40}},
    ]
    html = response.content.decode()
    assert 'aria-label="Remove Job function"' in html
    assert 'aria-label="Remove Age"' in html


@pytest.mark.parametrize(("post", "message"), [
    ({"shown": ["industry"], "values:industry": ["nope"]}, "choose values from the list"),
    ({"shown": ["age"], "min:age": "50", "max:age": "20"}, "lower bound first"),
    ({"shown": ["age"], "min:age": "10", "max:age": "20"}, "from 18 to 99"),
    ({"shown": ["age"], "min:age": "x", "max:age": "20"}, "whole numbers"),
    ({"shown": ["unknown"], "values:unknown": ["a"]}, "Choose criteria from the catalog"),
])
def test_bad_criteria_are_refused(client_for, researcher, study, catalog, post, message):
    study.audience_type = AudienceType.B2B
    study.save()
    response = client_for(researcher).post(url("study_audience_criteria", study), post)
    assert response.status_code == 400
    assert message in response.content.decode()
    study.refresh_from_db()
    assert study.criteria == []


def test_b2b_only_criterion_is_refused_for_b2c(researcher, study, catalog):
    with pytest.raises(ValidationError, match="not offered"):
        services.study_apply_criteria(membership=researcher, study=study,
                                      selections={"industry": {"values": ["finance"]}})


def test_chip_x_removes_the_criterion(client_for, researcher, ready_study):
    response = client_for(researcher).post(
        url("study_criterion_remove", ready_study, "job-function"), HTTP_HX_REQUEST="true")
    assert response["HX-Trigger"] == "audience-changed"
    ready_study.refresh_from_db()
    assert ready_study.criteria == []
    entry = ActivityEntry.objects.get(study_id=ready_study.id)
    assert "Job function" in entry.summary


def test_switching_to_b2c_drops_b2b_only_criteria(researcher, ready_study):
    services.study_update_audience_settings(membership=researcher, study=ready_study,
                                            audience_type="b2c", duration_minutes="60")
    ready_study.refresh_from_db()
    assert ready_study.criteria == []


def test_catalog_replace_syncs_and_removes(catalog):
    assert Characteristic.objects.count() == len(CATALOG)
    items = [dict(CATALOG[0], name="Job role", choices=[{"id": "design", "label": "Design"}])]
    result = services.characteristics_replace(items=items)
    assert result == {"synced": 1, "removed": len(CATALOG) - 1}
    only = Characteristic.objects.get()
    assert only.name == "Job role"
    assert [c.external_id for c in only.choices.all()] == ["design"]


def test_catalog_replace_refuses_malformed_items_and_keeps_the_catalog(catalog):
    with pytest.raises(ValidationError):
        services.characteristics_replace(items=[{"slug": "x", "name": "X",
                                                 "category": "nope", "type": "range"}])


# Who may change it, and locks ---------------------------------------------------------------


def test_observer_posting_audience_changes_gets_403(client_for, observer, study, catalog):
    client = client_for(observer)
    for name, data in (("study_audience_settings", {"audience_type": "b2b",
                                                    "duration_minutes": "30"}),
                       ("study_audience_location", {"action": "add_country", "country": "CA"}),
                       ("study_audience_criteria", {"shown": ["age"], "min:age": "20"})):
        assert client.post(url(name, study), data).status_code == 403
    study.refresh_from_db()
    assert (study.audience_type, study.countries, study.criteria) == ("b2c", ["US"], [])


def test_another_workspace_posting_audience_changes_gets_404(client_for, outsider, study):
    response = client_for(outsider).post(url("study_audience_location", study),
                                         {"action": "add_country", "country": "CA"})
    assert response.status_code == 404


@pytest.fixture
def locked(ready_study):
    services.study_mark_recruitment_started(study=ready_study)
    ready_study.refresh_from_db()
    return ready_study


@pytest.mark.parametrize(("change", "kwargs"), [
    (services.study_update_audience_settings, {"audience_type": "b2c", "duration_minutes": "30"}),
    (services.study_add_country, {"code": "CA"}),
    (services.study_set_location_mode, {"mode": "state"}),
    (services.study_apply_criteria, {"selections": {"age": {"range": {"min": 20, "max": 30}}}}),
    (services.study_remove_criterion, {"slug": "job-function"}),
])
def test_locked_audience_is_refused_by_the_services(researcher, locked, change, kwargs):
    with pytest.raises(ValidationError, match="locked"):
        change(membership=researcher, study=locked, **kwargs)
    locked.refresh_from_db()
    assert locked.criteria == [{"characteristic": "job-function", "values": ["engineering"]}]


def test_locked_audience_by_crafted_post_changes_nothing(client_for, researcher, locked):
    response = client_for(researcher).post(url("study_criterion_remove", locked,
                                               "job-function"))
    assert response.status_code == 400
    assert "audience targeting is locked" in response.content.decode().lower()
    locked.refresh_from_db()
    assert locked.criteria_slugs == ["job-function"]


def test_locked_audience_page_is_read_only(client_for, researcher, locked):
    html = client_for(researcher).get(url("study_audience", locked)).content.decode()
    assert "audience targeting is locked" in html
    assert "Apply criteria" not in html and "Remove Job function" not in html


def test_observer_sees_the_audience_without_controls(client_for, observer, ready_study):
    html = client_for(observer).get(url("study_audience", ready_study)).content.decode()
    assert "Job function" in html
    assert "Apply criteria" not in html and "Remove Job function" not in html


def test_services_refuse_observers(observer, study):
    with pytest.raises(PermissionDenied):
        services.study_add_country(membership=observer, study=study, code="CA")


def test_htmx_refusal_is_swapped_in_with_its_message_and_no_refresh(client_for, researcher,
                                                                    study):
    response = client_for(researcher).post(
        url("study_audience_location", study), {"action": "add_country", "country": "XX"},
        HTTP_HX_REQUEST="true")
    assert response.status_code == 200  # htmx swaps 2xx only
    assert "Choose a country from the list" in response.content.decode()
    assert not response.has_header("HX-Trigger")


def test_a_failed_start_unlocks_the_audience_again(researcher, locked):
    assert services.study_mark_recruitment_stopped(study=locked)
    assert not services.study_mark_recruitment_stopped(study=locked)  # idempotent
    assert not locked.is_recruitment_locked
    services.study_remove_criterion(membership=researcher, study=locked, slug="job-function")
    locked.refresh_from_db()
    assert locked.criteria == []
