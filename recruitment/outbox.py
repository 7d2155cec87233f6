"""The outbox executor: performs OutboxOperation rows at User Interviews, exactly once in effect.

A worker claims a row with a compare-and-swap update (no two workers ever run one row),
calls UI outside any transaction with the row's idempotency key, then records the result
in one short transaction together with the handler's local change. Failures back off
exponentially with jitter; a definite refusal ends the row `failed`, visible on the study
with "Retry now". A beat sweeper re-dispatches due rows whose message was lost.
"""

import json
import logging
import random
from datetime import timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import Http404

from rally import clock
from rally.models import OutboxOperation
from rally.permissions import Permission, require
from rally.services import activity_record, outbox_dispatch
from recruitment import handlers
from recruitment.operations import HANDLERS, label
from recruitment.user_interviews import errors
from recruitment.user_interviews.ratelimit import BACKGROUND, INTERACTIVE, SharedTokenBucket

logger = logging.getLogger(__name__)

#: A running attempt holds its row this long; a worker that died frees it when this passes.
RUN_LEASE = timedelta(minutes=10)
#: The sweeper remembers (in the cache) what it queued for this long, so the next sweeps do
#: not queue a row again while its message waits for a worker. Only a guard against
#: flooding the queue: executing twice is prevented by the claim.
QUEUE_MEMORY_SECONDS = 60
MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 5
BACKOFF_CAP_SECONDS = 3600
SWEEP_BATCH = 200

Status = OutboxOperation.Status


