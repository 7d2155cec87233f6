"""What the benchmarks share: a database of their own, named after the configured one
(`<name>_bench_<what>`, so benches run from two checkouts never meet), created, migrated
and dropped around the measurement, with in-process requests not closing the worker's
connection and the sandbox's rate limits raised."""

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core import signals
from django.db import close_old_connections, connection

ROOT = Path(__file__).resolve().parent.parent


def database_name(what):
    return f"{connection.settings_dict['NAME']}_bench_{what}"[:63]


@contextlib.contextmanager
def own_database(what, *, sandbox=False):
    old_name = connection.settings_dict["NAME"]
    old_test = dict(connection.settings_dict.get("TEST") or {})
    old = {name: getattr(settings, name, None) for name in (
        "SANDBOX_RATE_LIMIT_PER_MINUTE", "SANDBOX_RATE_LIMIT_BURST",
        "UI_RATE_LIMIT_PER_MINUTE", "SANDBOX_ENABLED")}
    connection.settings_dict.setdefault("TEST", {})["NAME"] = database_name(what)
    # A worker's connection is not a request's: in-process requests must not close it.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    logging.disable(logging.WARNING)
    if sandbox:
        settings.SANDBOX_RATE_LIMIT_PER_MINUTE = settings.SANDBOX_RATE_LIMIT_BURST = 1_000_000
        settings.UI_RATE_LIMIT_PER_MINUTE = 0  # Rally's shared bucket off: the limit is raised
        settings.SANDBOX_ENABLED = True
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        yield
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        connection.settings_dict["TEST"] = old_test
        for name, value in old.items():
            setattr(settings, name, value)
        logging.disable(logging.NOTSET)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def recruit_with_applicants(client, *, study, name, participants, applicants, seed):
    """A recruit for `study` created through Rally's UI client, launched, approved by the
    sandbox's review and given `applicants` applicants (setup, not measured)."""
    from decimal import Decimal

    from recruitment.user_interviews.client import idempotency_key

    recruit = client.recruit_create(
        key=idempotency_key("create_recruit", study.pk), external_id=study.pk,
        internal_name=name, public_title=name, public_description="Bench",
        study_type="interview", num_participants=participants, duration_minutes=30,
        compensation=Decimal("50.00"), timezone="UTC",
        audience={"type": "b2c", "countries": ["US"], "usStates": [], "criteria": []},
        screener={"version": 1, "questions": []})
    client.recruit_launch(recruit.id, key=idempotency_key("launch_recruit", recruit.id))
    for path, body in ((f"_sandbox/recruits/{recruit.id}/review", {"outcome": "approve"}),
                       (f"_sandbox/recruits/{recruit.id}/applicants",
                        {"count": applicants, "seed": seed})):
        response = client.http.post(path, json=body)
        assert response.status_code < 300, response.text
    return recruit


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url():
    """The URL of the database this process is connected to (the bench's own), for servers
    started as other processes."""
    config = connection.settings_dict
    return (f"postgres://{config['USER'] or 'postgres'}@{config['HOST'] or '127.0.0.1'}:"
            f"{config['PORT'] or 5432}/{config['NAME']}")


def stand_in_url(port):
    return f"http://127.0.0.1:{port}/sandbox/ui/api"


def _environment(**overrides):
    keep = {name: value for name, value in os.environ.items()
            if name not in ("DJANGO_SETTINGS_MODULE", "DEBUG", "SANDBOX_ENABLED")}
    return {**keep, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
            "LOG_LEVEL": "WARNING", **overrides}


def stand_in_process(port, *, workers=1, threads=1):
    """User Interviews' stand-in as another machine would be: gunicorn in a process of its
    own (DEBUG on, as the sandbox only runs there), its rate limits raised."""
    return ("stand-in", port, ["-w", str(workers), "--threads", str(threads)], _environment(
        DEBUG="true", SANDBOX_ENABLED="true", SANDBOX_RATE_LIMIT_PER_MINUTE="100000000",
        SANDBOX_RATE_LIMIT_BURST="100000000"))


def rally_process(port, *, stand_in_port, workers=2):
    """Rally as production serves it: gunicorn, DEBUG off, the sandbox off."""
    from cryptography.fernet import Fernet
    from django.utils.crypto import get_random_string

    return ("rally", port, ["-w", str(workers)], _environment(
        DEBUG="false", SANDBOX_ENABLED="false", SECURE_SSL_REDIRECT="false",
        SECRET_KEY=get_random_string(50), ALLOWED_HOSTS="127.0.0.1",
        FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode(), UI_API_KEY="rally-dev-key",
        UI_API_URL=stand_in_url(stand_in_port)))


@contextlib.contextmanager
def served(*processes):
    """Run each (name, port, gunicorn options, environment) until the block ends; wait until
    each answers /healthz. Rally's static files are collected first (DEBUG off needs them)."""
    if any(name == "rally" for name, *_ in processes):
        environment = next(env for name, _, _, env in processes if name == "rally")
        subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
                       cwd=ROOT, env=environment, check=True)
    running = [subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "rally.wsgi:application", "-b", f"127.0.0.1:{port}",
         *options], cwd=ROOT, env=environment, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL) for _, port, options, environment in processes]
    try:
        for _, port, _, _ in processes:
            _wait_until_answering(f"http://127.0.0.1:{port}/healthz")
        yield [process.pid for process in running]
    finally:
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_answering(url, seconds=60):
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {seconds} s")
