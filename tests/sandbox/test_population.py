"""The characteristics catalog, the synthetic population (UI's panel) and reach estimates."""

import random

import pytest

from sandbox import catalog, population


def estimate(api, audience, num=10, study_type="interview"):
    return api.post("/estimates", {"audience": audience, "studyType": study_type,
                                   "numParticipants": num, "durationMinutes": 45})


def test_the_catalog_has_forty_characteristics_over_four_categories(api):
    response = api.get("/characteristics")
    assert response.status_code == 200
    items = response.json()["data"]
    assert len(items) >= 40
    categories = {item["attributes"]["category"] for item in items}
    assert categories == {"professional", "accessibility", "demographic", "technology"}
    for item in items:
        a = item["attributes"]
        assert item["type"] == "characteristics" and item["id"] == a["slug"]
        assert a["valueType"] in ("single_select", "multi_select", "range")
        assert "type" not in a  # JSON:API reserves the name
        assert set(a["audienceTypes"]) <= {"b2c", "b2b"} and a["audienceTypes"]
        if a["valueType"] == "range":
            assert a["range"]["min"] < a["range"]["max"]
        else:
            ids = [c["id"] for c in a["choices"]]
            assert len(ids) == len(set(ids)) >= 2 and all(c["label"] for c in a["choices"])
    slugs = {item["id"] for item in items}
    assert {"company_size", "industry", "occupation", "job_function", "seniority", "age_range",
            "gender", "languages_spoken", "household_income", "education", "browsers",
            "operating_systems", "devices", "disability"} <= slugs


def test_the_panel_covers_every_state_and_more_than_ten_other_countries():
    assert population.POPULATION_SIZE >= 1_000_000
    assert len(population.US_STATE_POPULATION) == 51 and "DC" in population.US_STATE_POPULATION
    assert len([c for c in population.COUNTRY_SHARES if c != "US"]) >= 10
    assert set(population.COUNTRY_SHARES) <= population.VALID_COUNTRIES


def test_conditional_weights_cover_every_parent_choice():
    for characteristic in catalog.CHARACTERISTICS:
        if characteristic.parent:
            parent = catalog.BY_SLUG[characteristic.parent]
            assert set(characteristic.conditional) == parent.choice_ids()
            assert all(len(w) == len(characteristic.choices)
                       for w in characteristic.conditional.values())


def test_an_estimate_answers_reach_feasibility_and_days(api):
    response = estimate(api, {"type": "b2c", "countries": ["US"], "criteria": []})
    assert response.status_code == 200
    a = response.json()["data"]["attributes"]
    assert a["reach"] > 500_000 and a["reachBelowThreshold"] is False
    assert a["feasibility"] == "high" and a["estimatedDaysToFill"] >= 1


def test_estimates_are_deterministic(api):
    audience = {"type": "b2b", "countries": ["US", "CA"], "usStates": ["CA", "TX"],
                "criteria": [{"characteristic": "industry", "values": ["software"]}]}
    assert estimate(api, audience).json() == estimate(api, audience).json()


def test_a_tiny_audience_is_below_threshold_and_infeasible(api):
    audience = {"type": "b2b", "countries": ["IE"], "criteria": [
        {"characteristic": "occupation", "values": ["pharmacist"]},
        {"characteristic": "disability", "values": ["blind"]},
        {"characteristic": "company_size", "values": ["10001+"]},
        {"characteristic": "seniority", "values": ["c_level"]}]}
    a = estimate(api, audience).json()["data"]["attributes"]
    assert a == {"reach": 0, "reachBelowThreshold": True, "feasibility": "infeasible",
                 "estimatedDaysToFill": None}


def test_correlation_senior_people_sit_in_large_companies_owners_in_small_ones():
    def share(size, seniority):
        return population.criteria_share([
            {"characteristic": "company_size", "values": [size]},
            {"characteristic": "seniority", "values": [seniority]}], "b2b") / \
            population.criteria_share([{"characteristic": "company_size", "values": [size]}], "b2b")

    assert share("1", "owner") > 10 * share("10001+", "owner")
    assert share("10001+", "vp") > share("1", "vp")


