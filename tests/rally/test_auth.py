import pytest
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_uses_the_spec_words(client):
    page = client.get(reverse("login")).content.decode()
    for words in ("Email", "Password", "Log in"):
        assert words in page


def test_login_with_right_password_reaches_dashboard(client, researcher):
    response = client.post(reverse("login"), {"email": "RILEY@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    page = client.get(reverse("home")).content.decode()
    assert "Welcome" in page and "Log out" in page


def test_wrong_password_and_unknown_email_get_the_same_generic_error(client, researcher):
    wrong = client.post(reverse("login"), {"email": "riley@acme.test", "password": "nope"})
    unknown = client.post(reverse("login"), {"email": "nobody@acme.test", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 400
    assert "didn&#x27;t match" in wrong.content.decode()
    assert "didn&#x27;t match" in unknown.content.decode()


def test_repeated_failures_lock_sign_in_even_with_the_right_password(client, researcher, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post(reverse("login"), {"email": "riley@acme.test", "password": "nope"})
    locked = client.post(reverse("login"), {"email": "riley@acme.test", "password": PASSWORD})
    assert locked.status_code == 400
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_lock_ends_when_the_window_passes(client, researcher, settings, time_machine):
    settings.LOGIN_FAILURE_LIMIT = 2
    time_machine.move_to("2026-11-25 10:00:00+00:00", tick=False)
    for _ in range(2):
        client.post(reverse("login"), {"email": "riley@acme.test", "password": "nope"})
    time_machine.move_to("2026-11-25 10:16:00+00:00", tick=False)
    response = client.post(reverse("login"), {"email": "riley@acme.test", "password": PASSWORD})
    assert response.status_code == 302


def test_every_page_needs_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_logout_is_a_post(client_for, researcher):
    client = client_for(researcher)
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_a_link(client, researcher):
    client.post(reverse("password_reset"), {"email": "riley@acme.test"})
    assert len(mail.outbox) == 1
    assert "/password-reset/" in mail.outbox[0].body


def test_login_refuses_an_offsite_next(client, researcher):
    response = client.post(reverse("login"), {"email": "riley@acme.test", "password": PASSWORD,
                                              "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")


def test_times_are_shown_in_the_persons_own_time_zone(client_for, researcher):
    from rally.services import activity_record

    researcher.user.time_zone = "Europe/Berlin"
    researcher.user.save()
    activity_record(workspace=researcher.workspace, actor=researcher.user, action="test.done",
                    summary="Did a test")
    page = client_for(researcher).get(reverse("home")).content.decode()
    assert "CET" in page or "CEST" in page
