"""A real crash (QUALITY.md, Crashes): a worker process is killed with SIGKILL after User
Interviews applied the payment and before Rally recorded it. The outbox row stays claimed;
once its lease runs out the next worker looks the payment up instead of paying again, and
the participant is paid once."""
# ruff: noqa: F811 - fixtures are imported from test_payments and sync_support by name

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from billing.models import Payout
from tests.billing.payouts_support import charges
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    SANDBOX_KEY,
    SANDBOX_URL,
    sandbox_transport,
    sandbox_ui,
)
from tests.recruitment.test_payments import (  # noqa: F401 - fixtures
    after_lease,
    completed,
    no_broker,
    pay_now,
    payments_at_ui,
    run,
)

pytestmark = pytest.mark.django_db(transaction=True)

#: The worker: the production outbox executor and UI client (the sandbox served in-process,
#: as in these tests), stopped for good between UI's answer and the record of it.
WORKER = """
import sys, time
import django
django.setup()
import httpx
from django.conf import settings
settings.SANDBOX_ENABLED = True
settings.SANDBOX_API_KEYS = [sys.argv[4]]
settings.SANDBOX_RATE_LIMIT_PER_MINUTE = settings.SANDBOX_RATE_LIMIT_BURST = 100000
settings.SANDBOX_TIME_SCALE = 0.0
settings.SANDBOX_PAYMENT_FAILURE_RATE = 0
from rally.wsgi import application
from recruitment import handlers, operations, outbox
from recruitment.user_interviews.client import UIClient

def answered_then_stopped(operation, result):
    with open(sys.argv[2], "w") as marker:
        marker.write(result["payment_id"])
    time.sleep(600)  # killed here: UI has paid, Rally has not recorded it

operations.HANDLERS["create_payment"].apply = answered_then_stopped
with UIClient(base_url=sys.argv[3], api_key=sys.argv[4], sleep=lambda seconds: None,
              transport=httpx.WSGITransport(app=application), max_attempts=1) as client:
    outbox.outbox_execute(operation_id=sys.argv[1], client=client)
"""


def _worker_environment():
    """The child's settings: the test database (the one this test's data is committed to)."""
    db = connection.settings_dict
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="rally.settings",
               DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
                            f"{db['PORT'] or 5432}/{db['NAME']}")
    env["SANDBOX_ENABLED"] = "true"
    return env


def test_a_worker_killed_between_uis_answer_and_rallys_record_pays_once(
        admin, completed, sandbox_ui, tmp_path):
    study, session, _ = completed
    operation = pay_now(admin, session)
    marker = Path(tmp_path) / "answered"
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(operation.pk), str(marker), SANDBOX_URL,
         SANDBOX_KEY], env=_worker_environment(), cwd=Path(__file__).resolve().parents[2])
    try:
        for _ in range(1200):  # until UI answered inside the worker (bounded)
            if (marker.exists() and marker.read_text()) or worker.poll() is not None:
                break
            time.sleep(0.05)
        assert worker.poll() is None, "the worker ended before UI answered"
        ui_payment_id = marker.read_text()
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=30) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
    # UI paid; Rally never recorded it.
    assert [payment.id for payment in payments_at_ui(sandbox_ui, study)] == [ui_payment_id]
    assert Payout.objects.get(session_id=session.pk).state == "sending"
    assert run(operation, sandbox_ui) is None  # still leased to the dead worker
    after_lease()  # the broker redelivers (acks late); the lease has run out
    assert run(operation, sandbox_ui) == "done"
    payout = Payout.objects.get(session_id=session.pk)
    assert (payout.state, payout.ui_payment_id) == ("sent", ui_payment_id)
    assert [payment.id for payment in payments_at_ui(sandbox_ui, study)] == [ui_payment_id]
    assert charges(study) == (1, 1, 0)