def test_feasibility_falls_as_the_study_grows(api):
    audience = {"type": "b2c", "countries": ["NL"], "criteria": [
        {"characteristic": "age_range", "values": ["18-24"]},
        {"characteristic": "devices", "values": ["vr_headset"]}]}
    levels = [estimate(api, audience, num=n).json()["data"]["attributes"]["feasibility"]
              for n in (1, 20, 100, 1000)]
    order = ["high", "medium", "low", "infeasible"]
    ranks = [order.index(level) for level in levels]
    assert ranks == sorted(ranks)
    assert levels[0] != levels[-1]


def _random_criterion(rng, audience_type):
    characteristic = rng.choice([c for c in catalog.CHARACTERISTICS
                                 if audience_type in c.audience_types])
    if characteristic.type == "range":
        low = rng.randint(characteristic.range["min"], characteristic.range["max"])
        high = rng.randint(low, characteristic.range["max"])
        return {"characteristic": characteristic.slug, "range": {"min": low, "max": high}}
    values = rng.sample([c.id for c in characteristic.choices],
                        k=rng.randint(1, len(characteristic.choices)))
    return {"characteristic": characteristic.slug, "values": values}


@pytest.mark.parametrize("seed", range(40))
def test_more_criteria_never_reach_more_people(seed):
    rng = random.Random(seed)
    audience_type = rng.choice(["b2c", "b2b"])
    criteria = [] if audience_type == "b2c" else [
        {"characteristic": "employment_status", "values": ["full_time", "part_time"]}]
    audience = {"type": audience_type,
                "countries": rng.sample(sorted(population.COUNTRY_SHARES), 3),
                "usStates": [], "criteria": criteria}
    previous = population.reach_estimate(audience=audience, study_type="interview",
                                         num_participants=5)["reach"]
    seen = {c["characteristic"] for c in criteria}
    for _ in range(8):
        criterion = _random_criterion(rng, audience_type)
        if criterion["characteristic"] in seen:
            continue
        seen.add(criterion["characteristic"])
        audience["criteria"] = [*audience["criteria"], criterion]
        reach = population.reach_estimate(audience=audience, study_type="interview",
                                          num_participants=5)["reach"]
        assert reach <= previous, audience
        previous = reach


def test_narrowing_a_criterion_never_widens_reach():
    wide = {"type": "b2c", "countries": ["US"], "usStates": [], "criteria": [
        {"characteristic": "household_income", "values": ["100-150k", "150-200k"]},
        {"characteristic": "age_range", "values": ["25-34", "35-44"]}]}
    narrow = {**wide, "criteria": [
        {"characteristic": "household_income", "values": ["150-200k"]},
        {"characteristic": "age_range", "values": ["25-34", "35-44"]}]}

    def reach(audience):
        return population.reach_estimate(audience=audience, study_type="interview",
                                         num_participants=5)["reach"]

    assert reach(narrow) < reach(wide)
    states = {**wide, "usStates": ["NY"]}
    assert reach(states) < reach(wide)


@pytest.mark.parametrize("body", [
    {},
    {"audience": {"type": "b2b", "countries": ["US"], "criteria": []}},
    {"audience": {"type": "b2c", "countries": ["USA"]}},
    {"audience": {"type": "b2c"}, "numParticipants": 0},
    {"audience": {"type": "b2c"}, "studyType": "party"},
    {"audience": {"type": "b2c"}, "budget": 5},
])
def test_bad_estimate_requests_are_422(api, body):
    response = api.post("/estimates", body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "validation_failed"


def test_member_draws_are_deterministic_and_meet_the_criteria():
    audience = {"type": "b2c", "countries": ["US", "DE"], "usStates": [], "criteria": [
        {"characteristic": "age", "range": {"min": 20, "max": 29}},
        {"characteristic": "browsers", "values": ["firefox"]},
        {"characteristic": "household_income", "values": ["200k+"]}]}
    first = [population.member_draw(seed=3, index=i, audience=audience) for i in range(30)]
    again = [population.member_draw(seed=3, index=i, audience=audience) for i in range(30)]
    assert first == again
    for member in first:
        assert member["unmetCriteria"] == []
        assert 20 <= member["profile"]["age"] <= 29
        assert "firefox" in member["profile"]["browsers"]
        assert member["country"] in ("US", "DE")
        assert (member["usState"] is not None) == (member["country"] == "US")
