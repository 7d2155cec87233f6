"""Strict parsing of User Interviews documents: complete objects or MalformedResponse."""

import copy
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recruitment.user_interviews.errors import MalformedResponse, OutcomeUnknown
from recruitment.user_interviews.resources import (
    Applicant,
    ApplicantStatus,
    Characteristic,
    CharacteristicType,
    Estimate,
    Feasibility,
    Payment,
    Recruit,
    RecruitStatus,
    Session,
    WebhookDelivery,
    WebhookSubscription,
    money_from_wire,
    money_to_wire,
    parse_one,
    parse_page,
)
from tests.examples import examples

APPLICANT = {
    "id": "app_1", "type": "applicants",
    "attributes": {
        "participant": {"id": "p_1", "firstName": "Dana", "lastInitial": "K"},
        "source": "panel", "screenerVersion": 2,
        "screenerResponses": [{"questionUid": "q1", "answerUids": ["a1", "a2"]},
                              {"questionUid": "q2", "text": "Weekly"},
                              {"questionUid": "q3", "number": 4},
                              {"questionUid": "q4", "date": "2026-01-31"}],
        "matchedCriteria": [{"characteristic": "industry", "values": ["healthcare"]}],
        "unmetCriteria": [],
        "qualification": "manual_review", "status": "applied",
        "appliedAt": "2026-11-25T10:00:00Z", "updatedAt": "2026-11-25T10:05:00+00:00",
    },
}

RECRUIT = {
    "id": "rec_1", "type": "recruits",
    "attributes": {
        "externalId": "2c1b0e9a-0000-4000-8000-000000000001", "status": "recruiting",
        "studyType": "interview", "numParticipants": 8, "durationMinutes": 45,
        "compensation": {"amountCents": 7550, "currency": "USD"},
        "internalName": "Billing study", "publicTitle": "Talk about invoices",
        "applicationUrl": "https://ui.test/apply/rec_1",
        "counts": {"applicants": 3, "qualified": 2, "approved": 1, "scheduled": 1,
                   "completed": 0, "noShow": 0},
        "createdAt": "2026-11-25T09:00:00Z", "updatedAt": "2026-11-25T09:30:00Z",
        "launchedAt": "2026-11-25T09:10:00Z", "closedAt": None,
    },
}


def page_of(*items, total_pages=1, current=1):
    return {"data": list(items), "links": {"next": None, "prev": None},
            "meta": {"pagination": {"currentPage": current, "pageSize": 25,
                                    "totalPages": total_pages, "totalCount": len(items)}}}


def mutated(document, path, value):
    """A copy of `document` with the attribute at `path` replaced (or removed if value is ...)."""
    copied = copy.deepcopy(document)
    target = copied
    for part in path[:-1]:
        target = target[part]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return copied


def test_applicant_parses_every_attribute():
    applicant = parse_one({"data": APPLICANT}, "applicants", Applicant.from_resource)
    assert applicant.participant.first_name == "Dana"
    assert applicant.status is ApplicantStatus.APPLIED
    assert applicant.screener_responses[0].answer_uids == ("a1", "a2")
    assert applicant.screener_responses[3].date.isoformat() == "2026-01-31"
    assert applicant.matched_criteria[0].as_dict() == {"characteristic": "industry",
                                                       "values": ["healthcare"]}
    assert applicant.applied_at.utcoffset().total_seconds() == 0


def test_recruit_parses_money_as_decimal_dollars_and_counts():
    recruit = parse_one({"data": RECRUIT}, "recruits", Recruit.from_resource)
    assert recruit.compensation == Decimal("75.50")
    assert recruit.status is RecruitStatus.RECRUITING
    assert recruit.counts.qualified == 2
    assert recruit.closed_at is None


@pytest.mark.parametrize(("path", "value", "pointer"), [
    (("attributes", "status"), "teleported", "/data/attributes/status"),
    (("attributes", "source"), "carrier_pigeon", "/data/attributes/source"),
    (("attributes", "screenerVersion"), "2", "/data/attributes/screenerVersion"),
    (("attributes", "screenerVersion"), True, "/data/attributes/screenerVersion"),
    (("attributes", "appliedAt"), "yesterday", "/data/attributes/appliedAt"),
    (("attributes", "appliedAt"), "2026-11-25T10:00:00", "/data/attributes/appliedAt"),
    (("attributes", "updatedAt"), ..., "/data/attributes/updatedAt"),
    (("attributes", "participant"), ..., "/data/attributes/participant"),
    (("attributes", "participant", "firstName"), 7,
     "/data/attributes/participant/firstName"),
    (("attributes", "screenerResponses"), {"q1": "a1"}, "/data/attributes/screenerResponses"),
    (("attributes", "screenerResponses", 1), {"questionUid": "q2"},
     "/data/attributes/screenerResponses/1"),
    (("attributes", "matchedCriteria", 0, "characteristic"), None,
     "/data/attributes/matchedCriteria/0/characteristic"),
    (("type",), "sessions", "/data/type"),
    (("id",), 12, "/data/id"),
])
def test_applicant_with_a_broken_field_is_refused_with_its_pointer(path, value, pointer):
    with pytest.raises(MalformedResponse) as caught:
        parse_one({"data": mutated(APPLICANT, path, value)}, "applicants",
                  Applicant.from_resource)
    assert caught.value.pointer == pointer
    assert isinstance(caught.value, OutcomeUnknown)  # callers look up before re-sending


