"""Applicants, sessions and payments over the API, with the sandbox controls."""

from datetime import timedelta

import pytest

from rally import clock
from sandbox import services
from sandbox.models import Applicant, Payment, Recruit
from tests.sandbox.factories import ApplicantFactory, PaymentFactory, SessionFactory


def data(response):
    return response.json()["data"]


def ts(value):
    return value.isoformat().replace("+00:00", "Z")


B2B = {"type": "b2b", "countries": ["US"], "usStates": [], "criteria": [
    {"characteristic": "company_size", "values": ["10001+"]},
    {"characteristic": "seniority", "values": ["director", "vp"]},
    {"characteristic": "age", "range": {"min": 30, "max": 50}},
    {"characteristic": "devices", "values": ["tablet"]}]}


def test_generated_applicants_match_the_criteria_and_answer_the_screener(api, make_recruit):
    recruit_id = make_recruit("recruiting", audience=B2B)
    response = api.post(f"/_sandbox/recruits/{recruit_id}/applicants", {"count": 20, "seed": 7})
    assert response.status_code == 201
    assert response.json()["meta"]["created"] == 20
    for item in data(api.get(f"/recruits/{recruit_id}/applicants")):
        a = item["attributes"]
        assert a["status"] == "applied" and a["source"] == "panel"
        assert a["qualification"] == "manual_review" and a["unmetCriteria"] == []
        matched = {m["characteristic"]: m["values"] for m in a["matchedCriteria"]}
        assert matched["company_size"] == ["10001+"]
        assert matched["seniority"][0] in ("director", "vp")
        assert 30 <= int(matched["age"][0]) <= 50
        assert "tablet" in matched["devices"]
        responses = {r["questionUid"]: r for r in a["screenerResponses"]}
        assert responses["q1"]["answerUids"] == ["o1"]  # never the disqualifying option
        assert 1 <= responses["q2"]["number"] <= 7
        assert responses["q3"]["text"]
        assert a["participant"]["firstName"] and len(a["participant"]["lastInitial"]) == 1


def test_the_same_seed_draws_the_same_people(api, make_recruit):
    people = []
    for _ in range(2):
        recruit_id = make_recruit("recruiting", audience=B2B)
        api.post(f"/_sandbox/recruits/{recruit_id}/applicants", {"count": 5, "seed": 99})
        people.append([(a["attributes"]["participant"]["firstName"],
                        a["attributes"]["matchedCriteria"])
                       for a in data(api.get(f"/recruits/{recruit_id}/applicants"))])
    assert people[0] == people[1]


def test_direct_link_applicants_who_miss_criteria_are_unqualified(api, make_recruit):
    recruit_id = make_recruit("recruiting", audience=B2B)
    api.post(f"/_sandbox/recruits/{recruit_id}/applicants",
             {"count": 10, "viaDirectLink": True, "meetsCriteria": False})
    for item in data(api.get(f"/recruits/{recruit_id}/applicants")):
        a = item["attributes"]
        assert a["source"] == "direct_link"
        assert a["qualification"] == "unqualified"
        assert a["unmetCriteria"], a
        unmet = {u["characteristic"] for u in a["unmetCriteria"]}
        matched = {m["characteristic"] for m in a["matchedCriteria"]}
        assert not unmet & matched and unmet | matched == {c["characteristic"]
                                                           for c in B2B["criteria"]}


@pytest.mark.parametrize("body", [{"count": 0}, {"count": 10_001}, {"count": "3"}, {},
                                  {"count": 1, "viaDirectLink": "yes"}, {"count": 1, "x": 1}])
def test_bad_generate_requests_are_422(api, make_recruit, body):
    recruit_id = make_recruit("recruiting")
    assert api.post(f"/_sandbox/recruits/{recruit_id}/applicants", body).status_code == 422


