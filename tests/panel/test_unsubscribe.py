"""The unsubscribe link: a confirmation page, one POST, never invited again."""

from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse

from panel import links, services
from participants.models import Participant
from rally import clock
from rally.models import ActivityEntry

pytestmark = pytest.mark.django_db


def _url(person):
    return reverse("panel:unsubscribe", kwargs={"token": links.unsubscribe_token_make(person)})


def test_get_asks_and_post_unsubscribes_once(client, person):
    someone = person(email="dana@panel.test")
    response = client.get(_url(someone))
    assert response.status_code == 200
    assert b"Unsubscribe from research invitations?" in response.content
    someone.refresh_from_db()
    assert someone.opted_out_at is None  # a link scanner's GET changes nothing
    response = client.post(_url(someone))
    assert b"You're unsubscribed" in response.content
    someone.refresh_from_db()
    first = someone.opted_out_at
    assert first is not None
    client.post(_url(someone))
    someone.refresh_from_db()
    assert someone.opted_out_at == first
    assert ActivityEntry.objects.filter(action="panel.participant_opted_out").count() == 1
    assert b"already unsubscribed" in client.get(_url(someone)).content


def test_unsubscribed_person_is_excluded_from_later_invitations(researcher, study, person):
    someone = person()
    services.participant_opt_out(participant_id=someone.pk)
    with pytest.raises(ValidationError, match="Opted out"):
        services.panel_invite(membership=researcher, study=study, participant_ids=[someone.pk])


def test_an_email_queued_before_the_unsubscribe_is_not_sent(researcher, study, person,
                                                             monkeypatch):
    from django.core import mail

    from rally.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)
    someone = person()
    result = services.panel_invite(membership=researcher, study=study,
                                   participant_ids=[someone.pk])
    services.participant_opt_out(participant_id=someone.pk)
    assert services.invitation_email_send(invitation_id=result.invited[0].pk) is False
    assert mail.outbox == []


def test_forged_and_cross_purpose_tokens_are_refused(client, person):
    someone = person()
    assert client.get(reverse("panel:unsubscribe", kwargs={"token": "abc"})).status_code == 404
    token = signing.dumps({"participant": str(someone.pk)}, salt=links.SCREENER_SALT)
    response = client.post(reverse("panel:unsubscribe", kwargs={"token": token}))
    assert response.status_code == 404
    assert Participant.objects.get(pk=someone.pk).opted_out_at is None


def test_very_old_unsubscribe_link_has_expired(client, person):
    url = _url(person())
    with time_machine.travel(clock.now() + timedelta(days=800)):
        response = client.get(url)
    assert response.status_code == 410


def test_mail_apps_one_click_post_works_without_a_csrf_token(person):
    from django.test import Client

    someone = person()
    response = Client(enforce_csrf_checks=True).post(
        _url(someone), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    someone.refresh_from_db()
    assert someone.opted_out_at is not None