@pytest.mark.parametrize("document", [None, [], "ok", {"data": None}, {"data": []},
                                      {"errors": []}])
def test_a_document_that_is_not_a_resource_is_refused(document):
    with pytest.raises(MalformedResponse):
        parse_one(document, "recruits", Recruit.from_resource)


@pytest.mark.parametrize(("path", "value"), [
    (("attributes", "compensation", "amountCents"), 75.5),
    (("attributes", "compensation", "amountCents"), "7550"),
    (("attributes", "compensation", "currency"), "EUR"),
    (("attributes", "counts", "noShow"), -1),
    (("attributes", "numParticipants"), None),
    (("attributes", "studyType"), "survey"),
])
def test_recruit_with_broken_money_or_counts_is_refused(path, value):
    with pytest.raises(MalformedResponse):
        parse_one({"data": mutated(RECRUIT, path, value)}, "recruits", Recruit.from_resource)


def test_money_round_trips_through_cents():
    assert money_to_wire(Decimal("45.00")) == {"amountCents": 4500, "currency": "USD"}
    assert money_to_wire(Decimal("0.07")) == {"amountCents": 7, "currency": "USD"}
    assert money_from_wire({"amountCents": 4501, "currency": "USD"}) == Decimal("45.01")
    with pytest.raises(ValueError, match="cents"):
        money_to_wire(Decimal("1.005"))


def test_characteristics_need_choices_or_a_range_by_type():
    select = {"id": "c1", "type": "characteristics", "attributes": {
        "slug": "industry", "name": "Industry", "valueType": "single_select",
        "category": "professional", "audienceTypes": ["b2b"],
        "choices": [{"id": "healthcare", "label": "Healthcare"}]}}
    ranged = {"id": "c2", "type": "characteristics", "attributes": {
        "slug": "age", "name": "Age", "valueType": "range", "category": "demographic",
        "audienceTypes": ["b2c", "b2b"], "range": {"min": 18, "max": 99}}}
    page = parse_page(page_of(select, ranged), "characteristics", Characteristic.from_resource)
    assert page.items[0].choices[0].label == "Healthcare"
    assert page.items[1].type is CharacteristicType.RANGE
    assert page.items[1].range.max == 99
    with pytest.raises(MalformedResponse):
        parse_page(page_of(mutated(select, ("attributes", "choices"), [])), "characteristics",
                   Characteristic.from_resource)
    with pytest.raises(MalformedResponse):
        parse_page(page_of(mutated(ranged, ("attributes", "range"), {"min": 9, "max": 1})),
                   "characteristics", Characteristic.from_resource)
    with pytest.raises(MalformedResponse):
        parse_page(page_of(mutated(select, ("attributes", "audienceTypes"), ["b2g"])),
                   "characteristics", Characteristic.from_resource)


def test_one_bad_item_spoils_the_whole_page():
    broken = mutated(APPLICANT, ("attributes", "status"), "lost")
    with pytest.raises(MalformedResponse) as caught:
        parse_page(page_of(APPLICANT, broken), "applicants", Applicant.from_resource)
    assert caught.value.pointer == "/data/1/attributes/status"


def test_a_page_without_pagination_meta_is_refused():
    document = page_of(APPLICANT)
    del document["meta"]["pagination"]["totalPages"]
    with pytest.raises(MalformedResponse):
        parse_page(document, "applicants", Applicant.from_resource)


def test_estimate_below_threshold_and_feasibility():
    estimate = parse_one({"data": {"id": "est_1", "type": "estimates", "attributes": {
        "reach": 0, "reachBelowThreshold": True, "feasibility": "infeasible",
        "estimatedDaysToFill": None}}}, "estimates", Estimate.from_resource)
    assert estimate.reach_below_threshold
    assert estimate.feasibility is Feasibility.INFEASIBLE
    with pytest.raises(MalformedResponse):
        parse_one({"data": {"id": "est_1", "type": "estimates", "attributes": {
            "reach": -5, "feasibility": "high"}}}, "estimates", Estimate.from_resource)


