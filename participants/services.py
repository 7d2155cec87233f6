"""Writes to participants and applications.

`applications_upsert_from_ui` is how applicants arrive from User Interviews (webhooks and
the poller both end here): bulk, by UI id, safe to replay in any order.
"""

import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from participants.models import Application
from rally import clock

#: Rows written per statement; pages are upserted as they stream in.
UPSERT_CHUNK = 1000


@dataclass(frozen=True)
class ApplicantRecord:
    """One applicant as User Interviews last described it, in Rally's vocabulary.

    recruitment translates UI's documents into these; this app never reads UI's JSON.
    """

    ui_applicant_id: str
    ui_participant_id: str
    first_name: str
    last_initial: str
    status: str  # Application.Status
    source: str  # Application.Source
    qualification: str  # Application.Qualification
    applied_at: datetime
    ui_updated_at: datetime
    screener_version: int | None = None
    screener_responses: list = field(default_factory=list)
    matched_criteria: list = field(default_factory=list)
    unmet_criteria: list = field(default_factory=list)


# Rows travel as one array per column (`unnest`), so a chunk is one short statement with a
# dozen parameters however many rows it holds.
_PARTICIPANT_UPSERT_SQL = """
INSERT INTO participants_participant
    (id, workspace_id, kind, ui_participant_id, first_name, last_initial, email, created_at,
     updated_at)
SELECT gen_random_uuid(), %s, 'external', person.ui_id, person.first_name,
       person.last_initial, '', %s, %s
FROM unnest(%s::text[], %s::text[], %s::text[]) AS person(ui_id, first_name, last_initial)
ON CONFLICT (workspace_id, ui_participant_id) DO UPDATE SET
    first_name = EXCLUDED.first_name,
    last_initial = EXCLUDED.last_initial,
    updated_at = EXCLUDED.updated_at
RETURNING ui_participant_id, id
"""

# On conflict: only a copy strictly newer than the stored one applies, so the same
# snapshot again (a late poll) never undoes a change Rally made since (a booking); and a
# paid application stays paid when UI reports the (earlier) completion again.
_APPLICATION_UPSERT_SQL = """
INSERT INTO participants_application
    (id, study_id, participant_id, ui_applicant_id, status, source, qualification,
     screener_version, screener_responses, matched_criteria, unmet_criteria,
     rejection_reason, applied_at, ui_updated_at, created_at, updated_at)
SELECT gen_random_uuid(), %s, row.participant_id, row.ui_applicant_id, row.status,
       row.source, row.qualification, row.screener_version, row.screener_responses::jsonb,
       row.matched_criteria::jsonb, row.unmet_criteria::jsonb, '', row.applied_at,
       row.ui_updated_at, %s, %s
FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::int[],
            %s::text[], %s::text[], %s::text[], %s::timestamptz[], %s::timestamptz[])
    AS row(participant_id, ui_applicant_id, status, source, qualification, screener_version,
           screener_responses, matched_criteria, unmet_criteria, applied_at, ui_updated_at)
ON CONFLICT (ui_applicant_id) DO UPDATE SET
    status = CASE WHEN participants_application.status = 'paid'
                       AND EXCLUDED.status = 'completed'
                  THEN participants_application.status ELSE EXCLUDED.status END,
    qualification = EXCLUDED.qualification,
    screener_version = EXCLUDED.screener_version,
    screener_responses = EXCLUDED.screener_responses,
    matched_criteria = EXCLUDED.matched_criteria,
    unmet_criteria = EXCLUDED.unmet_criteria,
    applied_at = EXCLUDED.applied_at,
    ui_updated_at = EXCLUDED.ui_updated_at,
    updated_at = EXCLUDED.updated_at
WHERE participants_application.study_id = EXCLUDED.study_id
  AND (participants_application.ui_updated_at IS NULL
       OR participants_application.ui_updated_at < EXCLUDED.ui_updated_at)
"""


def applications_upsert_from_ui(*, study, items):
    """Insert or update the study's applications from UI applicants (`ApplicantRecord`s).

    `items` may be any iterable (a generator over API pages): it is consumed in chunks,
    so memory stays flat however many applicants a study has. Participants are upserted by
    UI id within the study's workspace. A record older than the stored row (by UI's
    `updatedAt`) changes nothing, so out-of-order and repeated deliveries converge on the
    same rows. Returns how many records were read.
    """
    seen = 0
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, UPSERT_CHUNK)):
        seen += len(chunk)
        _upsert_chunk(study, chunk)
    return seen


def _newest_per_applicant(chunk):
    newest = {}
    for record in chunk:
        current = newest.get(record.ui_applicant_id)
        if current is None or record.ui_updated_at >= current.ui_updated_at:
            newest[record.ui_applicant_id] = record
    return list(newest.values())


@transaction.atomic
def _upsert_chunk(study, chunk):
    records = _newest_per_applicant(chunk)
    now = clock.now()
    people = {record.ui_participant_id: record for record in records}
    with connection.cursor() as cursor:
        cursor.execute(_PARTICIPANT_UPSERT_SQL, [
            study.workspace_id, now, now, list(people),
            [record.first_name for record in people.values()],
            [record.last_initial for record in people.values()]])
        participant_ids = dict(cursor.fetchall())
        cursor.execute(_APPLICATION_UPSERT_SQL, [
            study.pk, now, now,
            [participant_ids[record.ui_participant_id] for record in records],
            [record.ui_applicant_id for record in records],
            [record.status for record in records],
            [record.source for record in records],
            [record.qualification for record in records],
            [record.screener_version for record in records],
            [json.dumps(record.screener_responses) for record in records],
            [json.dumps(record.matched_criteria) for record in records],
            [json.dumps(record.unmet_criteria) for record in records],
            [record.applied_at for record in records],
            [record.ui_updated_at for record in records],
        ])


# Review decisions taken in Rally -----------------------------------------------------------


def application_mark_from_ui(*, application_id, status):
    """Record what UI answered to a review decision (the outbox handlers' apply step).

    Only moves forward along the review transitions; a newer state from UI stays.
    """
    application = Application.objects.select_for_update().get(pk=application_id)
    if application.status == status:
        return application
    if application.can_become(status):
        application.status = status
        application.updated_at = clock.now()
        application.save(update_fields=["status", "updated_at"])
    return application