def test_draft_recruits_take_no_applicants(api, make_recruit):
    response = api.post(f"/_sandbox/recruits/{make_recruit()}/applicants", {"count": 1})
    assert response.status_code == 409


def test_approval_stores_the_invitation_url(api, make_recruit):
    recruit_id = make_recruit("recruiting")
    applicant = ApplicantFactory(recruit_id=recruit_id)
    url = "http://rally.test/book/abc?token=signed"
    response = api.post(f"/applicants/{applicant.id}/approvals", {"schedulingUrl": url})
    assert response.status_code == 200
    assert data(response)["attributes"]["status"] == "approved"
    assert data(response)["attributes"]["invitationUrl"] == url


def test_approval_without_a_link_uses_the_recruits(api, make_recruit):
    applicant = ApplicantFactory(recruit_id=make_recruit("recruiting"))
    response = api.post(f"/applicants/{applicant.id}/approvals")
    assert data(response)["attributes"]["invitationUrl"] == "http://rally.test/book/study"


def test_rejection_with_a_reason(api, make_recruit):
    applicant = ApplicantFactory(recruit_id=make_recruit("recruiting"))
    response = api.post(f"/applicants/{applicant.id}/rejections", {"reason": "Not a fit"})
    a = data(response)["attributes"]
    assert a["status"] == "rejected" and a["rejectionReason"] == "Not a fit"
    again = api.post(f"/applicants/{applicant.id}/approvals")
    assert again.status_code == 409
    assert again.json()["errors"][0]["meta"]["allowedActions"] == []


def test_approving_twice_is_409(api, make_recruit):
    applicant = ApplicantFactory(recruit_id=make_recruit("recruiting"))
    api.post(f"/applicants/{applicant.id}/approvals")
    response = api.post(f"/applicants/{applicant.id}/approvals")
    assert response.status_code == 409
    assert response.json()["errors"][0]["meta"]["allowedActions"] == ["rejections"]


def test_bad_approval_and_rejection_bodies(api, make_recruit):
    applicant = ApplicantFactory(recruit_id=make_recruit("recruiting"))
    assert api.post(f"/applicants/{applicant.id}/approvals",
                    {"schedulingUrl": "ftp://x"}).status_code == 422
    assert api.post(f"/applicants/{applicant.id}/rejections", {"reason": 5}).status_code == 422
    assert api.post("/applicants/app_missing/approvals").status_code == 404
    assert Applicant.objects.get(pk=applicant.id).status == "applied"


def test_applicant_filters(api, make_recruit):
    recruit_id = make_recruit("recruiting")
    api.post(f"/_sandbox/recruits/{recruit_id}/applicants", {"count": 3})
    first = data(api.get(f"/recruits/{recruit_id}/applicants"))[0]
    since = clock.now()
    clock.advance(hours=1)
    api.post(f"/applicants/{first['id']}/approvals")
    approved = data(api.get(f"/recruits/{recruit_id}/applicants?filter[status]=approved"))
    assert [a["id"] for a in approved] == [first["id"]]
    recent = data(api.get(f"/recruits/{recruit_id}/applicants?filter[updatedSince]={ts(since)}"))
    assert [a["id"] for a in recent] == [first["id"]]
    assert api.get(f"/recruits/{recruit_id}/applicants?filter[externalId]=x").status_code == 400
    assert api.get(f"/applicants/{first['id']}").status_code == 200


# Sessions ------------------------------------------------------------------------------


@pytest.fixture
def approved(api, make_recruit):
    recruit_id = make_recruit("recruiting")
    applicant = ApplicantFactory(recruit_id=recruit_id)
    api.post(f"/applicants/{applicant.id}/approvals")
    return recruit_id, applicant.id


def session_document(applicant_id, starts_at, ends_at, **relationships):
    """A session creation as JSON:API: times as attributes, the applicant a relationship."""
    links = {"applicant": {"data": {"type": "applicants", "id": applicant_id}}}
    return {"data": {"type": "sessions", "attributes": {"startsAt": starts_at,
                                                        "endsAt": ends_at},
                     "relationships": {**links, **relationships}}}


