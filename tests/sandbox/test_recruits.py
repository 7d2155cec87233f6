"""Recruits: creation, validation, the state machine, PATCH rules, lists and filters."""

import pytest

from rally import clock
from sandbox import services
from sandbox.models import Applicant, Recruit, Session
from tests.sandbox.conftest import recruit_body
from tests.sandbox.factories import ApplicantFactory, SessionFactory


def attrs(response):
    return response.json()["data"]["attributes"]


def test_create_answers_201_in_draft_with_every_documented_attribute(api):
    response = api.post("/recruits", recruit_body())
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["type"] == "recruits" and data["id"].startswith("rec_")
    a = data["attributes"]
    assert a["status"] == "draft"
    assert a["compensation"] == {"amountCents": 7500, "currency": "USD"}
    assert a["screener"]["version"] == 1 and len(a["screener"]["questions"]) == 3
    assert a["counts"] == {"applicants": 0, "qualified": 0, "approved": 0, "scheduled": 0,
                           "completed": 0, "noShow": 0}
    assert a["applicationUrl"] is None and a["launchedAt"] is None
    assert a["createdAt"].endswith("Z")


def test_plain_attribute_bodies_are_accepted_too(api):
    body = recruit_body()["data"]["attributes"]
    assert api.post("/recruits", body).status_code == 201


def test_a_second_create_with_the_same_external_id_returns_the_first(api):
    first = api.post("/recruits", recruit_body(externalId="study-1"))
    second = api.post("/recruits", recruit_body(externalId="study-1", internalName="Again"))
    assert second.status_code == 201
    assert second.json()["data"]["id"] == first.json()["data"]["id"]
    assert attrs(second)["internalName"] == "Checkout interviews"
    assert Recruit.objects.count() == 1


@pytest.mark.parametrize("overrides,pointer", [
    ({"numParticipants": 0}, "/data/attributes/numParticipants"),
    ({"numParticipants": "five"}, "/data/attributes/numParticipants"),
    ({"studyType": "focus_group"}, "/data/attributes/studyType"),
    ({"compensation": {"amountCents": -5, "currency": "USD"}}, "/data/attributes/compensation"),
    ({"compensation": {"amountCents": 10.5, "currency": "USD"}}, "/data/attributes/compensation"),
    ({"compensation": {"amountCents": 100, "currency": "EUR"}}, "/data/attributes/compensation"),
    ({"timezone": "Mars/Olympus"}, "/data/attributes/timezone"),
    ({"schedulingUrl": "javascript:alert(1)"}, "/data/attributes/schedulingUrl"),
    ({"requireApproval": False}, "/data/attributes/requireApproval"),
    ({"colour": "blue"}, "/data/attributes/colour"),
    ({"audience": {"type": "b2c", "countries": ["XX"]}}, "/data/attributes/audience/countries/0"),
    ({"audience": {"type": "b2c", "countries": ["US"], "usStates": ["ZZ"]}},
     "/data/attributes/audience/usStates/0"),
    ({"audience": {"type": "b2c", "countries": ["CA"], "usStates": ["NY"]}},
     "/data/attributes/audience/usStates"),
    ({"audience": {"type": "b3b", "countries": ["US"]}}, "/data/attributes/audience/type"),
    ({"audience": {"type": "b2b", "countries": ["US"], "criteria": [
        {"characteristic": "age_range", "values": ["25-34"]}]}},
     "/data/attributes/audience/criteria"),
    ({"audience": {"type": "b2c", "countries": ["US"], "criteria": [
        {"characteristic": "shoe_size", "values": ["9"]}]}},
     "/data/attributes/audience/criteria/0"),
    ({"audience": {"type": "b2c", "countries": ["US"], "criteria": [
        {"characteristic": "age_range", "values": ["12-17"]}]}},
     "/data/attributes/audience/criteria/0"),
    ({"audience": {"type": "b2c", "countries": ["US"], "criteria": [
        {"characteristic": "company_size", "values": ["1"]}]}},
     "/data/attributes/audience/criteria/0"),
    ({"audience": {"type": "b2c", "countries": ["US"], "criteria": [
        {"characteristic": "age", "range": {"min": 60, "max": 30}}]}},
     "/data/attributes/audience/criteria/0"),
    ({"audience": {"type": "b2c", "countries": ["US"], "criteria": [
        {"characteristic": "age_range", "values": []}]}},
     "/data/attributes/audience/criteria/0"),
    ({"screener": {"questions": [{"text": "no uid"}]}}, "/data/attributes/screener/questions/0"),
    ({"screener": "yes"}, "/data/attributes/screener"),
])
def test_bad_attributes_are_422_with_a_pointer_and_change_nothing(api, overrides, pointer):
    response = api.post("/recruits", recruit_body(**overrides))
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert errors[0]["code"] == "validation_failed"
    assert pointer in [error["source"]["pointer"] for error in errors]
    assert not Recruit.objects.exists()


