"""Generated bad input never gets a 500 and never half-applies."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.models import Payment, Recruit
from tests.sandbox.factories import SessionFactory

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12)
FIELDS = st.sampled_from(["internalName", "studyType", "numParticipants", "durationMinutes",
                          "compensation", "audience", "screener", "schedulingUrl", "timezone",
                          "externalId", "taskUrl", "publicDescription"])
ATTRIBUTES = st.dictionaries(FIELDS, JSON, max_size=8)
HYPOTHESIS = settings(max_examples=25, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture,
                                             HealthCheck.too_slow])


@HYPOTHESIS
@given(body=JSON)
def test_any_json_body_to_create_is_never_a_500(api, body):
    response = api.post("/recruits", raw=json.dumps(body))
    assert response.status_code in (201, 400, 422), response.content


@HYPOTHESIS
@given(attributes=ATTRIBUTES)
def test_recruit_attributes_are_either_valid_or_refused_whole(api, attributes):
    before = Recruit.objects.count()
    response = api.post("/recruits", {"data": {"type": "recruits", "attributes": attributes}})
    assert response.status_code in (201, 400, 422), response.content
    assert Recruit.objects.count() == before + (response.status_code == 201)


@HYPOTHESIS
@given(attributes=ATTRIBUTES)
def test_patches_of_a_launched_recruit_never_500(api, make_recruit, attributes):
    recruit_id = make_recruit("recruiting")
    response = api.patch(f"/recruits/{recruit_id}", attributes)
    assert response.status_code in (200, 400, 409, 422), response.content


@HYPOTHESIS
@given(body=JSON)
def test_estimates_never_500(api, body):
    response = api.post("/estimates", raw=json.dumps(body))
    assert response.status_code in (200, 400, 422), response.content


@HYPOTHESIS
@given(body=JSON, path=st.sampled_from(["payments", "completions", "reschedules",
                                        "cancellations"]))
def test_session_endpoints_never_500(api, body, path):
    session = SessionFactory()
    response = api.post(f"/sessions/{session.id}/{path}", raw=json.dumps(body))
    assert response.status_code in (200, 201, 400, 409, 422), response.content
    if response.status_code >= 400:
        assert not Payment.objects.filter(session=session).exists()


@HYPOTHESIS
@given(query=st.dictionaries(st.sampled_from(["page[number]", "page[size]", "filter[status]",
                                              "filter[updatedSince]", "filter[externalId]",
                                              "q"]),
                             st.text(max_size=12), max_size=4))
def test_any_query_string_on_lists_is_200_or_400(api, query):
    from urllib.parse import urlencode

    response = api.get(f"/recruits?{urlencode(query)}")
    assert response.status_code in (200, 400), response.content


def test_nul_characters_are_refused_not_a_500(api):
    from tests.sandbox.conftest import recruit_body

    response = api.post("/recruits", recruit_body(internalName="bad\x00name"))
    assert response.status_code == 400
    response = api.post("/recruits", recruit_body(screener={"questions": [
        {"uid": "q\x00", "type": "text"}]}))
    assert response.status_code == 400
    assert api.get("/payments?filter[externalId]=a%00b").status_code == 400
    assert not Recruit.objects.exists()
