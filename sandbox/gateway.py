"""What every API request goes through before its endpoint: version, rate limit, key,
injected faults, JSON parsing and idempotency; and how answers are written.

Order matters: every answer carries the rate-limit headers (the bucket is taken first);
a request refused early (429/405/406/401) never claims an idempotency key; a fault injected
"before" never applies anything.
"""

import fnmatch
import hashlib
import json
import math
import time
from datetime import timedelta
from functools import wraps

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from rally import clock
from sandbox.errors import ApiError, malformed
from sandbox.models import ApiKey, Fault, IdempotencyRecord

MEDIA_TYPE = "application/vnd.user-interviews.v2+json"
IDEMPOTENCY_WINDOW = timedelta(hours=24)
MUTATING = ("POST", "PATCH", "DELETE")
API_ROOT = "/sandbox/ui/api"


class Answer:
    """An endpoint's result: status, JSON document (None for 204) and extra headers."""

    def __init__(self, status, document=None, headers=None):
        self.status = status
        self.document = document
        self.headers = headers or {}


def _json_response(status, document, headers=None):
    content = b"" if document is None else json.dumps(document, separators=(",", ":")).encode()
    response = HttpResponse(content, status=status, content_type=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: ApiError):
    return _json_response(error.status, error.as_document(), error.headers)


# Version and key ---------------------------------------------------------------------


def _check_accept(request):
    """406 unless `Accept` lists the v2 media type (with a non-zero q); `*/*` and others may
    stand beside it, but alone they, text/html, application/json or no Accept are refused."""
    for part in request.headers.get("Accept", "").split(","):
        media_type, *parameters = (item.strip() for item in part.split(";"))
        if media_type.lower() != MEDIA_TYPE:
            continue
        quality = next((value for name, _, value in (p.partition("=") for p in parameters)
                        if name.strip().lower() == "q"), "1")
        try:
            if float(quality) > 0:
                return
        except ValueError:
            continue
    raise ApiError(406, "not_acceptable", "Not acceptable",
                   f"Send Accept: {MEDIA_TYPE}; this API speaks no other media type.")


def _bearer(request):
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _api_key(token, now):
    if token is None:
        return None
    if token in settings.SANDBOX_API_KEYS:
        return ApiKey(key=token, created_at=now)
    return ApiKey.objects.filter(key=token).first()


def _unauthorized(detail):
    return ApiError(401, "unauthorized", "Unauthorized", detail,
                    headers={"WWW-Authenticate": 'Bearer realm="user-interviews"'})


# Rate limit (a token bucket row per key, shared by every process) --------------------


def _limits(api_key):
    per_minute = (api_key.rate_per_minute if api_key and api_key.rate_per_minute
                  else settings.SANDBOX_RATE_LIMIT_PER_MINUTE)
    burst = api_key.burst if api_key and api_key.burst else settings.SANDBOX_RATE_LIMIT_BURST
    return per_minute, burst


# One statement (one round trip): refill by the elapsed time, take a token if there is one.
_TAKE_TOKEN = """
INSERT INTO sandbox_ratebucket (key, tokens, refilled_at, granted)
VALUES (%(key)s, %(burst)s - 1, %(now)s, true)
ON CONFLICT (key) DO UPDATE SET
    tokens = CASE WHEN {refilled} >= 1 THEN {refilled} - 1 ELSE {refilled} END,
    granted = {refilled} >= 1,
    refilled_at = %(now)s
RETURNING tokens, granted
""".format(refilled="LEAST(%(burst)s::double precision, sandbox_ratebucket.tokens + GREATEST(0, "
                    "EXTRACT(EPOCH FROM (%(now)s - sandbox_ratebucket.refilled_at)))"
                    "::double precision * %(rate)s)")


