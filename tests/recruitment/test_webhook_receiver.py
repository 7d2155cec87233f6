"""The webhook receiver: only fresh deliveries signed by UI get in, each event id once."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from rally import clock
from recruitment.models import WebhookEndpoint, WebhookEvent
from recruitment.webhooks import sign
from tests.recruitment.sync_support import SECRET, another_secret, deliver, event_document

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webhook_endpoint")]


def test_signed_fresh_delivery_is_stored_and_queued(client, webhook_dispatches):
    response = deliver(client, event_document("evt_1"))
    assert response.status_code == 200
    assert response.json() == {"received": "evt_1", "status": "accepted"}
    event = WebhookEvent.objects.get()
    assert (event.event_id, event.type, event.processed_at) == ("evt_1", "applicant.created",
                                                                None)
    assert webhook_dispatches == [event.pk]


def test_one_byte_changed_in_the_body_is_rejected(client, webhook_dispatches):
    body = json.dumps(event_document("evt_1")).encode()
    timestamp = str(int(timezone.now().timestamp()))
    signature = sign(SECRET, "evt_1", timestamp, body)
    tampered = body.replace(b"applicant.created", b"applicant.creatEd")
    response = deliver(client, body=tampered, signature=signature, event_id="evt_1")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "invalid_signature"
    assert not WebhookEvent.objects.exists() and webhook_dispatches == []


def test_one_byte_changed_in_the_signature_is_rejected(client, webhook_dispatches):
    body = json.dumps(event_document("evt_1")).encode()
    timestamp = str(int(timezone.now().timestamp()))
    signature = sign(SECRET, "evt_1", timestamp, body)
    flipped = signature[:-3] + ("A" if signature[-3] != "A" else "B") + signature[-2:]
    assert deliver(client, body=body, signature=flipped).status_code == 401
    assert not WebhookEvent.objects.exists()


def test_wrong_secret_is_rejected(client, webhook_dispatches):
    assert deliver(client, event_document("evt_1"),
                   secret=another_secret("other")).status_code == 401
    assert not WebhookEvent.objects.exists()


# 10 s past the window either way: a busy machine may take seconds between signing and checking.
@pytest.mark.parametrize("offset", [timedelta(seconds=-310), timedelta(seconds=310),
                                    timedelta(hours=-2), timedelta(days=1)])
def test_stale_or_future_timestamp_is_rejected(client, webhook_dispatches, offset):
    response = deliver(client, event_document("evt_1"), timestamp=timezone.now() + offset)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "stale_timestamp"
    assert not WebhookEvent.objects.exists()


def test_timestamp_just_inside_the_window_is_accepted(client, webhook_dispatches):
    response = deliver(client, event_document("evt_1"),
                       timestamp=timezone.now() - timedelta(seconds=290))
    assert response.status_code == 200


def test_any_of_several_signatures_during_a_rotation_verifies(client, webhook_dispatches,
                                                               webhook_endpoint):
    new = another_secret("new")
    webhook_endpoint.previous_secret, webhook_endpoint.secret = SECRET, new
    webhook_endpoint.save()
    body = json.dumps(event_document("evt_1")).encode()
    timestamp = str(int(timezone.now().timestamp()))
    both = " ".join([sign(another_secret("unknown"), "evt_1", timestamp, body),
                     sign(new, "evt_1", timestamp, body)])
    assert deliver(client, body=body, signature=both).status_code == 200
    # Neither signature by a secret Rally holds: refused.
    neither = " ".join([sign(another_secret("unknown"), "evt_1", timestamp, body),
                        sign(another_secret("retired"), "evt_1", timestamp, body)])
    assert deliver(client, body=body, signature=neither).status_code == 401


def test_the_previous_secret_still_verifies_during_a_rotation(client, webhook_dispatches,
                                                              webhook_endpoint):
    webhook_endpoint.previous_secret, webhook_endpoint.secret = SECRET, another_secret("new")
    webhook_endpoint.save()
    assert deliver(client, event_document("evt_1"), secret=SECRET).status_code == 200


def test_a_delivery_the_official_library_signs_is_accepted(client, webhook_dispatches):
    """Rally verifies what the Standard Webhooks library signs, headers as it names them."""
    body = json.dumps(event_document("evt_lib")).encode()
    moment = timezone.now()
    signature = Webhook(SECRET).sign("evt_lib", moment, body)
    response = client.post("/webhooks/user-interviews/", data=body,
                           content_type="application/json",
                           headers={"webhook-id": "evt_lib",
                                    "webhook-timestamp": str(int(moment.timestamp())),
                                    "webhook-signature": signature})
    assert response.status_code == 200
    assert WebhookEvent.objects.get().event_id == "evt_lib"


def test_the_signature_covers_the_event_id(client, webhook_dispatches):
    body = json.dumps(event_document("evt_1")).encode()
    timestamp = str(int(timezone.now().timestamp()))
    signed_for_another = sign(SECRET, "evt_2", timestamp, body)
    response = deliver(client, body=body, signature=signed_for_another, event_id="evt_1")
    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_the_old_x_ui_webhook_headers_are_not_enough(client, webhook_dispatches):
    body = json.dumps(event_document("evt_1")).encode()
    timestamp = str(int(timezone.now().timestamp()))
    response = client.post("/webhooks/user-interviews/", data=body,
                           content_type="application/json",
                           HTTP_X_UI_WEBHOOK_ID="evt_1", HTTP_X_UI_WEBHOOK_TIMESTAMP=timestamp,
                           HTTP_X_UI_WEBHOOK_SIGNATURE=sign(SECRET, "evt_1", timestamp, body))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "missing_signature"


def test_settings_secret_is_accepted(client, webhook_dispatches, settings):
    WebhookEndpoint.objects.all().delete()
    settings.UI_WEBHOOK_SECRET = another_secret("from settings")
    assert deliver(client, event_document("evt_1"),
                   secret=settings.UI_WEBHOOK_SECRET).status_code == 200


def test_replay_of_a_processed_event_is_acknowledged_and_ignored(client, webhook_dispatches):
    document = event_document("evt_1")
    deliver(client, document)
    WebhookEvent.objects.update(processed_at=clock.now())
    response = deliver(client, document)
    assert response.status_code == 200 and response.json()["status"] == "duplicate"
    assert WebhookEvent.objects.get().deliveries == 2
    assert len(webhook_dispatches) == 1


def test_repeat_of_an_unprocessed_event_is_queued_again(client, webhook_dispatches):
    document = event_document("evt_1")
    deliver(client, document)
    deliver(client, document)
    assert WebhookEvent.objects.count() == 1
    assert len(webhook_dispatches) == 2


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"id": "evt_1"}',
                                  b'{"id": "evt_1", "type": "applicant.created", '
                                  b'"createdAt": "yesterday", "data": {}}',
                                  b'{"id": "evt_1", "type": "applicant.created", '
                                  b'"createdAt": "2026-11-02T15:00:00Z", "data": {}}',
                                  b"\xff\xfe"])
def test_malformed_but_signed_body_gets_400(client, webhook_dispatches, body):
    response = deliver(client, body=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "malformed"
    assert not WebhookEvent.objects.exists()


def test_missing_headers_get_400(client, webhook_dispatches):
    response = client.post("/webhooks/user-interviews/", data=b"{}",
                           content_type="application/json")
    assert response.status_code == 400


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/user-interviews/").status_code == 405


def test_header_id_must_match_the_body(client, webhook_dispatches):
    response = deliver(client, event_document("evt_1"), event_id="evt_other")
    assert response.status_code == 400