def test_missing_required_attributes_are_listed_together(api):
    response = api.post("/recruits", {"internalName": "Only a name"})
    pointers = {e["source"]["pointer"] for e in response.json()["errors"]}
    assert {"/data/attributes/studyType", "/data/attributes/numParticipants",
            "/data/attributes/audience", "/data/attributes/compensation"} <= pointers


def test_b2b_with_a_professional_criterion_is_accepted(api):
    audience = {"type": "b2b", "countries": ["US", "GB"], "usStates": ["NY", "DC"],
                "criteria": [{"characteristic": "job_function", "values": ["engineering"]},
                             {"characteristic": "years_experience",
                              "range": {"min": 3, "max": 10}}]}
    response = api.post("/recruits", recruit_body(audience=audience))
    assert response.status_code == 201
    assert attrs(response)["audience"]["usStates"] == ["DC", "NY"]


# State machine -----------------------------------------------------------------------

ACTIONS = ["launches", "pauses", "resumptions", "closures"]
# (status, action) -> resulting status; every other pair is 409.
ALLOWED = {
    ("draft", "launches"): "pending_review",
    ("draft", "closures"): "closed",
    ("pending_review", "closures"): "closed",
    ("recruiting", "pauses"): "paused",
    ("recruiting", "closures"): "closed",
    ("paused", "resumptions"): "recruiting",
    ("paused", "closures"): "closed",
    ("filled", "pauses"): "paused",
    ("filled", "closures"): "closed",
}
STATUSES = ["draft", "pending_review", "recruiting", "paused", "filled", "declined", "closed"]


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", ACTIONS)
def test_recruit_state_machine(api, make_recruit, status, action):
    if status == "filled":
        recruit_id = make_recruit("recruiting", numParticipants=1)
        applicant = ApplicantFactory(recruit_id=recruit_id)
        services.applicant_approve(applicant_id=applicant.id)
        assert Recruit.objects.get(pk=recruit_id).status == "filled"
    else:
        recruit_id = make_recruit(status)
    response = api.post(f"/recruits/{recruit_id}/{action}")
    expected = ALLOWED.get((status, action))
    if expected is None:
        assert response.status_code == 409, response.content
        error = response.json()["errors"][0]
        assert error["code"] == "invalid_state_transition"
        allowed = sorted(a for (s, a) in ALLOWED if s == status)
        assert error["meta"]["allowedActions"] == allowed
        assert Recruit.objects.get(pk=recruit_id).status == status
    else:
        assert response.status_code == (202 if action == "launches" else 200)
        assert attrs(response)["status"] == expected


def test_launch_sets_launched_at_and_the_application_url_appears_when_recruiting(
        api, make_recruit):
    recruit_id = make_recruit()
    launched = attrs(api.post(f"/recruits/{recruit_id}/launches"))
    assert launched["launchedAt"] and launched["applicationUrl"] is None
    reviewed = attrs(api.post(f"/_sandbox/recruits/{recruit_id}/review", {"outcome": "approve"}))
    assert reviewed["status"] == "recruiting"
    assert reviewed["applicationUrl"].endswith(f"/sandbox/apply/{recruit_id}")


def test_review_decline_is_terminal_with_a_reason(api, make_recruit):
    recruit_id = make_recruit("pending_review")
    response = api.post(f"/_sandbox/recruits/{recruit_id}/review",
                        {"outcome": "decline", "reason": "Incentive too low"})
    assert attrs(response)["status"] == "declined"
    assert attrs(response)["declinedReason"] == "Incentive too low"
    again = api.post(f"/_sandbox/recruits/{recruit_id}/review", {"outcome": "approve"})
    assert again.status_code == 409