def rate_limit_take(bucket_key, per_minute, burst, now):
    """Take one token; returns (allowed, remaining, reset_epoch, retry_after_seconds)."""
    rate = per_minute / 60.0
    with connection.cursor() as cursor:
        cursor.execute(_TAKE_TOKEN, {"key": bucket_key, "burst": float(burst), "now": now,
                                     "rate": rate})
        tokens, allowed = cursor.fetchone()
    reset = math.ceil(now.timestamp() + (burst - tokens) / rate)
    retry_after = 0 if allowed else max(1, math.ceil((1.0 - tokens) / rate))
    return allowed, int(tokens), reset, retry_after


# Faults ------------------------------------------------------------------------------


def _fault_take(method, path):
    if not Fault.objects.filter(remaining__gt=0).exists():
        return None
    with transaction.atomic():
        for fault in Fault.objects.select_for_update(skip_locked=True).filter(
                remaining__gt=0).order_by("created_at", "id"):
            if fault.method and fault.method.upper() != method:
                continue
            if fault.path == path or fnmatch.fnmatchcase(path, fault.path):
                fault.remaining -= 1
                fault.save(update_fields=["remaining"])
                return fault
    return None


def _fault_error(status):
    if status == 429:
        return ApiError(429, "rate_limited", "Rate limited", "Injected by the sandbox.",
                        headers={"Retry-After": "1"})
    if status == 503:
        return ApiError(503, "unavailable", "Service unavailable", "Injected by the sandbox.",
                        headers={"Retry-After": "1"})
    return ApiError(status, "internal_error", "Internal error", "Injected by the sandbox.")


def _hang():
    """Hold the connection, then drop it: the client sees a timeout (or a cut connection).

    In-process (httpx's WSGITransport) the exception reaches the client as a ReadTimeout.
    """
    time.sleep(settings.SANDBOX_FAULT_TIMEOUT_SECONDS)
    raise httpx.ReadTimeout("The sandbox dropped this request (injected timeout).")
    yield b""  # pragma: no cover - makes this a generator


def _timeout_response():
    return StreamingHttpResponse(_hang(), content_type=MEDIA_TYPE)


# Idempotency -------------------------------------------------------------------------


def _request_hash(method, path, body):
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path} {canonical}".encode()).hexdigest()


_CLAIM = """
INSERT INTO sandbox_idempotencyrecord (api_key, key, request_hash, state, body, created_at)
VALUES (%s, %s, %s, 'running', '', %s)
ON CONFLICT (api_key, key) DO NOTHING
RETURNING id
"""


def _idempotency_claim(api_key, key, request_hash, now):
    """Claim the key (committed before the work runs), or return the existing record."""
    for _ in range(3):
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM, [api_key, key, request_hash, now])
            if cursor.fetchone() is not None:
                return None
        existing = IdempotencyRecord.objects.filter(api_key=api_key, key=key).first()
        if existing is None:
            continue  # released between the two statements: claim again
        if existing.created_at < now - IDEMPOTENCY_WINDOW:
            existing.delete()
            continue
        return existing
    raise ApiError(409, "idempotency_conflict", "Idempotency conflict",
                   "This Idempotency-Key is in use; try again shortly.")


def _idempotency_release(api_key, key):
    IdempotencyRecord.objects.filter(api_key=api_key, key=key,
                                     state=IdempotencyRecord.State.RUNNING).delete()


def _idempotency_store(api_key, key, status, document):
    IdempotencyRecord.objects.filter(api_key=api_key, key=key).update(
        state=IdempotencyRecord.State.DONE, status_code=status,
        body="" if document is None else json.dumps(document, separators=(",", ":")))


def _replay(record, request_hash):
    if record.request_hash != request_hash:
        raise ApiError(422, "idempotency_key_reused", "Idempotency key reused",
                       "This Idempotency-Key was used with a different request.",
                       pointer=None)
    if record.state == IdempotencyRecord.State.RUNNING:
        raise ApiError(409, "idempotency_conflict", "Idempotency conflict",
                       "A request with this Idempotency-Key is still running.")
    document = json.loads(record.body) if record.body else None
    return Answer(record.status_code, document, {"Idempotent-Replayed": "true"})


