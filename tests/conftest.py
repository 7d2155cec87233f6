"""Shared fixtures: the personas every permission test speaks of, and the browser."""

import os
import re
import shutil
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache

from tests.rally.factories import MembershipFactory, UserFactory, WorkspaceFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Debian's headless shell (the old headless mode, what Playwright itself runs headless) when it
# is installed: the same Blink and V8 as the full browser for about two thirds of its CPU.
CHROMIUM = (shutil.which("chromium-headless-shell") or shutil.which("chromium")
            or shutil.which("chromium-browser"))
PASSWORD = "correct horse battery staple"


def pytest_configure(config):
    """Personas get passwords, and the demo seeds its sign-ins: hashing them at full strength
    would dominate the suite's time. Set for the whole session, so that module-scoped fixtures
    (which run before any function-scoped one) hash quickly too."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _worker_redis_database()


def _worker_redis_database():
    """Parallel workers (pytest-xdist) each get a Redis database of their own: tests empty the
    cache, and one worker must not empty another's. (Each also gets its own test database,
    which pytest-django names after the worker.)"""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    from django.conf import settings

    from rally.celery import app

    offset = int(worker[2:]) + 1
    base, _, database = settings.REDIS_URL.rpartition("/")
    url = f"{base}/{(int(database or 0) + offset * 2) % 16}"
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        settings.CACHES["default"]["LOCATION"] = url
    app.conf.broker_url = url


def pytest_collection_modifyitems(config, items):
    # The long modules first: with `--dist loadfile --no-loadscope-reorder` (make test) the
    # processes take files in this order, and short files last keep them busy to the end.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
    if CHROMIUM:
        return
    skip = pytest.mark.skip(
        reason="Chromium is not installed (apt-get install chromium-headless-shell)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _urls_with_the_sandbox():
    """rally.urls mounts the sandbox if SANDBOX_ENABLED is on when it is first imported: import
    it now, with the suite's settings, not first inside a test that turned the sandbox off
    (the sandbox tests that follow in the same process would then answer 404)."""
    import rally.urls  # noqa: F401


def _tables_emptied(alias):
    """What a transactional test leaves, deleted row by row instead of Django's TRUNCATE:
    TRUNCATE makes new files for every table and index, about 0.3 s of the machine's CPU per
    test even when the tables are almost empty; DELETE of the few rows a test leaves takes
    about 20 ms. With `session_replication_role` at `replica` for this one transaction no
    trigger fires: neither the foreign keys' (everything goes) nor the append-only ledgers'
    refusal (which TRUNCATE skips too). The content types and permissions (rows every
    migrated database has, which no test changes) stay, and post_migrate puts back what it
    seeds, as after a flush."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.core.management.sql import emit_post_migrate_signal
    from django.db import connections, transaction

    connection = connections[alias]
    quote = connection.ops.quote_name
    kept = {ContentType._meta.db_table, Permission._meta.db_table}
    tables = set(connection.introspection.django_table_names(only_existing=True,
                                                             include_views=False)) - kept
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for table in sorted(tables):
            cursor.execute(f"DELETE FROM {quote(table)}")  # noqa: S608 (model tables)
    emit_post_migrate_signal(verbosity=0, interactive=False, db=alias)


@pytest.fixture(scope="session", autouse=True)
def _transactional_tests_delete_rows(django_db_setup, django_db_blocker):
    """Transactional tests end with `_tables_emptied` when the test database's role may set
    `session_replication_role` (a superuser's, as here); otherwise, and for the cases Django
    treats specially (a subset of apps, serialized rollback), with Django's own flush."""
    from django.db import connection
    from django.test import TransactionTestCase

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = cursor.fetchone()[0]
    flush = TransactionTestCase._fixture_teardown

    def teardown(self):
        if not superuser or self.available_apps is not None or self.serialized_rollback:
            return flush(self)
        for alias in self._databases_names(include_mirrors=False):
            _tables_emptied(alias)

    TransactionTestCase._fixture_teardown = teardown
    yield
    TransactionTestCase._fixture_teardown = flush


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache (sign-in throttle, clock offset, reach) lives in Redis: empty it per test.
    The clock's in-process memo of the offset goes with it (the offset row is rolled back)."""
    from rally import clock

    cache.clear()
    clock.forget()
    yield
    cache.clear()
    clock.forget()


