"""Generated deliveries to the User Interviews webhook receiver: random bodies, headers,
timestamps and signatures, and correctly signed bodies that are not event envelopes. Always
a 4xx with a reason, never a 500, and no event stored or queued."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rally.models import ActivityEntry, OutboxOperation
from recruitment.models import WebhookEvent
from recruitment.webhooks import TOLERANCE_SECONDS, sign
from tests.examples import examples
from tests.recruitment.sync_support import SECRET, another_secret, deliver, event_document

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=examples(50), deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    | st.sampled_from(["\x00", "a\x00b"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)


def _stored():
    """What a delivery could leave behind: events, activity, outbox rows."""
    return (WebhookEvent.objects.count(), ActivityEntry.objects.count(),
            OutboxOperation.objects.count())


def _refused_and_nothing_stored(response, before, webhook_dispatches):
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["errors"][0]["code"]  # the reason, for UI's delivery log
    assert _stored() == before == (0, 0, 0) and webhook_dispatches == []


@FUZZ
@given(body=st.binary(max_size=2000), timestamp=st.text(max_size=20),
       signature=st.text(max_size=120), event_id=st.text(max_size=40),
       omit=st.sets(st.sampled_from(["timestamp", "signature", "id"])))
def test_random_deliveries_are_refused(client, webhook_endpoint, webhook_dispatches, body,
                                       timestamp, signature, event_id, omit):
    before = _stored()
    headers = {"HTTP_WEBHOOK_TIMESTAMP": timestamp, "HTTP_WEBHOOK_SIGNATURE": signature,
               "HTTP_WEBHOOK_ID": event_id}
    for name in omit:
        headers.pop({"timestamp": "HTTP_WEBHOOK_TIMESTAMP",
                     "signature": "HTTP_WEBHOOK_SIGNATURE",
                     "id": "HTTP_WEBHOOK_ID"}[name])
    response = client.post("/webhooks/user-interviews/", data=body,
                           content_type="application/json", **headers)
    _refused_and_nothing_stored(response, before, webhook_dispatches)


@FUZZ
@given(document=json_values)
def test_signed_bodies_that_are_not_events_are_refused(client, webhook_endpoint,
                                                        webhook_dispatches, document):
    before = _stored()
    response = deliver(client, body=json.dumps(document).encode(), event_id="evt_fuzz")
    _refused_and_nothing_stored(response, before, webhook_dispatches)


@FUZZ
@given(field=st.sampled_from(["id", "type", "apiVersion", "createdAt", "data"]),
       value=json_values, drop=st.booleans())
def test_a_signed_event_with_one_field_broken_is_refused(client, webhook_endpoint,
                                                         webhook_dispatches, field, value, drop):
    document = event_document("evt_fuzz")
    valid = document[field]
    if drop:
        del document[field]
    else:
        document[field] = value
    if not drop and value == valid:
        return
    before = _stored()
    response = deliver(client, body=json.dumps(document).encode(), event_id="evt_fuzz")
    if response.status_code == 200:  # a value UI could send (e.g. another event type)
        assert WebhookEvent.objects.filter(event_id="evt_fuzz").count() == 1
        WebhookEvent.objects.all().delete()
        webhook_dispatches.clear()
        return
    _refused_and_nothing_stored(response, before, webhook_dispatches)


@FUZZ
@given(skew=st.integers(min_value=-10**7, max_value=10**7), stranger=st.booleans())
def test_a_stale_or_foreign_signature_is_refused(client, webhook_endpoint, webhook_dispatches, skew,
                                                 stranger):
    if not stranger and abs(skew) <= TOLERANCE_SECONDS + 1:
        skew = TOLERANCE_SECONDS + 2 if skew >= 0 else -(TOLERANCE_SECONDS + 2)
    before = _stored()
    moment = timezone.now() + timedelta(seconds=skew)
    body = json.dumps(event_document("evt_fuzz")).encode()
    timestamp = str(int(moment.timestamp()))
    secret = another_secret("someone else") if stranger else SECRET
    response = deliver(client, body=body, timestamp=moment, event_id="evt_fuzz",
                       signature=sign(secret, "evt_fuzz", timestamp, body))
    _refused_and_nothing_stored(response, before, webhook_dispatches)