# The decorator -----------------------------------------------------------------------


def _parse_body(request):
    if request.method not in MUTATING:
        return None
    raw = request.body
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise malformed(f"The body is not valid JSON: {exc}") from exc
    if _has_nul(body):
        raise malformed("NUL characters are not allowed anywhere in the body.")
    return body


def _has_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    return False


def api_endpoint(*methods, control=False):
    """Wrap `view(request, body, **kwargs) -> Answer` in the whole request pipeline.

    `control=True` marks the `_sandbox/` controls: same version, key and idempotency rules
    (Idempotency-Key is optional there), but no rate limit and no fault injection.
    """
    methods = {m.upper() for m in methods}

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def endpoint(request, **kwargs):
            rate_headers = {}
            try:
                now = clock.now()
                token = _bearer(request)
                api_key = _api_key(token, now)
                if not control:
                    per_minute, burst = _limits(api_key)
                    allowed, remaining, reset, retry_after = rate_limit_take(
                        f"key:{token}" if token else f"ip:{request.META.get('REMOTE_ADDR')}",
                        per_minute, burst, now)
                    rate_headers = {"X-RateLimit-Limit": str(per_minute),
                                    "X-RateLimit-Remaining": str(remaining),
                                    "X-RateLimit-Reset": str(reset)}
                    if not allowed:
                        raise ApiError(429, "rate_limited", "Rate limited",
                                       f"More than {per_minute} requests a minute; retry in "
                                       f"{retry_after} s.",
                                       headers={"Retry-After": str(retry_after)})
                if request.method not in methods:
                    raise ApiError(405, "method_not_allowed", "Method not allowed",
                                   f"Use {', '.join(sorted(methods))}.",
                                   headers={"Allow": ", ".join(sorted(methods))})
                _check_accept(request)
                if token is None:
                    raise _unauthorized("Send Authorization: Bearer <api key>.")
                if api_key is None:
                    raise _unauthorized("Unknown API key.")
                path = request.path.removeprefix(API_ROOT) or "/"
                fault = None if control else _fault_take(request.method, path)
                if fault is not None and fault.status:
                    raise _fault_error(fault.status)
                if fault is not None and fault.timeout == Fault.Timeout.BEFORE:
                    return _with_headers(_timeout_response(), rate_headers)
                answer = _run(request, view, kwargs, api_key.key, path, control, now)
                if fault is not None and fault.timeout == Fault.Timeout.AFTER:
                    return _with_headers(_timeout_response(), rate_headers)
                return _json_response(answer.status, answer.document,
                                      {**rate_headers, **answer.headers})
            except ApiError as error:
                error.headers = {**rate_headers, **error.headers}
                return error_response(error)

        return endpoint

    return decorate


def _run(request, view, kwargs, api_key, path, control, now):
    body = _parse_body(request)
    key = request.headers.get("Idempotency-Key", "").strip()
    if request.method not in MUTATING or (control and not key):
        return view(request, body, **kwargs)
    if not key:
        raise ApiError(400, "idempotency_key_missing", "Idempotency-Key required",
                       "Send an Idempotency-Key header with every POST, PATCH and DELETE.")
    if len(key) > 200:
        raise malformed("Idempotency-Key is longer than 200 characters.")
    request_hash = _request_hash(request.method, path, body)
    existing = _idempotency_claim(api_key, key, request_hash, now)
    if existing is not None:
        return _replay(existing, request_hash)
    try:
        answer = view(request, body, **kwargs)
    except ApiError as error:
        if error.status >= 500 or error.status == 429:
            _idempotency_release(api_key, key)
        else:
            _idempotency_store(api_key, key, error.status, error.as_document())
        raise
    except BaseException:
        _idempotency_release(api_key, key)
        raise
    _idempotency_store(api_key, key, answer.status, answer.document)
    return answer


def _with_headers(response, headers):
    for name, value in headers.items():
        response[name] = value
    return response