@pytest.fixture(autouse=True)
def _calendar_invites_are_valid():
    """Every calendar invite a test makes is read back with `icalendar` and checked (UID,
    SEQUENCE, METHOD, DTSTART/DTEND, ORGANIZER/ATTENDEE): tests/scheduling/invites.py."""
    yield
    from django.core import mail

    from tests.scheduling.invites import invite_read, is_invite

    for message in getattr(mail, "outbox", None) or []:
        if is_invite(message):
            invite_read(message)


#: Monday 1 June 2026, 08:00 in New York: the frozen clock of the scheduling and panel tests.
MONDAY_MORNING = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock():
    with time_machine.travel(MONDAY_MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme Research")


def _persona(workspace, role, email):
    user = UserFactory(email=email, password=PASSWORD)
    return MembershipFactory(user=user, workspace=workspace, role=role)


@pytest.fixture
def admin(workspace):
    return _persona(workspace, "admin", "avery@acme.test")


@pytest.fixture
def ops_manager(workspace):
    return _persona(workspace, "ops_manager", "olivia@acme.test")


@pytest.fixture
def researcher(workspace):
    return _persona(workspace, "researcher", "riley@acme.test")


@pytest.fixture
def observer(workspace):
    return _persona(workspace, "observer", "oscar@acme.test")


@pytest.fixture
def outsider(db):
    """An Admin of another workspace: sees nothing of ours."""
    return _persona(WorkspaceFactory(name="Globex Insights"), "admin", "olga@globex.test")


@pytest.fixture
def personas(admin, ops_manager, researcher, observer):
    return {"admin": admin, "ops_manager": ops_manager, "researcher": researcher,
            "observer": observer}


@pytest.fixture
def client_for(client):
    """`client_for(membership)`: a test client signed in as that persona."""

    def sign_in(membership):
        client.force_login(membership.user)
        return client

    return sign_in


# Webhooks from User Interviews ------------------------------------------------------------


@pytest.fixture
def webhook_endpoint(db):
    """Rally's (global) subscription at UI, signing with `tests.recruitment.sync_support.SECRET`,
    which `deliver(...)` signs with."""
    from tests.recruitment.factories import WebhookEndpointFactory
    from tests.recruitment.sync_support import SECRET

    return WebhookEndpointFactory(ui_subscription_id="sub_1", secret=SECRET)


@pytest.fixture
def webhook_dispatches(monkeypatch):
    """No broker: the ids of the webhook events the receiver queued for processing."""
    queued = []
    monkeypatch.setattr("recruitment.webhooks.webhook_event_dispatch", queued.append)
    return queued


# Browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {
        "executable_path": CHROMIUM,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"],
    }


#: Console lines that are no error of the page: Chromium's network log of an HTTP 4xx answer
#: a test asks for on purpose (a forged link's 404, a form re-shown with its errors as 400,
#: which the page displays), and htmx's note that a request was abandoned because the page
#: moved on (a poll in flight during navigation). A 5xx answer is never excused.
EXPECTED_CONSOLE = re.compile(
    r"^Failed to load resource: the server responded with a status of 4\d\d "
    r"|^htmx:(sendAbort|afterRequest), ")


@pytest.fixture
def page(page):
    """Every browser test's page fails the test on a console error, an uncaught exception or
    a Content Security Policy violation (Chromium reports those as console errors; the
    listener below names the directive as well)."""
    problems = []

    def on_console(message):
        if message.type == "error" and not EXPECTED_CONSOLE.search(message.text):
            problems.append(f"console: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', (e) => console.error("
        "`CSP violation: ${e.violatedDirective} ${e.blockedURI || ''}`));")
    yield page
    assert not problems, "The browser console reported:\n" + "\n".join(problems)
