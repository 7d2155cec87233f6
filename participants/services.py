"""Writes to participants and applications.

`applications_upsert_from_ui` is how applicants arrive from User Interviews (webhooks and
the poller both end here): bulk, by UI id, safe to replay in any order.
"""

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.urls import reverse

from billing.models import Payout
from billing.payouts import payout_cancel
from participants import properties as props
from participants.directory import properties_merged
from participants.models import Application, Participant
from participants.selectors import SEAT_HOLDING, study_has_free_seat
from rally import clock, notifications
from rally.models import OutboxOperation, PropertyDefinition, PropertyType
from rally.permissions import Permission
from rally.services import activity_record, outbox_enqueue
from studies.lifecycle import study_on_team
from studies.models import Status as StudyStatus
from studies.models import Study
from studies.screeners.answers import mapped_answers
from studies.selectors import screener_version_questions, study_people

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
     updated_at, last_name, time_zone, properties)
SELECT gen_random_uuid(), %s, 'external', person.ui_id, person.first_name,
       person.last_initial, '', %s, %s, '', '', '{}'::jsonb
FROM unnest(%s::text[], %s::text[], %s::text[]) AS person(ui_id, first_name, last_initial)
ON CONFLICT (workspace_id, ui_participant_id) DO UPDATE SET
    first_name = EXCLUDED.first_name,
    last_initial = EXCLUDED.last_initial,
    updated_at = EXCLUDED.updated_at
