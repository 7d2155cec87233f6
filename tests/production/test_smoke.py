"""The production smoke test: Rally as it is deployed, booted once.

gunicorn with DEBUG off serving whitenoise's statics after collectstatic; a Celery worker and
beat as processes of their own; the User Interviews sandbox as a separate gunicorn standing
in for UI; a real SMTP server (aiosmtpd) receiving the mail; a database of its own (named
after the test database) and a Redis of its own, all on free ports. A workspace is made
with `create_workspace`, its Admin sets a password from the printed link, connects the
workspace's User Interviews account, runs an Unmoderated Test study from start to close,
pays the participant, and the receipt email arrives with its PDF. Every process is stopped
however the test ends; every wait is bounded.
"""

import email
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace

import httpx
import psycopg
import pytest
from playwright.sync_api import expect

from tests.e2e import flow

pytestmark = [pytest.mark.browser, pytest.mark.long]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
UI_KEY = "ui_smoke_key_0042"
ADMIN = "owner@smoke.example"
PASSWORD = "smoke-test-passphrase"
STUDY = "Smoke checkout test"
BOOT_SECONDS = 90
STEP_SECONDS = 60


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what, check, seconds=STEP_SECONDS, every=0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"Timed out after {seconds} s waiting for {what}.")


class Mailbox:
    """aiosmtpd's handler: every message received, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class Processes:
    """Started processes, each with its log file; all stopped (TERM, then KILL) at exit."""

    def __init__(self, logs):
        self.logs = logs
        self.running = {}

    def start(self, name, command, env):
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed in stop_all
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.running[name] = (process, log)
        return process

    def check_alive(self):
        for name, (process, _) in self.running.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited ({process.returncode}):\n{self.tail(name)}")

    def tail(self, name, lines=40):
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop_all(self):
        for process, _ in self.running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process, log in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            log.close()


def _database(test_database_url_parts):
    """A database of the smoke test's own, named after the test database."""
    host, port, user, test_name = test_database_url_parts
    name = f"{test_name}_smoke"[:63]
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(parts, name):
    host, port, user, _ = parts
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def production(django_db_setup, django_db_blocker, tmp_path):
    from aiosmtpd.controller import Controller
    from django.db import connection

    settings_dict = connection.settings_dict
    parts = (settings_dict["HOST"] or "127.0.0.1", settings_dict["PORT"] or 5432,
             settings_dict["USER"] or "postgres", settings_dict["NAME"])
    redis_server = shutil.which("redis-server")
    if redis_server is None:
        pytest.skip("redis-server is not installed")
    web_port, sandbox_port, redis_port, smtp_port = (free_port() for _ in range(4))
    web_url = f"http://127.0.0.1:{web_port}"
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    static_root = tmp_path / "static"
    logs = tmp_path / "logs"
    logs.mkdir()

    with ExitStack() as stack:
        database = _database(parts)
        stack.callback(_drop_database, parts, database)
        mailbox = Mailbox()
        smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
        smtp.start()
        stack.callback(smtp.stop)
        processes = Processes(logs)
        stack.callback(processes.stop_all)
        processes.start("redis", [redis_server, "--bind", "127.0.0.1", "--port",
                                  str(redis_port), "--save", "", "--appendonly", "no",
                                  "--dir", str(tmp_path)], os.environ.copy())

        password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
        common = {
            "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", str(tmp_path)),
            "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1",
            "SECRET_KEY": "smoke-" + "k" * 60,
            "FIELD_ENCRYPTION_KEYS": "OVii1T7joKOul5DWQtCFnrQ7Z6Pcj6N4aSFpIr62mac=",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"postgres://{parts[2]}{password}@{parts[0]}:{parts[1]}/{database}",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "UI_API_URL": f"{sandbox_url}/sandbox/ui/api",
            "RALLY_BASE_URL": web_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "DEFAULT_FROM_EMAIL": "Rally <rally@smoke.example>",
            "STATIC_ROOT": str(static_root),
            "SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0", "LOG_LEVEL": "INFO",
        }
        # Rally in production: no sandbox, no development key; the workspace connects its own.
        rally_env = {**common, "DEBUG": "false", "SANDBOX_ENABLED": "false",
                     "UI_API_KEY": "", "UI_WEBHOOK_SECRET": ""}
        # The stand-in for UI: its own process (the sandbox needs DEBUG, which is why it can
        # never be part of Rally's production processes).
        sandbox_env = {**common, "DEBUG": "true", "SANDBOX_ENABLED": "true",
                       "SANDBOX_API_KEYS": UI_KEY, "SANDBOX_TIME_SCALE": "0",
                       "SANDBOX_REVIEW_DELAY_SECONDS": "86400",
                       "SANDBOX_RATE_LIMIT_PER_MINUTE": "6000",
                       "SANDBOX_RATE_LIMIT_BURST": "1000",
                       "SANDBOX_PAYMENT_FAILURE_RATE": "0"}
        python = str(BIN / "python")

        def manage(*args, env=rally_env):
            done = subprocess.run([python, "manage.py", *args], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=BOOT_SECONDS)
            assert done.returncode == 0, done.stdout + done.stderr
            return done.stdout

        manage("check", "--deploy")  # over plain HTTP here: HSTS and the redirect warn only
        manage("migrate", "--no-input", "-v0")
        manage("collectstatic", "--no-input", "-v0")

        processes.start("web", [str(BIN / "gunicorn"), "rally.wsgi:application", "--bind",
                                f"127.0.0.1:{web_port}", "--workers", "2", "--timeout", "60"],
                        rally_env)
        processes.start("sandbox", [str(BIN / "gunicorn"), "rally.wsgi:application", "--bind",
                                    f"127.0.0.1:{sandbox_port}", "--workers", "2",
                                    "--timeout", "60"], sandbox_env)
        processes.start("worker", [str(BIN / "celery"), "-A", "rally", "worker",
                                   "--loglevel=INFO", "--concurrency=2"], rally_env)
        processes.start("beat", [str(BIN / "celery"), "-A", "rally", "beat", "--loglevel=INFO",
                                 f"--schedule={tmp_path / 'celerybeat-schedule'}"], rally_env)

        def ready():
            processes.check_alive()
            try:
                return httpx.get(f"{web_url}/readyz", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until("Rally's /readyz (web, worker and beat up)", ready, BOOT_SECONDS)
            wait_until("the sandbox", lambda: httpx.get(
                f"{sandbox_url}/sandbox/", timeout=5).status_code == 200, BOOT_SECONDS)
            yield SimpleNamespace(web=SimpleNamespace(url=web_url),
                                  sandbox=SimpleNamespace(url=sandbox_url),
                                  mailbox=mailbox, manage=manage, processes=processes,
                                  static_root=static_root)
        except BaseException:
            for name in processes.running:
                print(f"--- {name} ---\n{processes.tail(name)}")
            raise


def statics_are_hashed_compressed_and_cached_for_a_year(base, static_root):
    """collectstatic with whitenoise's compressed manifest storage, as a browser receives a
    stylesheet: hashed name, gzip and brotli when asked for, a year's immutable lifetime."""
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["css/rally.css"]
    assert re.fullmatch(r"css/rally\.[0-9a-f]{12}\.css", hashed)
    url = f"{base}/static/{hashed}"
    with httpx.Client(timeout=10) as client:
        plain = client.get(url, headers={"Accept-Encoding": "identity"})
        zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
        brotli = client.get(url, headers={"Accept-Encoding": "br"})
        unhashed = client.get(f"{base}/static/css/rally.css",
                              headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == zipped.status_code == brotli.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert brotli.headers["Content-Encoding"] == "br"
    assert zipped.content == brotli.content == plain.content  # httpx decodes both
    assert int(zipped.headers["Content-Length"]) < len(plain.content)
    assert "Accept-Encoding" in zipped.headers["Vary"]
    for response in (plain, zipped, brotli):
        cache = response.headers["Cache-Control"]
        assert "immutable" in cache and "public" in cache
        assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600
    # The unhashed name (never linked by a page) may change: it is not cached for long.
    assert unhashed.status_code == 200
    assert "immutable" not in unhashed.headers.get("Cache-Control", "")


def _reload_until(page, url, locator_of, what, seconds=STEP_SECONDS):
    """Reload `url` until `locator_of(page)` is visible (the worker catches up meanwhile)."""
    def shown():
        page.goto(url)
        return locator_of(page).count() > 0
    wait_until(what, shown, seconds, every=1.0)


def test_production_smoke_from_a_new_workspace_to_the_receipt_email(production, page):
    web, sandbox = production.web, production.sandbox

    statics_are_hashed_compressed_and_cached_for_a_year(web.url, production.static_root)
    assert httpx.get(f"{web.url}/sandbox/").status_code == 404  # never served by Rally

    # A workspace made by the command; its Admin sets a password from the printed link.
    link = production.manage("create_workspace", "Smoke Research", "--admin",
                             ADMIN).strip().splitlines()[-1]
    assert link.startswith(f"{web.url}/password-reset/")
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password confirmation").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.goto(f"{web.url}/login/")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log in")).to_have_count(0)

    # Workspace settings → User Interviews: the workspace's own key, tested, webhooks.
    page.goto(f"{web.url}/workspace/settings/user-interviews/")
    page.get_by_role("textbox", name="API key").fill(UI_KEY)
    page.get_by_role("button", name="Save API key").click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-state")).to_contain_text("Connected")
    page.get_by_role("button", name="Subscribe to webhooks").click()
    expect(page.get_by_role("button", name="Rotate secret")).to_be_visible()

    # A budget, then an Unmoderated Test study planned, published and started.
    page.goto(f"{web.url}/budgets/new/")
    page.get_by_label("Name").fill("Research 2027")
    page.get_by_role("button", name="Create budget").click()
    study_id = flow.study_create(page, web, name=STUDY, study_type="Unmoderated Test")
    flow.plan_fill(page, description="Try our checkout and tell us where it hurts.",
                   limit=1, incentive="20")
    flow.audience_b2c(page)
    flow.test_task_add(page, "Check out as a guest", "Stop before paying.")
    flow.publish(page)
    flow.start_recruitment(page, add_funds="46", reference="PO-SMOKE")

    # UI (the sandbox) receives the study from the worker, approves it, sends an applicant.
    _reload_until(page, f"{sandbox.url}/sandbox/",
                  lambda p: p.get_by_role("row", name=re.compile(re.escape(STUDY))).get_by_role(
                      "button", name="Approve review"), "the recruit at the sandbox")
    flow.console_review(page, sandbox, STUDY)
    flow.console_tick(page, sandbox)
    flow.console_generate(page, sandbox, STUDY, 1)
    flow.console_tick(page, sandbox)
    participants = f"{web.url}/studies/{study_id}/participants/"
    _reload_until(page, participants, lambda p: p.locator("tbody tr"),
                  "the applicant in Rally (webhook → worker)")
    (name,) = flow.participant_names(page)
    flow.invite_selected(page, [name])

    # The participant takes the test at UI; the completion comes back; Rally pays.
    def submitted():
        flow.console(page, sandbox)
        button = page.get_by_role("row", name=re.compile(re.escape(name))).get_by_role(
            "button", name="Submit test")
        if not button.count():
            return False
        button.click()
        return True

    wait_until("the invitation at the sandbox (worker → UI)", submitted, every=1.0)
    flow.console_tick(page, sandbox)
    _reload_until(page, participants, lambda p: p.get_by_role("row").filter(
        has_text=name).locator(".badge", has_text="Completed"), "the completion in Rally")
    flow.complete_and_send_payment(page, name)
    expect(page.get_by_role("status")).to_contain_text("The payment is on its way.")

    def paid():
        flow.console_tick(page, sandbox)
        page.goto(participants)
        return page.get_by_role("row").filter(has_text=name).locator(
            ".badge", has_text="Paid").count() > 0

    wait_until("the payment paid at UI and known to Rally", paid, every=1.0)

    # Closing issues the receipt; the worker emails it through the SMTP server.
    page.goto(f"{web.url}/studies/{study_id}/")
    flow.status_change(page, "Closed", confirm="Close study")
    message = wait_until("the receipt email at the SMTP server", lambda: next(
        (m for m in production.mailbox.messages if "receipt" in m["Subject"].lower()), None))
    assert ADMIN in message["To"] or ADMIN in str(message.get_all("To"))
    pdfs = [part for part in message.walk() if part.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1 and pdfs[0].get_payload(decode=True).startswith(b"%PDF-")
    production.processes.check_alive()