def backoff_delay(attempts):
    """Exponential backoff with jitter: about 5 s, 10 s, 20 s … capped at an hour."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def outbox_claim(operation_id):
    """Take one due row for this worker, or None when it is not due, done, failed or taken."""
    now = clock.now()
    # One statement: the compare-and-swap and the row it took (UPDATE ... RETURNING).
    claimed = list(OutboxOperation.objects.raw(
        "UPDATE rally_outboxoperation SET next_attempt_at = %s, attempts = attempts + 1"
        " WHERE id = %s AND status = %s AND next_attempt_at <= %s RETURNING *",
        [now + RUN_LEASE, OutboxOperation._meta.pk.to_python(operation_id), Status.PENDING,
         now]))
    return claimed[0] if claimed else None


def outbox_claim_many(operation_ids):
    """Take several due rows for this worker in one statement: {id: row} of those taken
    (the others are not due, done, failed or another worker's). Each row's lease starts
    now, so a batch runs its rows within `BATCH_LEASE_SHARE` of it (`outbox_execute_batch`)."""
    to_python = OutboxOperation._meta.pk.to_python
    ids = list(dict.fromkeys(to_python(operation_id) for operation_id in operation_ids))
    if not ids:
        return {}
    now = clock.now()
    claimed = OutboxOperation.objects.raw(
        "UPDATE rally_outboxoperation SET next_attempt_at = %s, attempts = attempts + 1"
        " WHERE id = ANY(%s) AND status = %s AND next_attempt_at <= %s RETURNING *",
        [now + RUN_LEASE, ids, Status.PENDING, now])
    return {row.pk: row for row in claimed}


# The one request budget all workers share ---------------------------------------------------


def ui_rate_acquire(*, api_key="", priority=INTERACTIVE):
    """Take one request token from the bucket every worker shares for this UI key (in
    Redis: recruitment.user_interviews.ratelimit), so the outbox as a whole stays within
    UI's rate limit however many workers run, with people's actions ahead of sweeps.
    Returns 0 when a token was taken, else the seconds until one is free.

    `UI_RATE_LIMIT_PER_MINUTE` (default 60, UI's documented limit; 0 turns the bucket off)
    and `UI_RATE_LIMIT_BURST` (default 20). Without Redis (the filesystem-broker fallback)
    or with Redis down there is no bucket: UI's own 429 and Retry-After still hold.
    """
    bucket = SharedTokenBucket.from_settings(api_key=api_key)
    return bucket.take(priority) if bucket is not None else 0.0


def outbox_execute(*, operation_id, client=None, clients=None, priority=INTERACTIVE):
    """Run one outbox row at UI. Returns the row's status afterwards (None when skipped).

    Without `client` the row's workspace's own (from `clients`, a WorkspaceClients pool,
    when given). `priority` is whose work it is: a person's (a manual payment, a start) or
    a sweep's (BACKGROUND), which leaves tokens of UI's rate limit for people."""
    operation = outbox_claim(operation_id)
    if operation is None:
        return None
    return _run_claimed(operation, client=client, clients=clients, priority=priority)


def _run_claimed(operation, *, client, clients, priority):
    """Run a row this worker has claimed (`outbox_execute`, `outbox_execute_batch`)."""
    handler = HANDLERS.get(operation.operation)
    if handler is None:
        return _record_failure(operation, None, f"No handler for {operation.operation!r}.")
    if client is None:
        from recruitment.connections import WorkspaceClients

        if clients is None:
            with WorkspaceClients() as own:
                return _execute_with(operation, handler, own, priority)
        return _execute_with(operation, handler, clients, priority)
    return _execute(operation, handler, client, priority)


def _execute_with(operation, handler, clients, priority):
    try:
        client = clients.get(operation.workspace_id)
    except errors.NotConnected as error:
        return _record_failure(operation, handler, _describe(error))
    return _execute(operation, handler, client, priority)


def _execute(operation, handler, client, priority):
    # The token of this key's shared bucket: none free, and the row waits its turn without
    # counting an attempt (UI was not called).
    wait = ui_rate_acquire(api_key=getattr(client, "api_key", ""), priority=priority)
    if wait > 0:
        return _record_throttled(operation, wait)
    try:
        result = None
        # Any earlier attempt may have reached UI before the worker lost track of it.
        if handler.lookup is not None and operation.attempts > 1:
            result = handler.lookup(operation, client)
        if result is None:
            result = handler.call(operation, client)
    except errors.Permanent as error:
        return _record_failure(operation, handler, _describe(error))
    except errors.RateLimited as error:
        return _record_retry(operation, handler, _describe(error),
                             retry_after=error.retry_after)
    except handlers.NotReady:
        return _record_waiting(operation)
    except errors.UIError as error:
        return _record_retry(operation, handler, _describe(error))
    except Exception as error:  # a bug or a surprise: keep the row, say why, back off
        logger.exception("outbox %s (%s) raised", operation.pk, operation.operation)
        return _record_retry(operation, handler, f"{type(error).__name__}: {error}")
    return _record_success(operation, handler, result or {})


#: The share of a row's lease a batch may use before it gives its rows not yet run back (a
#: row whose lease ran out could be claimed by another worker while this one still holds it).
BATCH_LEASE_SHARE = 0.5


def outbox_execute_batch(*, operation_ids, client=None, priority=BACKGROUND):
    """Run several outbox rows in turn with one client (one worker call for a batch the
    payouts sweeper wrote). Returns each row's status afterwards (None when skipped: a row
    another worker holds or has done).

    The rows are claimed together (one statement), and a handler that reads its rows'
    local data in bulk (`Handler.prepare`) does so once for the batch; then each row is
    sent, looked up before a re-send and recorded on its own, in its own transaction, as
    `outbox_execute` does it: a worker that dies loses at most the one answer it had not
    recorded yet, which the lookup before any re-send finds again. Rows still waiting when
    half their lease has passed are given back, due at once, for the sweeper to queue."""
    if client is None:
        from recruitment.connections import WorkspaceClients

        with WorkspaceClients() as clients:
            return _execute_batch(operation_ids, client=None, clients=clients,
                                  priority=priority)
    return _execute_batch(operation_ids, client=client, clients=None, priority=priority)


def _execute_batch(operation_ids, *, client, clients, priority):
    claimed = outbox_claim_many(operation_ids)
    give_back_at = clock.now() + RUN_LEASE * BATCH_LEASE_SHARE
    _prepare(claimed.values(), client=client, clients=clients)
    to_python = OutboxOperation._meta.pk.to_python
    statuses = []
    for operation_id in operation_ids:
        operation = claimed.pop(to_python(operation_id), None)
        if operation is None:
            statuses.append(None)
        elif clock.now() >= give_back_at:
            statuses.append(_give_back(operation))
        else:
            statuses.append(_run_claimed(operation, client=client, clients=clients,
                                         priority=priority))
    return statuses


def _prepare(operations, *, client, clients):
    """Each handler's bulk read of its rows' local data, once per operation and workspace.
    Only a shortcut: should it fail, each row reads its own data as it runs."""
    groups = {}
    for operation in operations:
        groups.setdefault((operation.operation, operation.workspace_id), []).append(operation)
    for (name, workspace_id), group in groups.items():
        handler = HANDLERS.get(name)
        if handler is None or handler.prepare is None:
            continue
        try:
            handler.prepare(group, client or clients.get(workspace_id))
        except Exception:
            logger.warning("outbox: preparing %d %s rows failed; each reads its own",
                           len(group), name, exc_info=True)
            for operation in group:
                operation.prepared = None


def _give_back(operation):
    """A claimed row this batch will not run after all: due again at once, the attempt
    not counted (UI was not called)."""
    OutboxOperation.objects.filter(pk=operation.pk, status=Status.PENDING,
                                   attempts=operation.attempts).update(
        attempts=operation.attempts - 1, next_attempt_at=clock.now())
    return Status.PENDING


def _describe(error):
    # The client's errors already read "User Interviews answered 422 validation_failed: …".
    return str(error) or type(error).__name__


def _locked_if_ours(operation):
    """The row, locked, if it is still the attempt this worker claimed (else None)."""
    current = OutboxOperation.objects.select_for_update().get(pk=operation.pk)
    if current.status != Status.PENDING or current.attempts != operation.attempts:
        return None
    return current


def _record_success(operation, handler, result):
    """Mark the row done and make the handler's local change, in one transaction: the
    row's update (only while it is still the attempt this worker claimed) locks it."""
    now = clock.now()
    with transaction.atomic():
        # One statement at every answer's rate, written out as the claim is (the ORM's
        # compiler cost more of a worker's CPU than the statement).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE rally_outboxoperation SET status = %s, result = %s::jsonb,"
                " last_error = '', completed_at = %s"
                " WHERE id = %s AND status = %s AND attempts = %s",
                [Status.DONE, json.dumps(result), now, operation.pk, Status.PENDING,
                 operation.attempts])
            if cursor.rowcount != 1:
                return None
        operation.status, operation.result = Status.DONE, result
        operation.last_error, operation.completed_at = "", now
        if handler.apply is not None:
            handler.apply(operation, result)
        if operation.operation in AWAITED:
            _wake_waiting(operation)
    return operation.status