RETURNING ui_participant_id, id
"""

# On conflict: only a copy strictly newer than the stored one applies, so the same
# snapshot again (a late poll) never undoes a change Rally made since (a booking). Two
# outcomes only Rally decides outrank UI's "completed", however new UI's copy is: Paid
# (the incentive was confirmed), and Rejected after the session (Rally canceled the payout;
# UI takes no rejection after a completed session, so it goes on reporting "completed").
# Both are Rally's own rows, never in UI's history, so the ingest's outcome still depends
# on neither the order nor the number of deliveries.
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
    status = CASE WHEN EXCLUDED.status = 'completed' AND (
                           participants_application.status = 'paid'
                           OR participants_application.status = 'rejected' AND EXISTS (
                               SELECT 1 FROM billing_payout payout
                               WHERE payout.application_id = participants_application.id
                                 AND payout.state = 'canceled'))
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
RETURNING ui_applicant_id, xmax = 0 AS inserted, status
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
    reviewers = None
    while chunk := list(itertools.islice(iterator, UPSERT_CHUNK)):
        seen += len(chunk)
        if reviewers is None:
            reviewers = study_people(study, permission=Permission.REVIEW_APPLICANTS,
                                     team_only=True)
        _upsert_chunk(study, chunk, reviewers=reviewers)
    return seen


def _newest_per_applicant(chunk):
    newest = {}
    for record in chunk:
        current = newest.get(record.ui_applicant_id)
        if current is None or record.ui_updated_at >= current.ui_updated_at:
            newest[record.ui_applicant_id] = record
    return list(newest.values())


@transaction.atomic
def _upsert_chunk(study, chunk, *, reviewers=()):
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
        rows = cursor.fetchall()
        applied = {row[0] for row in rows}
        arrived = sum(1 for _, inserted, status in rows
                      if inserted and status == Application.Status.APPLIED)
    _arrivals_after_limit_mark(study, [ui_id for ui_id, inserted, status in rows
                                       if inserted and status not in SEAT_HOLDING])
    _properties_from_ui_answers(study, [record for record in records
                                        if record.ui_applicant_id in applied],
                                participant_ids)
    if arrived:
        applicants_arrived_notify(study=study, count=arrived, reviewers=reviewers)


def _arrivals_after_limit_mark(study, ui_applicant_ids):
    """Applicants who arrive while every seat is taken (UI had not yet stopped sending) are
    kept and marked as arriving after the limit; they take a seat only when a person invites
    them and one is free (SPEC R6)."""
    if not ui_applicant_ids or study_has_free_seat(study=study):
        return
    Application.objects.filter(study=study, ui_applicant_id__in=ui_applicant_ids).update(
        arrived_after_limit=True)


def _properties_from_ui_answers(study, records, participant_ids):
    """Screener answers mapped to a property (SPEC Q3) enrich the profile Rally keeps of each
    User Interviews applicant, as they do a panel person's: through the mapping of the
    version the applicant answered. Only the answers themselves are stored, never an email
    or anything to reach them by (P5). Runs for the records the upsert just applied, so a
    replayed or older copy changes nothing; a value that does not fit its property (an
    option the property lacks) is left out and the application stands."""
    versions = {}
    for number in {record.screener_version for record in records if record.screener_responses}:
        versions[number] = screener_version_questions(study, number) or []
    if not any(question.get("property") for questions in versions.values()
               for question in questions):
        return
    definitions = {definition.key: definition for definition in
                   PropertyDefinition.objects.filter(workspace_id=study.workspace_id)}
    updates = {}
    for record in records:
        raw = mapped_answers(versions.get(record.screener_version), record.screener_responses)
        values = {}
        for key, answer in raw.items():
            definition = definitions.get(key)
            if definition is None:
                continue
            if isinstance(answer, list) and definition.type != PropertyType.MULTI_SELECT:
                answer = answer[0]
            try:
                values[key] = props.coerce(definition, answer)
            except ValueError:
                continue
        if values:
            updates[participant_ids[record.ui_participant_id]] = values
    if not updates:
        return
    people = Participant.objects.select_for_update().filter(pk__in=updates).order_by("pk")
    changed = []
    for person in people:
        merged = properties_merged(person.properties, updates[person.pk])
        if merged != person.properties:
            person.properties = merged
            person.updated_at = clock.now()
            changed.append(person)
    Participant.objects.bulk_update(changed, ["properties", "updated_at"])
    if changed:
        activity_record(
            workspace=study.workspace, actor=None, actor_label="User Interviews",
            action="participants.properties_from_screener", study_id=study.pk,
            summary=(f"Screener answers updated the properties of {len(changed)} applicant"
                     f"{'s' if len(changed) != 1 else ''} of “{study.name}”"),
            # Values are left out: some properties are PII and the log is read by everyone.
            data={"participant_ids": [str(person.pk) for person in changed]})


def applicants_arrived_notify(*, study, count, reviewers):
    """Tell the study's reviewers that `count` more applicants wait for review: one
    notification a person and study, counting up until it is read (SPEC N1)."""
    notifications.notify_batched(
        workspace=study.workspace_id, kind=notifications.Kind.APPLICANTS, recipients=reviewers,
        group_key=f"applicants:{study.pk}", count=count, study_id=study.pk,
        link=reverse("participants:study_participants", args=[study.pk]) + "?status=applied",
        data={"study": study.name})


# Review decisions taken in Rally -----------------------------------------------------------


@transaction.atomic
def application_mark_paid(*, application_id, actor, payout_id=None):
    """The participant's incentive was confirmed paid (SPEC P4, I3): a Completed application
    becomes Paid, with an activity entry. Runs in the caller's transaction (the payout's
    confirmation). Anything else stays as it is, so a duplicate confirmation changes nothing."""
    application = (Application.objects.select_for_update(of=("self",))
                   .select_related("participant", "study__workspace")
                   .filter(pk=application_id).first())
    if application is None or application.status != Application.Status.COMPLETED:
        return application
    application.status = Application.Status.PAID
    application.updated_at = clock.now()
    application.save(update_fields=["status", "updated_at"])
    user, label = (None, actor) if isinstance(actor, str) else (actor, "")
    study = application.study
    activity_record(workspace=study.workspace, actor=user, actor_label=label,
                    study_id=study.id, action="participants.applicant_paid",
                    summary=f"{application.participant.display_name} was paid for "
                            f"“{study.name}”",
                    data={"application_id": str(application.id),
                          **({"payout": str(payout_id)} if payout_id else {})})
    return application


# Applicant review (SPEC P3, R6) --------------------------------------------------------------

#: What each review decision does: the status it sets, the outbox operation that carries it to
#: User Interviews, and the words people read.
REVIEW_DECISIONS = {
    "invite": (Application.Status.INVITED, "approve_applicant", "invited"),
    "reject": (Application.Status.REJECTED, "reject_applicant", "rejected"),
}


#: The most applicants one bulk decision takes (a page holds 50).
BULK_REVIEW_MAX = 500


def applicant_invite(*, membership, study, application_id):
    """Invite one applicant: it takes a seat of the participation limit, and User Interviews
    sends the invitation (a Rally panel applicant is not UI's and gets Rally's own later)."""
    return applicants_bulk_review(membership=membership, study=study,
                                  application_ids=[application_id], decision="invite",
                                  single=True)[0]


def applicant_reject(*, membership, study, application_id, reason=""):
    """Reject one applicant (an invited one frees their seat), with an optional reason."""
    return applicants_bulk_review(membership=membership, study=study,
                                  application_ids=[application_id], decision="reject",
                                  reason=reason, single=True)[0]


@transaction.atomic(durable=True)
def applicants_bulk_review(*, membership, study, application_ids, decision, reason="",
                           single=False):
    """Invite or reject several applicants of `study` at once: all of them or none.

    Locks the study (so two reviewers never hand out the same last seat), then the
    applications, and re-checks each status. Ids of another study or workspace, a status
    the decision cannot leave, or more invitations than free seats refuse the whole batch
    with a ValidationError saying why. Applicants already in the decided status are left
    as they are (doing it twice is doing it once) unless `single` asks to be told.
    Returns the applications that changed.
    """
    if decision not in REVIEW_DECISIONS:
        raise ValidationError("Choose Invite or Reject.")
    target, operation, done_word = REVIEW_DECISIONS[decision]
    if study.workspace_id != membership.workspace_id:
        raise PermissionDenied
    if not membership.allows(Permission.REVIEW_APPLICANTS,
                             on_team=study_on_team(study, membership.user)):
        raise PermissionDenied
    ids = _parse_ids(application_ids)
    if not ids:
        raise ValidationError("Select at least one applicant.")
    if len(ids) > BULK_REVIEW_MAX:
        raise ValidationError(f"Select at most {BULK_REVIEW_MAX} applicants at a time.")
    study = Study.objects.select_for_update().get(pk=study.pk)
    applications = list(Application.objects.select_for_update(of=("self",))
                        .select_related("participant")
                        .filter(study=study, pk__in=ids).order_by("applied_at", "id"))
    if len(applications) != len(ids):
        raise ValidationError("Some of the selected applicants are not applicants of this "
                              "study. Nothing was changed.")
    changing = []
    for application in applications:
        name = application.participant.display_name
        if application.status == target:
            if single:
                raise ValidationError(f"{name} is already {done_word}.")
            continue
        if not application.can_become(target):
            raise ValidationError(
                f"{name} is {application.get_status_display()} and can’t be {done_word}."
                + ("" if single else " Nothing was changed."))
        changing.append(application)
    # Rejected after their session: their incentive, not sent yet, is canceled (SPEC I2).
    completed = [application for application in changing
                 if application.status == Application.Status.COMPLETED]
    if decision == "reject" and completed:
        _payouts_cancel(completed, actor=membership.user, reason=reason, single=single)
    if decision == "invite" and changing and study.status == StudyStatus.CLOSED:
        raise ValidationError("This study is closed: it no longer invites applicants.")
    if decision == "invite" and changing and study.participation_limit is not None:
        taken = Application.objects.filter(study=study, status__in=SEAT_HOLDING).count()
        free = study.participation_limit - taken
        if free <= 0:
            raise ValidationError(
                f"Participation limit reached — no longer accepting applicants "
                f"({taken} of {study.participation_limit} seats taken).")
        if len(changing) > free:
            raise ValidationError(
                f"Only {free} of {study.participation_limit} seats are free: select at most "
                f"{free} applicant{'s' if free != 1 else ''} to invite. Nothing was changed.")
        if len(changing) == free:
            _limit_reached_notify(study=study, membership=membership)
    now = clock.now()
    for application in changing:
        application.status = target
        application.updated_at = now
        if decision == "reject":
            application.rejection_reason = reason.strip()[:500]
    Application.objects.bulk_update(changing, ["status", "rejection_reason", "updated_at"])
    for application in changing:
        name = application.participant.display_name
        activity_record(
            workspace=study.workspace, actor=membership.user, study_id=study.id,
            action=f"participants.applicant_{done_word}",
            summary=(f"{done_word.capitalize()} {name} for “{study.name}”"
                     + (f": {application.rejection_reason}"
                        if application.rejection_reason and decision == "reject" else "")),
            data={"application_id": str(application.id), "reason":
                  application.rejection_reason if decision == "reject" else ""})
        # UI takes no rejection after a completed session: not paying is Rally's own part.
        if application.ui_applicant_id and application not in completed:
            outbox_enqueue(workspace=study.workspace, operation=operation,
                           subject=application.id, study_id=study.id,
                           payload={"application_id": str(application.id),
                                    "study_id": str(study.id),
                                    "reason": application.rejection_reason
                                    if decision == "reject" else ""})
    if changing:
        study_ui_intake_sync(study=study)
    return changing or applications


#: The outbox operation that closes or reopens a recruit's intake at UI (SPEC R6).
INTAKE_OPERATION = "set_recruit_intake"


def study_ui_intake_sync(*, study, new_recruit=False):
    """Tell User Interviews to stop sending applicants when the study's seats are all
    taken, and to send them again when one frees (SPEC R6). Call inside the transaction
    that changed a seat or the limit: the outbox row commits with it.

    Each change of state is its own outbox row with its own idempotency key (the study and
    the change's number), so a retried call or a repeated decision writes nothing new.
    Only for UI studies whose recruitment was started. Returns the new row, or None.

    `new_recruit`: the start is creating a recruit at UI, whose intake opens with it. Its
    seats already full, the row that closes it follows the create; and when an earlier
    start's recruit was last told "closed", the new one is told "open" so that the rows
    speak of the recruit there is now.
    """
    if (not study.is_user_interviews or study.participation_limit is None
            or study.status == StudyStatus.CLOSED):
        return None
    if study.recruitment_started_at is None:
        return None
    operations = OutboxOperation.objects.filter(study_id=study.pk)
    # One decision at a time per study, whichever path (review, scheduling, sync) freed or
    # took the seat: the next change's number must not be handed out twice.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                       [f"ui-intake:{study.pk}"])
    told = operations.filter(operation=INTAKE_OPERATION)
    changes = told.count()
    last = told.filter(payload__change=changes).values_list("payload", flat=True).first()
    was_open = last["open"] if last else True
    open_now = study_has_free_seat(study=study)
    if open_now == was_open and (open_now or not new_recruit):
        return None
    change = changes + 1
    return outbox_enqueue(workspace=study.workspace, operation=INTAKE_OPERATION,
                          subject=f"{study.pk}:{change}", study_id=study.pk,
                          payload={"study_id": str(study.pk), "open": open_now,
                                   "change": change})


def _limit_reached_notify(*, study, membership):
    """This invitation took the last seat: the team stops reviewing (SPEC N1)."""
    notifications.notify(
        workspace=study.workspace_id, kind=notifications.Kind.LIMIT_REACHED, study_id=study.pk,
        recipients=study_people(study, permission=Permission.REVIEW_APPLICANTS, team_only=True),
        exclude=[membership],
        text=f"“{study.name}” reached its participation limit: all "
             f"{study.participation_limit} seats are taken",
        link=reverse("participants:study_participants", args=[study.pk]),
        data={"study": study.name})


def _payouts_cancel(applications, *, actor, reason, single):
    """Cancel the payouts of these completed applications. One already sent (Sending, Sent,
    Paid or Failed after sending) cannot be called back: the rejection is then refused, and
    the durable transaction around it undoes any payout canceled before."""
    names = {application.pk: application.participant.display_name
             for application in applications}
    sessions = (Payout.objects.filter(application_id__in=list(names))
                .order_by("session_id").values_list("session_id", flat=True))
    why = f"Rejected after the session{': ' + reason.strip() if reason.strip() else ''}"
    for session_id in sessions:
        payout = payout_cancel(session_id=session_id, reason=why[:500], actor=actor)
        if payout is not None and payout.state != Payout.State.CANCELED:
            name = names[payout.application_id]
            raise ValidationError(
                f"{name}’s incentive is already {payout.get_state_display().lower()}: a "
                f"payment sent to User Interviews can’t be called back, so {name} can’t be "
                f"rejected now." + ("" if single else " Nothing was changed."))


def _parse_ids(values):
    ids = set()
    for value in values:
        try:
            ids.add(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValidationError("Some of the selected applicants are not applicants of "
                                  "this study. Nothing was changed.") from exc
    return ids
