"""The sandbox's history control: a recruit's past written under the caller's ids (for the
demo seed), upserted, strictly checked, and then worked on through the public API."""

import copy
from datetime import timedelta

import pytest

from rally import clock
from sandbox.models import Applicant, Payment, Recruit, Session, WebhookEvent

pytestmark = pytest.mark.django_db

PATH = "/_sandbox/recruits/rec_demo_1/history"


def history():
    now = clock.now()

    def hours(n):
        return (now - timedelta(hours=n)).isoformat()

    return {
        "recruit": {"externalId": "study-1", "internalName": "Developer onboarding interviews",
                    "studyType": "interview", "status": "recruiting", "numParticipants": 8,
                    "durationMinutes": 45, "compensationCents": 10000},
        "applicants": [
            {"id": "demo-1-app", "participantId": "demo-1", "firstName": "Mateo",
             "lastInitial": "G", "status": "completed", "appliedAt": hours(60)},
            {"id": "demo-2-app", "participantId": "demo-2", "firstName": "Priya",
             "lastInitial": "S", "status": "completed", "appliedAt": hours(80),
             "updatedAt": hours(40), "screenerResponses": [{"questionUid": "q1",
                                                            "answerUids": ["o1"]}]},
            {"id": "demo-3-app", "participantId": "demo-3", "firstName": "Ben",
             "lastInitial": "W", "status": "applied", "appliedAt": hours(7),
             "source": "direct_link", "qualification": "unqualified"},
        ],
        "sessions": [
            {"id": "ses_demo_1", "applicantId": "demo-1-app", "startsAt": hours(4),
             "endsAt": hours(3), "status": "completed"},
            {"id": "ses_demo_2", "applicantId": "demo-2-app", "startsAt": hours(30),
             "endsAt": hours(29), "status": "completed"},
        ],
        "payments": [
            {"id": "pay_demo_2", "sessionId": "ses_demo_2", "externalId": "payout-2",
             "amountCents": 10000, "status": "pending", "trigger": "manual"},
        ],
    }


def _state():
    return (list(Recruit.objects.values_list("id", "external_id", "status", "num_participants")),
            list(Applicant.objects.order_by("id").values_list("id", "participant_id",
                                                               "status", "updated_at")),
            list(Session.objects.order_by("id").values_list("id", "applicant_id", "status",
                                                             "starts_at")),
            list(Payment.objects.order_by("id").values_list("id", "external_id", "status",
                                                             "amount_cents", "session_id")))


def test_the_history_is_written_under_the_given_ids_and_read_back_by_the_api(api):
    response = api.post(PATH, history())
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["data"]["id"] == "rec_demo_1"
    assert body["data"]["attributes"]["status"] == "recruiting"
    assert body["meta"] == {"applicants": 3, "sessions": 2, "payments": 1, "livePayments": 1}
    applicants = api.get("/recruits/rec_demo_1/applicants").json()["data"]
    assert [(a["id"], a["attributes"]["participant"]["id"], a["attributes"]["status"])
            for a in applicants] == [("demo-2-app", "demo-2", "completed"),
                                     ("demo-1-app", "demo-1", "completed"),
                                     ("demo-3-app", "demo-3", "applied")]
    assert applicants[0]["attributes"]["screenerResponses"] == [
        {"questionUid": "q1", "answerUids": ["o1"]}]
    assert applicants[2]["attributes"]["qualification"] == "unqualified"
    session = api.get("/sessions/ses_demo_1").json()["data"]
    assert session["relationships"]["applicant"]["data"] == {"type": "applicants",
                                                             "id": "demo-1-app"}
    [payment] = api.get("/payments?filter[externalId]=payout-2").json()["data"]
    assert payment["id"] == "pay_demo_2" and payment["attributes"]["status"] == "pending"
    # History, not news: nothing goes out to webhook subscribers.
    assert not WebhookEvent.objects.exists()


def test_the_same_history_twice_leaves_the_same_state_and_a_change_is_applied(api):
    body = history()
    assert api.post(PATH, body).status_code == 200
    before = _state()
    assert api.post(PATH, body).status_code == 200  # a new Idempotency-Key each time
    assert _state() == before
    changed = copy.deepcopy(body)
    changed["recruit"]["status"] = "paused"
    changed["payments"][0]["status"] = "paid"
    assert api.post(PATH, changed).status_code == 200
    assert Recruit.objects.get().status == "paused"
    paid = Payment.objects.get()
    assert paid.status == "paid" and paid.paid_at is not None
    assert Applicant.objects.count() == 3 and Session.objects.count() == 2


