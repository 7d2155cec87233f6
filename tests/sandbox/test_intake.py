"""The intake control Rally uses for its participation limit (SPEC R6): closed, the recruit
takes no applicants whatever its status and a recruiting one is filled; reopened, they arrive
again."""

from rally import clock
from sandbox import simulation
from sandbox.models import Recruit


def attrs(response):
    return response.json()["data"]["attributes"]


def test_closing_intake_stops_arrivals_and_the_applicant_control(api, make_recruit, settings):
    settings.SANDBOX_TIME_SCALE = 60.0
    recruit_id = make_recruit("recruiting")
    assert attrs(api.get(f"/recruits/{recruit_id}"))["intakeOpen"] is True

    closed = api.post(f"/recruits/{recruit_id}/intake", {"open": False})
    assert closed.status_code == 200
    assert attrs(closed)["intakeOpen"] is False and attrs(closed)["status"] == "filled"
    clock.advance(hours=6)
    assert simulation.arrivals_run() == 0
    refused = api.post(f"/_sandbox/recruits/{recruit_id}/applicants", {"count": 3})
    assert refused.status_code == 409
    assert "intake is closed" in refused.json()["errors"][0]["detail"]
    assert Recruit.objects.get(pk=recruit_id).applicants.count() == 0

    # Closing again changes nothing; reopening lets applicants arrive from then on.
    assert attrs(api.post(f"/recruits/{recruit_id}/intake", {"open": False}))[
        "intakeOpen"] is False
    reopened = api.post(f"/recruits/{recruit_id}/intake", {"data": {"attributes":
                                                                     {"open": True}}})
    assert attrs(reopened)["intakeOpen"] is True and attrs(reopened)["status"] == "recruiting"
    assert simulation.arrivals_run() == 0  # none for the hours intake was closed
    clock.advance(hours=6)
    assert simulation.arrivals_run() > 0


def test_intake_bad_input_and_terminal_recruits(api, make_recruit):
    recruit_id = make_recruit("recruiting")
    for body in ({}, {"open": "no"}, {"open": 0}, {"open": False, "extra": 1}):
        response = api.post(f"/recruits/{recruit_id}/intake", body)
        assert response.status_code == 422, body
    assert Recruit.objects.get(pk=recruit_id).intake_open is True
    assert api.post("/recruits/rec_missing/intake", {"open": False}).status_code == 404
    closed_id = make_recruit("closed")
    response = api.post(f"/recruits/{closed_id}/intake", {"open": False})
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "invalid_state_transition"


def test_the_console_shows_a_closed_intake(api, make_recruit, client):
    recruit_id = make_recruit("recruiting", internalName="Onboarding study")
    assert "Intake closed" not in client.get("/sandbox/").content.decode()
    api.post(f"/recruits/{recruit_id}/intake", {"open": False})
    html = client.get("/sandbox/").content.decode()
    row = html.split("Onboarding study")[1].split("</tr>")[0]
    assert "Intake closed" in row


def test_a_paused_recruit_resumes_filled_while_intake_is_closed(api, make_recruit):
    recruit_id = make_recruit("paused")
    closed = api.post(f"/recruits/{recruit_id}/intake", {"open": False})
    assert attrs(closed)["status"] == "paused"
    resumed = api.post(f"/recruits/{recruit_id}/resumptions", {})
    assert attrs(resumed)["status"] == "filled"
    assert attrs(api.post(f"/recruits/{recruit_id}/intake", {"open": True}))[
        "status"] == "recruiting"


def test_closing_intake_tells_rally_the_recruit_is_filled(api, make_recruit):
    from sandbox.models import WebhookEvent

    recruit_id = make_recruit("recruiting")
    api.post(f"/recruits/{recruit_id}/intake", {"open": False})
    event = WebhookEvent.objects.filter(type="recruit.status_changed").last()
    assert event is not None and recruit_id in str(event.envelope)
    assert "filled" in str(event.envelope)