def book(api, recruit_id, applicant_id, hours=24):
    starts = (clock.now() + timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    return api.post(f"/recruits/{recruit_id}/sessions",
                    session_document(applicant_id, ts(starts),
                                     ts(starts + timedelta(minutes=45))))


def test_session_create_and_list(api, approved):
    recruit_id, applicant_id = approved
    response = book(api, recruit_id, applicant_id)
    assert response.status_code == 201
    session = data(response)
    assert session["attributes"]["status"] == "scheduled"
    assert session["relationships"]["applicant"]["data"] == {"type": "applicants",
                                                             "id": applicant_id}
    assert session["relationships"]["groupSession"] == {"data": None}
    assert "applicantId" not in session["attributes"]
    listed = data(api.get(f"/recruits/{recruit_id}/sessions"))
    assert [s["id"] for s in listed] == [session["id"]]
    assert Applicant.objects.get(pk=applicant_id).status == "scheduled"
    assert book(api, recruit_id, applicant_id).json()["data"]["id"] == session["id"]
    assert book(api, recruit_id, applicant_id, hours=48).status_code == 409


@pytest.mark.parametrize("body", [
    session_document("app_nope", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z"),
    {"data": {"type": "sessions", "attributes": {"startsAt": "2030-01-01T10:00:00Z",
                                                 "endsAt": "2030-01-01T11:00:00Z"}}},
    session_document("x", "tomorrow", "2030-01-01T11:00:00Z"),
    session_document("x", "2030-01-01T10:00:00", "2030-01-01T11:00:00Z"),
    # The applicant's id as an attribute (the old form): JSON:API names it a relationship.
    {"applicantId": "x", "startsAt": "2030-01-01T10:00:00Z", "endsAt": "2030-01-01T11:00:00Z"},
    session_document("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z",
                     applicant={"data": {"type": "people", "id": "x"}}),
    session_document("x", "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z",
                     groupSession={"data": "grp_1"}),
])
def test_bad_session_requests_are_422(api, approved, body):
    recruit_id, _ = approved
    assert api.post(f"/recruits/{recruit_id}/sessions", body).status_code == 422


def test_session_ending_before_it_starts_is_422(api, approved):
    recruit_id, applicant_id = approved
    response = api.post(f"/recruits/{recruit_id}/sessions",
                        session_document(applicant_id, "2030-01-01T11:00:00Z",
                                         "2030-01-01T10:00:00Z"))
    assert response.status_code == 422


@pytest.mark.parametrize("action,session_status,applicant_status,allowed", [
    ("completions", "completed", "completed", ["no_shows"]),
    ("no_shows", "no_show", "no_show", ["completions"]),
    ("cancellations", "canceled", "canceled", []),
])
def test_session_outcomes(api, approved, action, session_status, applicant_status, allowed):
    recruit_id, applicant_id = approved
    session_id = data(book(api, recruit_id, applicant_id))["id"]
    response = api.post(f"/sessions/{session_id}/{action}")
    assert response.status_code == 200
    assert data(response)["attributes"]["status"] == session_status
    assert Applicant.objects.get(pk=applicant_id).status == applicant_status
    again = api.post(f"/sessions/{session_id}/{action}")
    assert again.status_code == 409
    assert again.json()["errors"][0]["meta"]["allowedActions"] == allowed


def test_a_no_show_is_undone_until_the_session_is_paid(api, approved):
    recruit_id, applicant_id = approved
    session_id = data(book(api, recruit_id, applicant_id))["id"]
    api.post(f"/sessions/{session_id}/completions")
    assert data(api.post(f"/sessions/{session_id}/no_shows"))["attributes"]["status"] == "no_show"
    undone = api.post(f"/sessions/{session_id}/completions")
    assert data(undone)["attributes"]["status"] == "completed"
    assert Applicant.objects.get(pk=applicant_id).status == "completed"
    assert pay(api, session_id).status_code == 201
    refused = api.post(f"/sessions/{session_id}/no_shows")
    assert refused.status_code == 409
    assert Applicant.objects.get(pk=applicant_id).status == "completed"


def test_reschedule_moves_the_session(api, approved):
    recruit_id, applicant_id = approved
    session_id = data(book(api, recruit_id, applicant_id))["id"]
    response = api.post(f"/sessions/{session_id}/reschedules",
                        {"startsAt": "2031-05-01T15:00:00Z", "endsAt": "2031-05-01T16:00:00Z"})
    assert data(response)["attributes"]["startsAt"] == "2031-05-01T15:00:00Z"
    assert data(response)["attributes"]["status"] == "scheduled"
    assert api.post(f"/sessions/{session_id}/reschedules", {"startsAt": "x"}).status_code == 422


def test_a_canceled_applicant_can_book_again(api, approved):
    recruit_id, applicant_id = approved
    session_id = data(book(api, recruit_id, applicant_id))["id"]
    api.post(f"/sessions/{session_id}/cancellations")
    assert book(api, recruit_id, applicant_id, hours=72).status_code == 201


def test_unmoderated_submission_creates_a_session_to_complete(api, make_recruit):
    recruit_id = make_recruit("recruiting", studyType="unmoderated_task",
                              taskUrl="http://rally.test/task/1", schedulingUrl=None)
    applicant = ApplicantFactory(recruit_id=recruit_id)
    api.post(f"/applicants/{applicant.id}/approvals", {"taskUrl": "http://rally.test/t?x=1"})
    response = api.post(f"/_sandbox/applicants/{applicant.id}/submit")
    assert response.status_code == 200
    assert data(response)["attributes"]["status"] == "submitted"
    session_id = response.json()["included"][0]["id"]
    api.post(f"/sessions/{session_id}/completions")
    assert Applicant.objects.get(pk=applicant.id).status == "completed"


def test_submit_is_only_for_unmoderated_approved_applicants(api, approved, make_recruit):
    _, applicant_id = approved
    assert api.post(f"/_sandbox/applicants/{applicant_id}/submit").status_code == 409
    recruit_id = make_recruit("recruiting", studyType="unmoderated_task")
    applicant = ApplicantFactory(recruit_id=recruit_id)
    assert api.post(f"/_sandbox/applicants/{applicant.id}/submit").status_code == 409


# Payments ------------------------------------------------------------------------------


def pay(api, session_id, external_id="payout-1", trigger="manual"):
    return api.post(f"/sessions/{session_id}/payments",
                    {"externalId": external_id, "trigger": trigger})


def test_payment_is_idempotent_by_external_id(api):
    session = SessionFactory(status="completed", applicant__status="completed")
    first = pay(api, session.id)
    assert first.status_code == 201
    a = data(first)["attributes"]
    assert a["status"] == "pending" and a["amount"] == {"amountCents": 7500, "currency": "USD"}
    assert a["provider"] == "tremendous"
    assert data(first)["relationships"]["session"]["data"] == {"type": "sessions",
                                                               "id": session.id}
    again = pay(api, session.id)  # a new Idempotency-Key: the externalId still dedupes
    assert again.status_code == 201 and data(again)["id"] == data(first)["id"]
    assert Payment.objects.count() == 1


def test_a_repeat_while_processing_answers_202(api):
    session = SessionFactory(status="completed", applicant__status="completed")
    pay(api, session.id)
    services.payments_advance()
    assert pay(api, session.id).status_code == 202


def test_payments_move_to_paid_over_ticks(api):
    session = SessionFactory(status="completed", applicant__status="completed")
    payment_id = data(pay(api, session.id))["id"]
    services.payments_advance()
    processing = data(api.get(f"/payments/{payment_id}"))["attributes"]
    assert processing["status"] == "processing" and processing["providerOrderId"]
    services.payments_advance()
    paid = data(api.get(f"/payments/{payment_id}"))["attributes"]
    assert paid["status"] == "paid" and paid["paidAt"]


def test_failure_rate_fails_payments(api, settings):
    settings.SANDBOX_PAYMENT_FAILURE_RATE = 1.0
    payment = PaymentFactory()
    services.payments_advance()
    services.payments_advance()
    payment.refresh_from_db()
    assert payment.status == "failed" and payment.failure_reason


@pytest.mark.parametrize("session_status,applicant_status", [
    ("no_show", "no_show"), ("canceled", "canceled"), ("completed", "rejected")])
def test_paying_a_no_show_canceled_or_rejected_session_is_409(api, session_status,
                                                               applicant_status):
    session = SessionFactory(status=session_status, applicant__status=applicant_status)
    response = pay(api, session.id)
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "invalid_state_transition"
    assert not Payment.objects.exists()


def test_a_second_external_id_for_a_paid_session_is_409(api):
    session = SessionFactory(status="completed", applicant__status="completed")
    pay(api, session.id, "key-a")
    assert pay(api, session.id, "key-b").status_code == 409


@pytest.mark.parametrize("body", [{"externalId": "x"}, {"trigger": "manual"},
                                  {"externalId": "x", "trigger": "whenever"},
                                  {"externalId": "", "trigger": "manual"},
                                  {"externalId": "x", "trigger": "manual", "amount": 5}])
def test_bad_payment_requests_are_422(api, body):
    session = SessionFactory(status="completed", applicant__status="completed")
    assert api.post(f"/sessions/{session.id}/payments", body).status_code == 422


def test_payment_lists_and_lookup_by_external_id(api):
    payment = PaymentFactory(external_id="rally-payout-7")
    listed = data(api.get(f"/recruits/{payment.recruit_id}/payments"))
    assert [p["id"] for p in listed] == [payment.id]
    found = data(api.get("/payments?filter[externalId]=rally-payout-7"))
    assert [p["id"] for p in found] == [payment.id]
    assert data(api.get("/payments?filter[externalId]=other")) == []
    assert api.get("/payments/pay_nope").status_code == 404


def test_completed_counts_appear_on_the_recruit(api, approved):
    recruit_id, applicant_id = approved
    session_id = data(book(api, recruit_id, applicant_id))["id"]
    api.post(f"/sessions/{session_id}/completions")
    counts = data(api.get(f"/recruits/{recruit_id}"))["attributes"]["counts"]
    assert counts == {"applicants": 1, "qualified": 1, "approved": 1, "scheduled": 0,
                      "completed": 1, "noShow": 0}
    assert Recruit.objects.get(pk=recruit_id).status == "recruiting"


def test_a_session_in_a_group_names_its_group_session(api, approved):
    recruit_id, applicant_id = approved
    response = api.post(f"/recruits/{recruit_id}/sessions", session_document(
        applicant_id, "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z",
        groupSession={"data": {"type": "group_sessions", "id": "grp_1"}}))
    assert response.status_code == 201
    assert data(response)["relationships"]["groupSession"]["data"] == {
        "type": "group_sessions", "id": "grp_1"}


def test_a_host_cancellation_keeps_the_seat_and_the_applicant_books_again(api, approved):
    recruit_id, applicant_id = approved
    session_id = data(book(api, recruit_id, applicant_id))["id"]
    response = api.post(f"/sessions/{session_id}/cancellations", {"keepSeat": True})
    assert data(response)["attributes"]["status"] == "canceled"
    assert Applicant.objects.get(pk=applicant_id).status == "approved"
    assert book(api, recruit_id, applicant_id, hours=72).status_code == 201
    assert api.post(f"/sessions/{session_id}/cancellations",
                    {"keepSeat": "yes"}).status_code == 422