def test_review_of_a_draft_is_refused(api, make_recruit):
    response = api.post(f"/_sandbox/recruits/{make_recruit()}/review", {"outcome": "approve"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["meta"]["allowedActions"] == ["closures", "launches"]


def test_seats_fill_and_free(api, make_recruit):
    recruit_id = make_recruit("recruiting", numParticipants=2)
    first, second = (ApplicantFactory(recruit_id=recruit_id) for _ in range(2))
    services.applicant_approve(applicant_id=first.id)
    assert Recruit.objects.get(pk=recruit_id).status == "recruiting"
    services.applicant_approve(applicant_id=second.id)
    assert Recruit.objects.get(pk=recruit_id).status == "filled"
    booked, _ = services.session_create(recruit_id=recruit_id, applicant_id=second.id,
                                        starts_at=clock.now(),
                                        ends_at=clock.now() + __import__("datetime").timedelta(
                                            hours=1))
    services.session_act(session_id=booked.id, action="no_shows")
    assert Recruit.objects.get(pk=recruit_id).status == "recruiting"


def test_closure_cancels_future_sessions_and_reports_billing(api, make_recruit):
    recruit_id = make_recruit("recruiting")
    recruit = Recruit.objects.get(pk=recruit_id)
    from datetime import timedelta

    past = SessionFactory(recruit=recruit, applicant__recruit=recruit, status="completed",
                          applicant__status="completed",
                          starts_at=clock.now() - timedelta(days=1))
    future = SessionFactory(recruit=recruit, applicant__recruit=recruit,
                            starts_at=clock.now() + timedelta(days=1))
    api.post(f"/sessions/{past.id}/payments", {"externalId": "pay-1", "trigger": "manual"})
    services.payments_advance()
    services.payments_advance()
    response = api.post(f"/recruits/{recruit_id}/closures")
    assert response.status_code == 200
    a = attrs(response)
    assert a["status"] == "closed" and a["closedAt"]
    assert a["billing"] == {"completedSessions": 1, "incentivesCents": 7500, "paidPayments": 1}
    assert Session.objects.get(pk=future.id).status == "canceled"
    assert Applicant.objects.get(pk=future.applicant_id).status == "canceled"
    assert api.post(f"/recruits/{recruit_id}/closures").status_code == 409


# PATCH ---------------------------------------------------------------------------------


def test_patch_changes_anything_in_draft(api, make_recruit):
    recruit_id = make_recruit()
    response = api.patch(f"/recruits/{recruit_id}", {"numParticipants": 9,
                                                     "compensation": {"amountCents": 100,
                                                                      "currency": "USD"},
                                                     "studyType": "group_interview"})
    assert response.status_code == 200
    assert attrs(response)["numParticipants"] == 9
    assert attrs(response)["studyType"] == "group_interview"


@pytest.mark.parametrize("field,value", [
    ("audience", {"type": "b2c", "countries": ["CA"], "usStates": [], "criteria": []}),
    ("compensation", {"amountCents": 100, "currency": "USD"}),
    ("studyType", "unmoderated_task"),
])
def test_patch_after_launch_of_locked_fields_is_refused(api, make_recruit, field, value):
    recruit_id = make_recruit("recruiting")
    response = api.patch(f"/recruits/{recruit_id}", {field: value})
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["code"] == "locked_after_launch"
    assert error["source"]["pointer"] == f"/data/attributes/{field}"


def test_num_participants_only_decreases_after_launch(api, make_recruit):
    recruit_id = make_recruit("recruiting", numParticipants=5)
    assert api.patch(f"/recruits/{recruit_id}", {"numParticipants": 6}).status_code == 422
    response = api.patch(f"/recruits/{recruit_id}", {"numParticipants": 4})
    assert attrs(response)["numParticipants"] == 4


def test_lowering_num_participants_can_fill_the_recruit(api, make_recruit):
    recruit_id = make_recruit("recruiting", numParticipants=5)
    services.applicant_approve(applicant_id=ApplicantFactory(recruit_id=recruit_id).id)
    response = api.patch(f"/recruits/{recruit_id}", {"numParticipants": 1})
    assert attrs(response)["status"] == "filled"


def test_screener_change_is_a_new_version_only_new_applicants_see(api, make_recruit):
    recruit_id = make_recruit("recruiting")
    api.post(f"/_sandbox/recruits/{recruit_id}/applicants", {"count": 2})
    new_screener = {"questions": [{"uid": "n1", "type": "multiple_choice", "text": "Devices?",
                                   "options": [{"uid": "a", "label": "Phone"},
                                               {"uid": "b", "label": "Laptop"}]}]}
    response = api.patch(f"/recruits/{recruit_id}", {"screener": new_screener})
    assert attrs(response)["screener"]["version"] == 2
    api.post(f"/_sandbox/recruits/{recruit_id}/applicants", {"count": 2})
    applicants = api.get(f"/recruits/{recruit_id}/applicants").json()["data"]
    versions = [a["attributes"]["screenerVersion"] for a in applicants]
    assert versions == [1, 1, 2, 2]
    latest = applicants[-1]["attributes"]["screenerResponses"]
    assert [r["questionUid"] for r in latest] == ["n1"]
    same = api.patch(f"/recruits/{recruit_id}", {"screener": new_screener})
    assert attrs(same)["screener"]["version"] == 2


def test_applicants_carry_the_version_number_rally_gave_its_screener(api, make_recruit):
    recruit_id = make_recruit("recruiting")
    screener = {"version": 7, "questions": [
        {"uid": "q1", "type": "short_text", "text": "Your role?"}]}
    response = api.patch(f"/recruits/{recruit_id}", {"screener": screener})
    assert attrs(response)["screener"]["version"] == 7
    api.post(f"/_sandbox/recruits/{recruit_id}/applicants", {"count": 1})
    applicant = api.get(f"/recruits/{recruit_id}/applicants").json()["data"][0]
    assert applicant["attributes"]["screenerVersion"] == 7
    bad = api.patch(f"/recruits/{recruit_id}", {"screener": {**screener, "version": 0}})
    assert bad.status_code == 422


def test_patch_of_a_closed_recruit_is_refused(api, make_recruit):
    recruit_id = make_recruit("closed")
    response = api.patch(f"/recruits/{recruit_id}", {"internalName": "x"})
    assert response.status_code == 409


def test_external_id_cannot_change(api, make_recruit):
    response = api.patch(f"/recruits/{make_recruit()}", {"externalId": "other"})
    assert response.status_code == 422


def test_unknown_recruit_is_404(api):
    assert api.get("/recruits/rec_nope").status_code == 404
    assert api.post("/recruits/rec_nope/launches").status_code == 404


# Lists -------------------------------------------------------------------------------


def test_pagination_meta_and_links(api, make_recruit):
    for _ in range(5):
        make_recruit()
    page = api.get("/recruits?page[size]=2&page[number]=2").json()
    assert page["meta"]["pagination"] == {"currentPage": 2, "pageSize": 2, "totalPages": 3,
                                          "totalCount": 5}
    assert "page%5Bnumber%5D=3" in page["links"]["next"]
    assert "page%5Bnumber%5D=1" in page["links"]["prev"]
    last = api.get("/recruits?page[size]=2&page[number]=3").json()
    assert len(last["data"]) == 1 and last["links"]["next"] is None
    default = api.get("/recruits").json()["meta"]["pagination"]
    assert default["pageSize"] == 25


@pytest.mark.parametrize("query", ["page[size]=201", "page[size]=0", "page[number]=0",
                                   "page[number]=two", "page[size]=-1", "page[colour]=red",
                                   "filter[status]=sleeping", "filter[updatedSince]=yesterday",
                                   "sort=name"])
def test_bad_paging_and_filters_are_400(api, query):
    response = api.get(f"/recruits?{query}")
    assert response.status_code == 400


def test_page_size_200_is_allowed(api):
    assert api.get("/recruits?page[size]=200").status_code == 200


def test_filters_by_status_external_id_and_updated_since(api, make_recruit):
    draft = make_recruit(externalId="a")
    make_recruit("recruiting", externalId="b")
    make_recruit("paused", externalId="c")
    statuses = api.get("/recruits?filter[status]=recruiting,paused").json()["data"]
    assert sorted(r["attributes"]["status"] for r in statuses) == ["paused", "recruiting"]
    by_external = api.get("/recruits?filter[externalId]=a").json()["data"]
    assert [r["id"] for r in by_external] == [draft]
    since = clock.now()
    clock.advance(hours=1)
    api.patch(f"/recruits/{draft}", {"internalName": "changed"})
    recent = api.get(f"/recruits?filter[updatedSince]={since.isoformat().replace('+00:00', 'Z')}")
    assert [r["id"] for r in recent.json()["data"]] == [draft]
