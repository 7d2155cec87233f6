"""The platform around the pages: health, security headers, deploy checks, layout."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_says_the_process_is_alive_without_asking_anything_else(client,
                                                                        monkeypatch):
    from django.db import connection

    monkeypatch.setattr(connection, "cursor", lambda *a, **k: 1 / 0)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.fixture
def live_processes():
    from rally.health import heartbeat_record

    heartbeat_record("worker")
    heartbeat_record("beat")


@pytest.mark.django_db
def test_readyz_reports_each_dependency(client, live_processes):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok",
                               "worker": "ok", "beat": "ok", "outbox": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_when_the_broker_is_down(client, live_processes):
    from rally.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down")
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_down(client, monkeypatch, live_processes):
    from django.db import connection

    def refuse(*args, **kwargs):
        raise ConnectionError("database is down")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("down")


@pytest.mark.django_db
def test_readyz_wants_a_worker_and_beat_seen_within_a_minute(client, monkeypatch):
    import time

    from rally import health

    assert client.get("/readyz").json()["worker"] == "down: never seen"
    health.heartbeat_record("worker")
    health.heartbeat_record("beat")
    assert client.get("/readyz").status_code == 200
    later = time.time() + 61
    monkeypatch.setattr(health.time, "time", lambda: later)
    body = client.get("/readyz").json()
    assert body["status"] == "unavailable"
    assert body["worker"].startswith("down: last seen 6") and body["beat"].startswith("down")


@pytest.mark.django_db
def test_readyz_fails_when_the_outbox_falls_behind(client, workspace, settings,
                                                   live_processes, monkeypatch):
    from rally import clock
    from rally.services import outbox_enqueue

    monkeypatch.setattr("rally.services.outbox_dispatch", lambda pk: None)
    settings.READYZ_OUTBOX_MAX_AGE_SECONDS = 600
    outbox_enqueue(workspace=workspace, operation="pause_recruit", subject="s", payload={})
    assert client.get("/readyz").status_code == 200
    clock.advance(seconds=601)
    body = client.get("/readyz").json()
    assert body["outbox"].startswith("behind: 1 waiting") and body["status"] == "unavailable"


def test_the_sandbox_without_debug_is_a_system_check_error_and_nothing_starts():
    environment = {**{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
                   "DEBUG": "false", "SANDBOX_ENABLED": "true",
                   "SECRET_KEY": "x" * 60, "FIELD_ENCRYPTION_KEYS":
                   "OVii1T7joKOul5DWQtCFnrQ7Z6Pcj6N4aSFpIr62mac=", "ALLOWED_HOSTS": "rally.test"}
    check = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT,
                           env=environment, capture_output=True, text=True, timeout=120)
    assert check.returncode != 0 and "rally.E001" in check.stderr
    gunicorn = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "rally.wsgi:application", "--bind",
         "127.0.0.1:0"], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=120)
    assert gunicorn.returncode != 0 and "rally.E001" in gunicorn.stderr
    worker = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "rally", "worker", "--pool=solo",
         "--concurrency=1", "--without-heartbeat", "--without-mingle", "--without-gossip"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert worker.returncode != 0 and "rally.E001" in worker.stdout + worker.stderr
    environment["SANDBOX_ENABLED"] = "false"
    assert subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=environment,
                          capture_output=True, timeout=120).returncode == 0


def test_the_500_page_renders_even_when_the_static_manifest_is_missing(settings, tmp_path):
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.test import RequestFactory

    from rally.views import error_500

    settings.STATIC_ROOT = tmp_path  # collectstatic never ran here: no manifest
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    settings.DEBUG = False
    staticfiles_storage._wrapped = None  # the storage follows the settings above
    try:
        response = error_500(RequestFactory().get("/"))
    finally:
        staticfiles_storage._wrapped = None
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()


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