#: What other operations wait for (their handlers raise NotReady until it is done): the study
#: at UI (launch, updates, payments) and the booking at UI (a session's news, its payment).
#: Only these wake the waiting; a payment's success wakes nothing and costs no query for it.
AWAITED = frozenset({"create_recruit", "create_session"})


def _wake_waiting(done):
    """The study's operations waiting for an earlier one (launch waits for create, a
    session's news for the booking) go now that it is done, not after their backoff."""
    if done.study_id is None:
        return
    waiting = list(OutboxOperation.objects.filter(
        study_id=done.study_id, status=Status.PENDING, last_error="",
        next_attempt_at__gt=clock.now()).exclude(pk=done.pk).values_list("pk", flat=True))
    if not waiting:
        return
    OutboxOperation.objects.filter(pk__in=waiting).update(next_attempt_at=clock.now())
    for operation_id in waiting:
        transaction.on_commit(lambda pk=operation_id: outbox_dispatch(pk))


def _record_waiting(operation):
    """What the operation needs at UI is not there yet (a launch before its create): normal,
    not an error. It waits with backoff, shows no error words, and is woken as soon as the
    operation it waits for is done (`_wake_waiting`). Attempts still count, so a wait that
    never ends ends failed."""
    if operation.attempts >= MAX_ATTEMPTS:
        return _record_failure(operation, HANDLERS.get(operation.operation),
                               "Gave up waiting for an earlier operation at User Interviews.")
    with transaction.atomic():
        current = _locked_if_ours(operation)
        if current is None:
            return None
        current.next_attempt_at = clock.now() + backoff_delay(operation.attempts)
        current.last_error = ""
        current.save(update_fields=["next_attempt_at", "last_error"])
    return current.status


def _record_throttled(operation, wait):
    """No token: give the row back for when one is free, without counting an attempt (the
    sweeper sends it then)."""
    with transaction.atomic():
        current = _locked_if_ours(operation)
        if current is None:
            return None
        current.attempts -= 1
        current.next_attempt_at = clock.now() + timedelta(seconds=wait + random.uniform(0, 1))
        current.save(update_fields=["attempts", "next_attempt_at"])
    # The next sweep may queue it again as soon as it is due (not a minute later).
    cache.delete(f"outbox:queued:{current.pk}:{current.attempts}")
    return current.status


