"""Sign-in throttling that cannot be raced and locks nobody else out (SPEC W4): per account,
per address only at a much higher threshold; password reset throttled too."""

import threading

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.rally.factories import MembershipFactory, UserFactory

GENERIC = "didn&#x27;t match"
LOCKED = "Too many failed sign-ins"


def _sign_in(client, email, password, address="203.0.113.7"):
    return client.post(reverse("login"), {"email": email, "password": password},
                       REMOTE_ADDR=address)


@pytest.mark.django_db(transaction=True)
def test_forty_parallel_wrong_passwords_check_five_and_sign_nobody_in(researcher, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    barrier = threading.Barrier(40)
    outcomes = []

    def attempt(n):
        client = Client()
        barrier.wait()
        try:
            response = _sign_in(client, "riley@acme.test", f"guess {n}")
            body = response.content.decode()
            outcomes.append("locked" if LOCKED in body else
                            "checked" if GENERIC in body else str(response.status_code))
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["checked"] * 5 + ["locked"] * 35
    # The right password now is refused as well: no sign-in this window.
    client = Client()
    response = _sign_in(client, "riley@acme.test", PASSWORD)
    assert response.status_code == 400 and LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_one_persons_typos_lock_out_nobody_else_behind_the_same_address(client, researcher,
                                                                       ops_manager, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    for n in range(8):
        _sign_in(Client(), "riley@acme.test", f"typo {n}")
    colleague = Client()
    response = _sign_in(colleague, "olivia@acme.test", PASSWORD)
    assert response.status_code == 302 and "_auth_user_id" in colleague.session


@pytest.mark.django_db
def test_an_address_trying_many_accounts_is_locked_at_its_higher_limit(workspace, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    people = [MembershipFactory(workspace=workspace, user=UserFactory(
        email=f"person{n}@acme.test", password=PASSWORD)).user for n in range(5)]
    for person in people[:4]:
        for n in range(3):
            _sign_in(Client(), person.email, f"wrong {n}")  # 12 failures, 3 per account
    blocked = _sign_in(Client(), people[4].email, PASSWORD)
    assert LOCKED in blocked.content.decode()
    # Elsewhere, the same person signs in.
    elsewhere = Client()
    assert _sign_in(elsewhere, people[4].email, PASSWORD, address="198.51.100.9"
                    ).status_code == 302


@pytest.mark.django_db
def test_a_successful_sign_in_clears_the_accounts_count(researcher, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for n in range(2):
        _sign_in(Client(), "riley@acme.test", f"typo {n}")
    assert _sign_in(Client(), "riley@acme.test", PASSWORD).status_code == 302
    for n in range(2):
        _sign_in(Client(), "riley@acme.test", f"typo again {n}")
    assert _sign_in(Client(), "riley@acme.test", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_password_reset_is_throttled_per_account(client, researcher, settings):
    settings.PASSWORD_RESET_ACCOUNT_LIMIT = 3
    for _ in range(5):
        response = client.post(reverse("password_reset"), {"email": "riley@acme.test"})
        assert response.status_code == 302  # the same answer every time
        assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_password_reset_is_throttled_per_address(client, workspace, settings):
    settings.PASSWORD_RESET_ADDRESS_LIMIT = 4
    for n in range(6):
        MembershipFactory(workspace=workspace, user=UserFactory(email=f"p{n}@acme.test"))
        client.post(reverse("password_reset"), {"email": f"p{n}@acme.test"},
                    REMOTE_ADDR="203.0.113.50")
    assert len(mail.outbox) == 4
    client.post(reverse("password_reset"), {"email": "p5@acme.test"},
                REMOTE_ADDR="198.51.100.1")
    assert len(mail.outbox) == 5
