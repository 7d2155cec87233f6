"""The end-to-end suite: Rally and the User Interviews sandbox served together by
`live_server`, driven through their pages in Chromium.

Background work is what a Celery worker and beat would do, run in the test's thread at the
points a worker would get to it: every task Rally or the sandbox sends (`send_task`, `delay`)
is queued by `Worker`, and `worker.drain()` runs the queue with the same task functions the
worker runs, until it is empty. Periodic jobs run when the test calls `worker.beat(...)`, as
beat would after the time has passed. People act only through pages.
"""

import threading
from collections import deque

import pytest
from django.urls import reverse

from billing.services import budget_default_create
from tests.conftest import PASSWORD
from tests.rally.factories import MembershipFactory, UserFactory, WorkspaceFactory

API_KEY = "rally-e2e-key"

#: What beat runs (SPEC R4, I2, R8): the sweepers and the poller.
BEAT = ("recruitment.outbox_sweep", "recruitment.webhook_sweep", "recruitment.poll",
        "recruitment.payments_poll", "scheduling.sessions_sweep", "billing.payouts_sweep",
        "billing.receipt_emails_sweep", "scheduling.session_invites_sweep")


class Worker:
    """The Celery worker of this test: tasks are queued when sent and run by `drain`."""

    def __init__(self, app):
        self.app = app
        self.queue = deque()
        self.lock = threading.Lock()
        self.ran = []

    def send_task(self, name, args=None, kwargs=None, **options):
        with self.lock:
            self.queue.append((name, tuple(args or ()), dict(kwargs or {})))

    def drain(self, limit=500):
        """Run queued tasks (and those they queue) until none is left."""
        for _ in range(limit):
            with self.lock:
                if not self.queue:
                    return
                name, args, kwargs = self.queue.popleft()
            self.ran.append(name)
            self.app.tasks[name](*args, **kwargs)
        raise AssertionError(f"The queue never emptied: last tasks {self.ran[-10:]}")

    def beat(self, *names):
        """Run periodic tasks (all of them by default) and then what they queue."""
        self.drain()
        for name in names or BEAT:
            self.ran.append(name)
            self.app.tasks[name]()
            self.drain()

    def settle(self):
        """Let UI and Rally catch up: UI's simulation tick sends what is due, then Rally's
        worker runs what arrived."""
        self.drain()
        self.beat("sandbox.simulation_tick")


@pytest.fixture
def worker(monkeypatch):
    from rally.celery import app

    app.loader.import_default_modules()
    stand_in = Worker(app)
    monkeypatch.setattr(app, "send_task", stand_in.send_task)
    return stand_in


@pytest.fixture
def e2e(live_server, settings, worker):
    """Rally pointed at the sandbox in the same live server, subscribed to its webhooks, the
    criteria catalog loaded (the daily sync), the test clock on the wall clock."""
    from recruitment.user_interviews.client import UIClient
    from recruitment.webhooks import webhook_endpoint_ensure

    settings.SANDBOX_ENABLED = True
    settings.SANDBOX_API_KEYS = [API_KEY]
    settings.UI_API_KEY = API_KEY
    settings.UI_API_URL = f"{live_server.url}/sandbox/ui/api"
    settings.RALLY_BASE_URL = live_server.url
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SANDBOX_RATE_LIMIT_BURST = 100_000
    settings.SANDBOX_FAULT_TIMEOUT_SECONDS = 0
    settings.SANDBOX_TIME_SCALE = 0.0  # applicants arrive only when the console asks
    settings.SANDBOX_REVIEW_DELAY_SECONDS = 365 * 24 * 3600  # reviews end in the console
    settings.SANDBOX_PAYMENT_FAILURE_RATE = 0.0
    settings.UI_API_TIMEOUT_SECONDS = 5.0
    worker.beat("recruitment.criteria_sync")
    with UIClient.from_settings() as client:
        webhook_endpoint_ensure(client=client,
                                url=live_server.url + reverse("recruitment:webhook"))
    return live_server


@pytest.fixture
def workspace(db):
    """As recruitment.workflows.workspace_create makes one: with its "Workspace Budget" (B3)."""
    workspace = WorkspaceFactory(name="Acme Research")
    budget_default_create(workspace=workspace)
    return workspace


def _member(workspace, role, name, email):
    user = UserFactory(email=email, name=name, password=PASSWORD)
    return MembershipFactory(user=user, workspace=workspace, role=role)


@pytest.fixture
def researcher(workspace):
    return _member(workspace, "researcher", "Riley Reyes", "riley@acme.test")


@pytest.fixture
def ops_manager(workspace):
    return _member(workspace, "ops_manager", "Olivia Ortiz", "olivia@acme.test")


@pytest.fixture
def admin(workspace):
    return _member(workspace, "admin", "Avery Adams", "avery@acme.test")


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900},
            "timezone_id": "America/New_York"}