def _record_retry(operation, handler, message, *, retry_after=None):
    if operation.attempts >= MAX_ATTEMPTS:
        return _record_failure(operation, handler,
                               f"Gave up after {operation.attempts} attempts: {message}")
    delay = backoff_delay(operation.attempts)
    if retry_after:
        delay = max(delay, timedelta(seconds=float(retry_after)))
    with transaction.atomic():
        current = _locked_if_ours(operation)
        if current is None:
            return None
        current.next_attempt_at = clock.now() + delay
        current.last_error = message[:2000]
        current.save(update_fields=["next_attempt_at", "last_error"])
    return current.status


def _record_failure(operation, handler, message):
    with transaction.atomic():
        current = _locked_if_ours(operation)
        if current is None:
            return None
        current.status = Status.FAILED
        current.last_error = message[:2000]
        current.completed_at = clock.now()
        current.save(update_fields=["status", "last_error", "completed_at"])
        if handler is not None and handler.on_failure is not None:
            handler.on_failure(current, message)
        activity_record(
            workspace=current.workspace, actor_label="task:outbox",
            action="outbox.failed", study_id=current.study_id,
            summary=f"User Interviews operation {label(current.operation)} failed",
            data={"operation_id": str(current.pk), "operation": current.operation,
                  "error": current.last_error})
    return current.status


_SWEPT = "outbox:swept:{}"


def outbox_priority(operation_id):
    """BACKGROUND for a row the sweeper sent again, else INTERACTIVE (a person's action
    written it and asked for it at once)."""
    return BACKGROUND if cache.get(_SWEPT.format(operation_id)) else INTERACTIVE


def outbox_sweep(*, limit=SWEEP_BATCH):
    """Re-dispatch due pending rows (their message was lost, or their backoff ran out).

    Reads with SKIP LOCKED so two sweepers never queue the same rows; never a countdown.
    Returns the ids dispatched.
    """
    now = clock.now()
    with transaction.atomic():
        due = list(
            OutboxOperation.objects.select_for_update(skip_locked=True)
            .filter(status=Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at").values_list("pk", "attempts")[:limit])
        queued = [pk for pk, attempts in due
                  if cache.add(f"outbox:queued:{pk}:{attempts}", 1, QUEUE_MEMORY_SECONDS)]
    # What a sweep sends again is background work (a deferred sweep's payouts, a backoff
    # run out): people's fresh actions go first.
    cache.set_many({_SWEPT.format(pk): 1 for pk in queued}, QUEUE_MEMORY_SECONDS)
    for operation_id in queued:
        outbox_dispatch(operation_id)
    return queued


# Use cases people start ---------------------------------------------------------------------


def outbox_operations_for_study(*, workspace, study_id):
    """A study's operations that still need attention: pending or failed, oldest first."""
    return list(OutboxOperation.objects.filter(
        workspace=workspace, study_id=study_id,
        status__in=[Status.PENDING, Status.FAILED]).order_by("created_at"))


@transaction.atomic(durable=True)
def outbox_retry_now(*, membership, operation_id):
    """"Retry now": send a pending or failed operation again at once, with the same key.

    Anyone who could have made the change may ask (EDIT_STUDY). An operation that has
    already been done is left alone.
    """
    require(membership, Permission.EDIT_STUDY)
    try:
        operation = OutboxOperation.objects.select_for_update().get(
            pk=operation_id, workspace=membership.workspace)
    except (OutboxOperation.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404 from exc
    if operation.status == Status.DONE:
        return operation
    # Should a worker still be running it, the new attempt supersedes it: the old one's
    # result is not recorded, and UI sees the same idempotency key twice.
    operation.status = Status.PENDING
    operation.next_attempt_at = clock.now()
    operation.completed_at = None
    operation.save(update_fields=["status", "next_attempt_at", "completed_at"])
    activity_record(
        workspace=membership.workspace, actor=membership.user, action="outbox.retried",
        study_id=operation.study_id,
        summary=f"Asked to retry {label(operation.operation)} at User Interviews",
        data={"operation_id": str(operation.pk), "operation": operation.operation})
    transaction.on_commit(lambda: outbox_dispatch(operation.pk))
    return operation