def test_the_public_api_then_works_on_that_history(api):
    api.post(PATH, history())
    # Pay the session that has no payment yet (Rally's "Complete & Send payment").
    paid = api.post("/sessions/ses_demo_1/payments",
                    {"externalId": "payout-1", "trigger": "manual"})
    assert paid.status_code == 201, paid.content
    # The same externalId as the history's payment names that payment.
    again = api.post("/sessions/ses_demo_2/payments",
                     {"externalId": "payout-2", "trigger": "manual"})
    assert again.json()["data"]["id"] == "pay_demo_2"
    assert api.post("/recruits/rec_demo_1/pauses").json()["data"]["attributes"][
        "status"] == "paused"
    # The simulation takes the pending payments to paid.
    api.post("/_sandbox/tick")
    api.post("/_sandbox/tick")
    assert set(Payment.objects.values_list("status", flat=True)) == {"paid"}


def _problems(response):
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert {e["code"] for e in errors} == {"bad_history"}
    return {e["source"]["pointer"]: e["detail"] for e in errors}


@pytest.mark.parametrize(("change", "pointer", "words"), [
    (lambda h: h.pop("recruit"), "/recruit", "required"),
    (lambda h: h["recruit"].update(status="launched"), "/recruit/status", "one of"),
    (lambda h: h["recruit"].update(numParticipants=0), "/recruit/numParticipants", "between"),
    (lambda h: h["recruit"].update(audience={"type": "b2x"}), "/recruit/audience/type",
     "b2c or b2b"),
    (lambda h: h.update(extra=[]), "/extra", "Unknown member"),
    (lambda h: h.update(applicants={}), "/applicants", "must be a list"),
    (lambda h: h["applicants"][0].update(id="has space"), "/applicants/0/id", "letters"),
    (lambda h: h["applicants"][0].update(nickname="M"), "/applicants/0/nickname", "Unknown"),
    (lambda h: h["applicants"][0].pop("appliedAt"), "/applicants/0/appliedAt", "required"),
    (lambda h: h["applicants"][0].update(lastInitial="GG"), "/applicants/0/lastInitial",
     "one character"),
    (lambda h: h["applicants"][1].update(id="demo-1-app"), "/applicants/1/id", "twice"),
    (lambda h: h["sessions"][0].update(startsAt="yesterday"), "/sessions/0/startsAt",
     "ISO-8601"),
    (lambda h: h["sessions"][0].update(applicantId="nobody"), "/sessions/0/applicantId",
     "No applicant"),
    (lambda h: h["sessions"][0].update(endsAt=h["sessions"][0]["startsAt"]),
     "/sessions/0/endsAt", "after startsAt"),
    (lambda h: h["payments"][0].update(amountCents=-1), "/payments/0/amountCents", "0 or more"),
    (lambda h: h["payments"][0].update(sessionId="ses_x"), "/payments/0/sessionId",
     "No session"),
    (lambda h: h["payments"].append({**h["payments"][0], "id": "pay_demo_3",
                                     "externalId": "payout-3"}),
     "/payments/1/status", "already has a live payment"),
])
def test_bad_history_is_refused_with_every_problem_and_nothing_changes(api, change, pointer,
                                                                       words):
    body = copy.deepcopy(history())
    change(body)
    problems = _problems(api.post(PATH, body))
    assert pointer in problems and words in problems[pointer], problems
    assert _state() == ([], [], [], [])


def test_ids_of_another_recruit_are_refused(api):
    assert api.post(PATH, history()).status_code == 200
    before = _state()
    other = history()
    other["recruit"]["externalId"] = "study-2"
    problems = _problems(api.post("/_sandbox/recruits/rec_demo_2/history", other))
    assert "belongs to another recruit" in problems["/applicants/0/id"]
    assert "belongs to another recruit" in problems["/sessions/0/id"]
    assert "belongs to another recruit" in problems["/payments/0/id"]
    taken = history()
    taken["applicants"] = taken["sessions"] = taken["payments"] = []
    problems = _problems(api.post("/_sandbox/recruits/rec_demo_2/history", taken))
    assert "externalId" in problems["/recruit/externalId"]
    assert _state() == before


def test_several_problems_are_listed_together_and_bad_json_is_malformed(api):
    body = history()
    body["recruit"]["studyType"] = "survey"
    body["payments"][0]["status"] = "lost"
    assert len(_problems(api.post(PATH, body))) == 2
    response = api.post(PATH, raw="{not json")
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "malformed"


def test_the_control_needs_the_sandbox_key(api):
    assert api.post(PATH, history(), key=None).status_code == 401
    assert api.post(PATH, history(), key="wrong").status_code == 401
    assert api.get(PATH).status_code == 405
    assert not Recruit.objects.exists()
