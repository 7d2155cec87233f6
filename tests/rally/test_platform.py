"""The platform around the pages: health, security headers, deploy checks, seed, layout."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from rally.models import Membership, User, Workspace

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_down(client):
    from rally.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_down(client, monkeypatch):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise ConnectionError("database is down")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("down")


@pytest.mark.django_db
def test_csp_header_carries_a_fresh_nonce_per_response(client):
    first = client.get(reverse("login"))
    second = client.get(reverse("login"))
    nonces = []
    for response in (first, second):
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "cdn" not in policy
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        assert f'nonce="{nonce}"' in response.content.decode()
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_check_deploy_is_clean_with_production_settings():
    env = {name: value for name, value in os.environ.items()
           if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(DEBUG="false", SECRET_KEY="Zq8!vR2#pL6@tY4^wN0&kJ3-m9Hx7$bC5%fG1*dS8+aE2=uW6~iO4",
               UI_API_KEY="live-key", UI_WEBHOOK_SECRET="whsec-live",
               ALLOWED_HOSTS="rally.example.com", EMAIL_URL="smtp+tls://rally:pw@mail.example.com:587",
               FIELD_ENCRYPTION_KEYS="Jx0bYwq1d3hHqF0d3QjC2m7pQmQ1yZ5Zr6m4x0GJ8aE=")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_are_kept():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# Transactional: the seed reaches the sandbox in-process from a thread of its own, whose
# writes (the criteria catalog, the webhook subscription) commit outside a test transaction.
@pytest.mark.django_db(transaction=True)
def test_seed_demo_is_idempotent(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    counts = (Workspace.objects.count(), User.objects.count(), Membership.objects.count())
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    assert (Workspace.objects.count(), User.objects.count(), Membership.objects.count()) == counts
    roles = dict(Membership.objects.values_list("user__email", "role"))
    assert roles == {"admin@example.com": "admin", "ops@example.com": "ops_manager",
                     "researcher@example.com": "researcher", "observer@example.com": "observer"}
    assert User.objects.get(email="ops@example.com").check_password("rally-demo")


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")


def test_every_procfile_process_has_a_compose_service():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    processes = [line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines()
                 if line.strip()]
    assert processes and all(name in services for name in processes)
    assert services["db"]["image"].startswith("postgres:17")
    for name in processes:
        missing = _example_variables() - set(services[name]["environment"])
        assert not missing, f"{name} lacks {missing}"


def _example_variables():
    return {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
            if line and not line.startswith("#")}


def test_env_example_lists_every_variable_settings_read():
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"',
                          (ROOT / "rally" / "settings.py").read_text()))
    assert read <= _example_variables(), f"missing from .env.example: {read - _example_variables()}"
