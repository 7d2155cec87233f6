"""perf-load: the pages a research team keeps open, under concurrent load, served as in
production — gunicorn with 2 workers and DEBUG off, the User Interviews stand-in in a
process of its own — against a minimal signed-in page under the same load, in one run.

Data: 1,000 active studies with reservations, one with 10,000 applicants (perf_pages'
workspace), and a member of each role. Load: USERS simulated people (locust, headless;
bench/load_users.py), each signed in as one of the roles in turn, with no think time, first
all on the minimal page (the New Study form: the floor), then on the mix: dashboard, studies
list, study overview, the Participants tab at 10,000 applicants with a status filter, the
reach refresh, and invitations (reviewers only). Targets (QUALITY.md): the mix's throughput
>= 0.4 x the floor's, its p95 <= 4 x the floor's, no failed request.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils.crypto import get_random_string

from bench.perf_pages import _workspace
from bench.support import ROOT, free_port, own_database, rally_process, served, stand_in_process

USERS = 32
SECONDS = 30
WARMUP_SECONDS = 5
TARGET_THROUGHPUT = 0.4
TARGET_P95 = 4.0


def _people(study):
    """A session for a member of each role (the study's team holds the ops manager and the
    researcher), and the applicants a reviewer may invite."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from participants.models import Application
    from rally.models import Membership, User
    from rally.permissions import Role

    owner = Membership.objects.get(workspace=study.workspace, user=study.owner)
    members = {"admin": owner.user}
    for role in (Role.OPS_MANAGER, Role.RESEARCHER, Role.OBSERVER):
        user = User.objects.create_user(email=f"load-{role}-{study.pk}@example.test")
        Membership.objects.create(workspace=study.workspace, user=user, role=role)
        members[str(role)] = user
    study.team.add(members[str(Role.OPS_MANAGER)], members[str(Role.RESEARCHER)])
    # Seats for every invitation the run can make (the limit, not money, is what binds here).
    study.participation_limit = 10_000
    study.save(update_fields=["participation_limit"])
    sessions = {}
    for role, user in members.items():
        session = SessionStore()
        session.update({SESSION_KEY: str(user.pk), HASH_SESSION_KEY: user.get_session_auth_hash(),
                        BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0]})
        session.create()
        sessions[role] = session.session_key
    invitable = [str(pk) for pk in Application.objects.filter(
        study=study, status=Application.Status.APPLIED).values_list("pk", flat=True)]
    return sessions, invitable


def _swarm(config_path, user_class, seconds, folder, host):
    """Run locust headless; return its aggregated row (requests/s, p95 ms, failures)."""
    prefix = Path(folder) / user_class
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "load_users.py"),
         "--headless", "--only-summary", "--loglevel", "ERROR", "-u", str(USERS),
         "-r", str(USERS), "-t", f"{seconds}s", "--stop-timeout", "10",
         "--host", host, "--csv", str(prefix), user_class],
        cwd=ROOT, env={**os.environ, "RALLY_LOAD_CONFIG": str(config_path)}, check=False,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    return rows


def _figures(row):
    return {"rps": float(row["Requests/s"]), "p95": float(row["95%"]),
            "requests": int(row["Request Count"]), "failures": int(row["Failure Count"])}


def run():
    with own_database("load"):
        _browser, study = _workspace(10_000, 1_000)
        sessions, invitable = _people(study)
        sandbox_port, web_port = free_port(), free_port()
        host = f"http://127.0.0.1:{web_port}"
        config = {
            "host": host, "roles": list(sessions), "sessions": sessions,
            "reviewers": ["admin", "ops_manager"], "csrf": get_random_string(32),
            "invitable": invitable,
            "urls": {
                "minimal": reverse("recruitment:study_create"),
                "dashboard": reverse("home"),
                "studies": reverse("studies:study_list"),
                "overview": reverse("studies:study_overview", kwargs={"study_id": study.pk}),
                "participants": reverse("participants:study_participants",
                                        kwargs={"study_id": study.pk}) + "?status=applied",
                "reach": reverse("recruitment:audience_reach", kwargs={"study_id": study.pk}),
                "invite": reverse("participants:applicant_invite", kwargs={
                    "study_id": study.pk, "application_id": "00000000-0000-0000-0000-000000000000",
                }).replace("00000000-0000-0000-0000-000000000000", "APPLICATION"),
            }}
        with tempfile.TemporaryDirectory() as folder, served(
                stand_in_process(sandbox_port),
                rally_process(web_port, stand_in_port=sandbox_port)):
            config_path = Path(folder) / "config.json"
            config_path.write_text(json.dumps(config))
            _swarm(config_path, "FloorMember", WARMUP_SECONDS, folder, host)
            floor = _swarm(config_path, "FloorMember", SECONDS, folder, host)["Aggregated"]
            floor = _figures(floor)
            mix_rows = _swarm(config_path, "WorkingMember", SECONDS, folder, host)
        connection.close()
    mix = _figures(mix_rows["Aggregated"])
    pages = {name: _figures(row) for name, row in mix_rows.items() if name != "Aggregated"}
    for name, page in sorted(pages.items()):
        print(f"     perf-load {name:14} {page['rps']:7.1f} req/s  p95 {page['p95']:6.0f} ms  "
              f"{page['failures']} failed of {page['requests']}", flush=True)
    throughput = round(mix["rps"] / floor["rps"], 2)
    p95 = round(mix["p95"] / floor["p95"], 2)
    return {
        "perf-load-throughput": {
            "value": throughput,
            "unit": f"x ({mix['rps']:.0f} ÷ {floor['rps']:.0f} req/s)",
            "target": f">= {TARGET_THROUGHPUT:g}", "ok": throughput >= TARGET_THROUGHPUT},
        "perf-load-p95": {
            "value": p95, "unit": f"x ({mix['p95']:.0f} ÷ {floor['p95']:.0f} ms)",
            "target": f"<= {TARGET_P95:g}", "ok": p95 <= TARGET_P95},
        "perf-load-errors": {
            "value": mix["failures"] + floor["failures"],
            "unit": f"failed of {mix['requests'] + floor['requests']}", "target": "== 0",
            "ok": mix["failures"] + floor["failures"] == 0},
    }
