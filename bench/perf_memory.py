"""perf-memory: peak memory (max RSS) of one worker process syncing 10,000 applicants from
the sandbox, and of one sweeping 10,000 due payouts; both must stream in pages.

The data is made first (in a database of its own, by this process); each job then runs in
a fresh Python process that does only that job and reports its own
peak resident memory (VmHWM; see `_peak_kb`). The sync's worker also serves the sandbox in-process
(httpx's WSGI transport), as in perf-ingest, so its figure includes the sandbox's pages.
"""

import json
import os
import resource
import subprocess
import sys
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.db import connection

from bench.support import own_database, recruit_with_applicants

APPLICANTS = 10_000
PAYOUTS = 10_000
STUDIES = 4
TARGET_MB = 250
JOB_ENV = "RALLY_BENCH_MEMORY_JOB"


# The jobs (run in the child process) ---------------------------------------------------------


def _client():
    import httpx
    from django.conf import settings

    from rally.wsgi import application
    from recruitment.user_interviews.client import UIClient

    return UIClient(base_url="http://testserver/sandbox/ui/api",
                    api_key=settings.SANDBOX_API_KEYS[0],
                    transport=httpx.WSGITransport(app=application), timeout=120)


def _job_sync(study_id, recruit_id):
    from participants.models import Application
    from recruitment.sync import applicants_sync
    from studies.models import Study

    with _client() as client:
        read = applicants_sync(study=Study.objects.get(pk=study_id), recruit_id=recruit_id,
                               client=client)
    assert read == APPLICANTS == Application.objects.filter(study_id=study_id).count()


def _job_sweep():
    from billing.models import Payout
    from billing.payouts import payouts_sweep

    swept = payouts_sweep(max_batches=PAYOUTS)
    assert swept == PAYOUTS == Payout.objects.filter(state="sending").count()


def child():
    """The child's entry: connect to the bench database, do one job, print the peak."""
    import django
    from django.conf import settings
    from django.core import signals
    from django.db import close_old_connections

    job = json.loads(os.environ[JOB_ENV])
    django.setup()
    connection.settings_dict["NAME"] = job["database"]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = settings.SANDBOX_RATE_LIMIT_BURST = 1_000_000
    settings.SANDBOX_ENABLED = True
    before = _peak_kb()
    if job["name"] == "sync":
        _job_sync(job["study_id"], job["recruit_id"])
    else:
        _job_sweep()
    print(json.dumps({"peak_kb": _peak_kb(), "before_kb": before}))


def _peak_kb():
    """This process's peak resident memory in KiB. Linux's VmHWM belongs to the running
    program alone; `ru_maxrss` would also count the parent's peak, which a child inherits
    through fork and exec."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("VmHWM:")))


# Setting up (in the bench process) -----------------------------------------------------------


def _setup_sync():
    """A live UI study whose recruit has APPLICANTS applicants at the sandbox."""
    from rally import clock
    from rally.models import User, Workspace
    from studies.models import Study

    now = clock.now()
    workspace = Workspace.objects.create(name="Bench memory sync")
    owner = User.objects.create_user(email=f"bench-memory-{uuid.uuid4().hex[:8]}@example.test")
    study = Study.objects.create(workspace=workspace, owner=owner, name="Memory",
                                 participation_limit=10, incentive_amount=Decimal("50.00"),
                                 countries=["US"], created_at=now, updated_at=now)
    with _client() as client:
        recruit = recruit_with_applicants(client, study=study, name="Memory", participants=10,
                                          applicants=APPLICANTS, seed=17)
    return {"study_id": str(study.pk), "recruit_id": recruit.id}


def _setup_sweep():
    """PAYOUTS payouts come due over STUDIES studies, each reservation covering its own."""
    from billing.models import Payout
    from billing.services import (
        budget_add_funds_nested,
        budget_default_ensure,
        budget_reserve_for_study,
    )
    from rally import clock
    from rally.models import Membership, User, Workspace
    from rally.permissions import Role

    now = clock.now()
    workspace = Workspace.objects.create(name="Bench memory sweep")
    owner = User.objects.create_user(email=f"bench-sweep-{uuid.uuid4().hex[:8]}@example.test")
    membership = Membership.objects.create(workspace=workspace, user=owner, role=Role.ADMIN)
    budget = budget_default_ensure(workspace=workspace)
    budget_add_funds_nested(membership=membership, budget=budget,
                            amount=Decimal(PAYOUTS * 100), reference="Bench", key=uuid.uuid4())
    per_study = PAYOUTS // STUDIES
    for n in range(STUDIES):
        study_id = uuid.uuid4()
        budget_reserve_for_study(budget=budget, study_id=study_id, study_name=f"Sweep {n}",
                                 participation_limit=per_study, fee=Decimal("39.00"),
                                 incentive=Decimal("50.00"), actor="bench")
        Payout.objects.bulk_create([
            Payout(workspace=workspace, study_id=study_id, study_name=f"Sweep {n}",
                   session_id=uuid.uuid4(), application_id=uuid.uuid4(),
                   participant_label=f"Person {index}", amount=Decimal("50.00"),
                   due_at=now - timedelta(hours=1, minutes=index), created_at=now,
                   updated_at=now)
            for index in range(per_study)], batch_size=2000)
    return {}


def _peak_mb(name, job):
    environment = {**os.environ, JOB_ENV: json.dumps(
        {"name": name, "database": connection.settings_dict["NAME"], **job})}
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", "import bench.perf_memory as m; m.child()"],
                          cwd=root, env=environment, capture_output=True, text=True,
                          check=False)
    if done.returncode:
        raise RuntimeError(f"the {name} worker failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures["peak_kb"] / 1024, figures["before_kb"] / 1024  # Linux: KiB


def run():
    with own_database("memory", sandbox=True):
        sync_job, sweep_job = _setup_sync(), _setup_sweep()
        connection.close()  # the children connect to this database themselves
        peaks = {"sync": _peak_mb("sync", sync_job), "sweep": _peak_mb("sweep", sweep_job)}
    return {f"perf-memory-{name}": {
        "value": round(peak), "unit": f"MB peak RSS ({started:.0f} at start)",
        "target": f"<= {TARGET_MB}", "ok": peak <= TARGET_MB}
        for name, (peak, started) in peaks.items()}