def test_session_ending_before_it_starts_is_refused():
    document = {"data": {"id": "s1", "type": "sessions", "attributes": {
        "startsAt": "2026-11-25T10:00:00Z", "endsAt": "2026-11-25T09:00:00Z",
        "status": "scheduled"}, "relationships": {
        "applicant": {"data": {"type": "applicants", "id": "app_1"}},
        "groupSession": {"data": None}}}}
    with pytest.raises(MalformedResponse):
        parse_one(document, "sessions", Session.from_resource)


def test_a_session_names_its_applicant_and_group_session_as_relationships():
    relationships = {"applicant": {"data": {"type": "applicants", "id": "app_1"}},
                     "groupSession": {"data": {"type": "group_sessions", "id": "grp_1"}}}
    document = {"data": {"id": "s1", "type": "sessions", "attributes": {
        "startsAt": "2026-11-25T09:00:00Z", "endsAt": "2026-11-25T10:00:00Z",
        "status": "scheduled"}, "relationships": relationships}}
    session = parse_one(document, "sessions", Session.from_resource)
    assert (session.applicant_id, session.group_session_id) == ("app_1", "grp_1")
    document["data"]["relationships"] = {**relationships, "groupSession": {"data": None}}
    assert parse_one(document, "sessions", Session.from_resource).group_session_id is None
    for broken in ({"groupSession": {"data": None}},  # no applicant
                   {**relationships, "applicant": {"data": {"type": "people", "id": "app_1"}}},
                   {**relationships, "applicant": {"data": {"type": "applicants", "id": ""}}},
                   {**relationships, "applicant": "app_1"}):
        document["data"]["relationships"] = broken
        with pytest.raises(MalformedResponse):
            parse_one(document, "sessions", Session.from_resource)
    # The old attribute spelling is not read.
    document["data"]["relationships"] = {}
    document["data"]["attributes"]["applicantId"] = "app_1"
    with pytest.raises(MalformedResponse):
        parse_one(document, "sessions", Session.from_resource)


def test_payment_requires_its_external_id_and_known_status():
    relationships = {"session": {"data": {"type": "sessions", "id": "s1"}},
                     "applicant": {"data": {"type": "applicants", "id": "app_1"}}}
    attributes = {"amount": {"amountCents": 4500, "currency": "USD"}, "trigger": "auto_24h",
                  "status": "paid", "provider": "tremendous", "providerOrderId": "T-1",
                  "externalId": "payout-1", "createdAt": "2026-11-25T10:00:00Z",
                  "paidAt": "2026-11-25T10:01:00Z"}
    payment = parse_one({"data": {"id": "pay_1", "type": "payments", "attributes": attributes,
                                  "relationships": relationships}},
                        "payments", Payment.from_resource)
    assert payment.amount == Decimal("45.00")
    assert (payment.session_id, payment.applicant_id) == ("s1", "app_1")
    for broken in ({**attributes, "status": "refunded"},
                   {k: v for k, v in attributes.items() if k != "externalId"}):
        with pytest.raises(MalformedResponse):
            parse_one({"data": {"id": "pay_1", "type": "payments", "attributes": broken,
                                "relationships": relationships}},
                      "payments", Payment.from_resource)


# Generated documents: a parse either succeeds completely or raises MalformedResponse ------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8)
KINDS = [("applicants", Applicant, APPLICANT), ("recruits", Recruit, RECRUIT)]


@settings(max_examples=examples(300), deadline=None)
@given(kind=st.sampled_from(KINDS), field=st.text(max_size=20), value=JSON, drop=st.booleans())
def test_any_single_damage_is_parsed_fully_or_refused(kind, field, value, drop):
    type_name, resource, sample = kind
    attributes = dict(sample["attributes"])
    name = field if field in attributes or not attributes else sorted(attributes)[
        len(field) % len(attributes)]
    if drop:
        attributes.pop(name, None)
    else:
        attributes[name] = value
    document = {"data": {**sample, "attributes": attributes}}
    try:
        parsed = parse_one(document, type_name, resource.from_resource)
    except MalformedResponse:
        return
    assert parsed.id == sample["id"]


@settings(max_examples=examples(200), deadline=None)
@given(document=JSON)
def test_arbitrary_json_never_escapes_as_another_exception(document):
    for type_name, resource in [("applicants", Applicant), ("recruits", Recruit),
                                ("estimates", Estimate), ("payments", Payment),
                                ("sessions", Session), ("characteristics", Characteristic),
                                ("webhook_subscriptions", WebhookSubscription),
                                ("webhook_deliveries", WebhookDelivery)]:
        with pytest.raises(MalformedResponse):
            parse_one(document, type_name, resource.from_resource)
        with pytest.raises(MalformedResponse):
            parse_page(document, type_name, resource.from_resource)
