"""perf-ingest: 10,000 applicants synced from the sandbox through the adapter (paged HTTP +
bulk upsert) ÷ a plain bulk insert of the same rows (two INSERTs of arrays, the write
floor); and the sync's applicants per second.

Runs in a database of its own (created, migrated and dropped here), so the sandbox's
10,000 generated applicants never reach the development data. The sandbox is served
in-process through httpx's WSGI transport, its rate limit raised (as for perf-payouts).
"""

import time
import uuid
from decimal import Decimal

import httpx
from django.conf import settings
from django.db import connection

from bench.support import own_database, recruit_with_applicants

APPLICANTS = 10_000
TARGET_RATIO = 5.0
TARGET_RATE = 1_000.0


def _setup():
    from rally import clock
    from rally.models import User, Workspace
    from recruitment.user_interviews.client import UIClient
    from studies.models import Study

    now = clock.now()
    workspace = Workspace.objects.create(name="Bench ingest")
    owner = User.objects.create_user(email=f"bench-ingest-{uuid.uuid4().hex[:8]}@example.test")
    studies = [Study.objects.create(workspace=workspace, owner=owner, name=f"Ingest {n}",
                                    participation_limit=10, incentive_amount=Decimal("50.00"),
                                    countries=["US"], created_at=now, updated_at=now)
               for n in range(2)]
    from rally.wsgi import application

    client = UIClient(base_url="http://testserver/sandbox/ui/api",
                      api_key=settings.SANDBOX_API_KEYS[0],
                      transport=httpx.WSGITransport(app=application), timeout=120)
    recruit = recruit_with_applicants(client, study=studies[0], name="Ingest", participants=10,
                                      applicants=APPLICANTS, seed=11)
    return client, recruit.id, studies


def _plain_insert(study, records):
    """The floor: the same rows written by two plain INSERTs (one array per column, the
    fastest way Postgres takes rows short of COPY), no HTTP, no parsing, no conflicts."""
    import json

    from rally import clock

    now = clock.now()
    people = [uuid.uuid4() for _ in records]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO participants_participant (id, workspace_id, kind, ui_participant_id,"
            " first_name, last_initial, email, created_at, updated_at, last_name, time_zone,"
            " properties)"
            " SELECT p.id, %s, 'external', p.ui_id, p.first_name, p.last_initial, '', %s, %s,"
            " '', '', '{}'::jsonb"
            " FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[])"
            " AS p(id, ui_id, first_name, last_initial)",
            [study.workspace_id, now, now, people,
             [f"plain-{r.ui_participant_id}" for r in records],
             [r.first_name for r in records], [r.last_initial for r in records]])
        cursor.execute(
            "INSERT INTO participants_application (id, study_id, participant_id,"
            " ui_applicant_id, status, source, qualification, screener_version,"
            " screener_responses, matched_criteria, unmet_criteria, rejection_reason,"
            " applied_at, ui_updated_at, created_at, updated_at)"
            " SELECT gen_random_uuid(), %s, a.participant_id, a.ui_id, a.status, a.source,"
            " a.qualification, a.version, a.responses::jsonb, a.matched::jsonb,"
            " a.unmet::jsonb, '', a.applied_at, a.updated_at, %s, %s"
            " FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[],"
            " %s::int[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],"
            " %s::timestamptz[]) AS a(participant_id, ui_id, status, source, qualification,"
            " version, responses, matched, unmet, applied_at, updated_at)",
            [study.pk, now, now, people, [f"plain-{r.ui_applicant_id}" for r in records],
             [r.status for r in records], [r.source for r in records],
             [r.qualification for r in records], [r.screener_version for r in records],
             [json.dumps(r.screener_responses) for r in records],
             [json.dumps(r.matched_criteria) for r in records],
             [json.dumps(r.unmet_criteria) for r in records],
             [r.applied_at for r in records], [r.ui_updated_at for r in records]])


def _measure():
    from participants.models import Application
    from recruitment import sync

    client, recruit_id, (synced_study, plain_study) = _setup()
    with client:
        started = time.perf_counter()
        read = sync.applicants_sync(study=synced_study, recruit_id=recruit_id, client=client)
        sync_seconds = time.perf_counter() - started
        assert read == APPLICANTS
        assert Application.objects.filter(study=synced_study).count() == APPLICANTS
        # The same rows, already parsed (the plain insert does no HTTP and no parsing).
        records = [sync.applicant_record(applicant)
                   for page in client.applicants_pages(recruit_id) for applicant in page.items]
    started = time.perf_counter()
    _plain_insert(plain_study, records)
    plain_seconds = time.perf_counter() - started
    return sync_seconds, plain_seconds


def run():
    with own_database("ingest", sandbox=True):
        sync_seconds, plain_seconds = _measure()
    ratio = sync_seconds / plain_seconds
    rate = APPLICANTS / sync_seconds
    return {
        "perf-ingest": {"value": round(ratio, 2),
                        "target": f"<= {TARGET_RATIO:g} (and >= {TARGET_RATE:g}/s)",
                        "unit": "x plain insert", "ok": ratio <= TARGET_RATIO
                        and rate >= TARGET_RATE},
        "perf-ingest-rate": {"value": round(rate), "target": f">= {TARGET_RATE:g}",
                             "unit": "applicants/s", "ok": rate >= TARGET_RATE},
    }
