"""The HTTP client for User Interviews: one small method per endpoint of UI_API.md.

Every request carries the API key and the v2 media type; every mutation carries an
Idempotency-Key that the caller derives from the operation and the local object
(`idempotency_key("launch_recruit", study.id)`), so a retry — here, in a worker, or after
a crash — can never act twice. Timeouts, connection errors and 5xx are retried a few
times with exponential backoff and jitter under the same key; 429 waits for Retry-After
within a budget; definite 4xx are raised at once. Answers are parsed strictly
(`resources`); a 2xx that does not parse raises `MalformedResponse` (outcome unknown).
"""

import email.utils
import hashlib
import json
import logging
import random
import time
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
from django.conf import settings

from rally import clock
from rally.outgoing import tls_context
from rally.services import outbox_key
from recruitment.user_interviews import errors
from recruitment.user_interviews.ratelimit import (
    INTERACTIVE,
    SharedTokenBucket,
    rate_limited_record,
)
from recruitment.user_interviews.resources import (
    STUDY_TYPE_FOR_RALLY,
    Applicant,
    Characteristic,
    Estimate,
    Payment,
    PaymentTrigger,
    Recruit,
    Session,
    WebhookDelivery,
    WebhookSubscription,
    money_to_wire,
    parse_one,
    parse_page,
)

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.user-interviews.v2+json"
MAX_PAGE_SIZE = 200
MAX_RATE_LIMITED = 10  # 429s waited out in one call, however short the waits


def idempotency_key(operation, subject):
    """The key of `operation` on `subject` (a local id); the same as the outbox row's key."""
    return str(outbox_key(operation, subject))


def ui_study_type(rally_study_type):
    """Rally's study type → the `studyType` UI knows."""
    return STUDY_TYPE_FOR_RALLY[rally_study_type].value


def _wire_time(value):
    if value.tzinfo is None:
        raise ValueError("Times sent to User Interviews must be aware.")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _document(kind, attributes):
    return {"data": {"type": kind, "attributes": attributes}}


def _segment(identifier):
    """Ids are opaque strings: quote them so none can change the path."""
    if not isinstance(identifier, str) or not identifier:
        raise ValueError(f"Not a User Interviews id: {identifier!r}")
    return quote(identifier, safe="")


class UIClient:
    """One `httpx.Client` talking to `base_url` with `api_key`. Use as a context manager."""

    def __init__(self, *, base_url, api_key, timeout=10.0, connect_timeout=None,
                 transport=None, max_attempts=3, backoff_seconds=0.5, max_backoff_seconds=8.0,
                 max_retry_after_seconds=30.0, rate_limit_budget_seconds=60.0, sleep=None,
                 rate_limiter=None, metered=True, priority=INTERACTIVE):
        # The shared bucket of this key: every answer's X-RateLimit-Remaining and every 429
        # feed it; when `metered`, each request also takes a token first, at `priority`
        # (the outbox takes one per operation itself and passes metered=False).
        self.api_key = api_key
        self.rate_limiter = rate_limiter
        self.metered = metered
        self.priority = priority
        self.max_attempts = max(1, max_attempts)
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self.rate_limit_budget_seconds = rate_limit_budget_seconds
        self.sleep = sleep or time.sleep
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            transport=transport,
            timeout=httpx.Timeout(timeout, connect=connect_timeout or min(timeout, 5.0)),
            headers={"Authorization": f"Bearer {api_key}", "Accept": MEDIA_TYPE,
                     "User-Agent": "Rally"},
            follow_redirects=False,
            verify=tls_context(),
        )

    @classmethod
    def from_settings(cls, transport=None, *, api_key=None, metered=False, **options):
        """A client for UI_API_URL with `api_key` (a workspace's own: see
        `recruitment.connections.ui_client_for`); without one, the development default
        UI_API_KEY. It feeds the key's shared bucket from UI's answers; `metered` clients
        (background sweeps and polls) also take a token per request."""
        api_key = api_key or settings.UI_API_KEY
        if not api_key:
            raise errors.NotConnected("No User Interviews API key: connect the workspace's "
                                      "account in Workspace settings → User Interviews.")
        options.setdefault("timeout", settings.UI_API_TIMEOUT_SECONDS)
        if "rate_limiter" not in options:
            options["rate_limiter"] = SharedTokenBucket.from_settings(api_key=api_key)
        return cls(base_url=settings.UI_API_URL, api_key=api_key, transport=transport,
                   metered=metered, **options)

    @classmethod
    def in_process(cls, **options):
        """A client whose requests to UI_API_URL are served by this process's WSGI app.

        For the sandbox while no server runs yet (seeding, tests); the URL's path still
        decides where a request goes, exactly as over the network.
        """
        from rally.wsgi import application

        return cls.from_settings(transport=httpx.WSGITransport(app=application), **options)

    def close(self):
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # Transport -------------------------------------------------------------------------

    def request(self, method, path, *, params=None, body=None, key=None):
        """Send one request (retrying what may be retried) and return (status, document)."""
        if method != "GET" and not key:
            raise ValueError(f"{method} {path} needs an idempotency key.")
        headers = {"Idempotency-Key": key} if key else {}
        content = None
        if body is not None:
            # Serialised once, so every retry sends the very same bytes under the same key.
            content = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
            headers["Content-Type"] = MEDIA_TYPE
        mutation = method != "GET"
        attempt = 0
        waited_for_rate_limit = 0.0
        told_to_wait = 0
        while True:
            attempt += 1
            pause = None  # a 503's own Retry-After, when it gives one
            waited_for_rate_limit += self._take_token(waited_for_rate_limit)
            try:
                response = self.http.request(method, path, params=params, content=content,
                                             headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                failure = errors.Retryable(f"User Interviews can't be reached: {error}")
            except httpx.TimeoutException as error:
                failure = (errors.OutcomeUnknown if mutation else errors.Retryable)(
                    f"User Interviews did not answer {method} {path} in time ({error}).")
            except httpx.TransportError as error:
                failure = (errors.OutcomeUnknown if mutation else errors.Retryable)(
                    f"The connection to User Interviews broke: {error}")
            else:
                status = response.status_code
                self._observe(response)
                if 200 <= status < 300:
                    return status, self._json(response, method, path)
                if status == 429:
                    rate_limited_record()
                    wait = self._retry_after(response, attempt)
                    if self.rate_limiter is not None:  # every worker waits, not just this one
                        self.rate_limiter.observe(hold_seconds=wait)
                    told_to_wait += 1
                    if (wait > self.max_retry_after_seconds or told_to_wait > MAX_RATE_LIMITED
                            or waited_for_rate_limit + wait > self.rate_limit_budget_seconds):
                        raise errors.RateLimited(
                            f"User Interviews asks us to wait {wait:g} s.", status=429,
                            code="rate_limited", retry_after=wait)
                    self.sleep(wait)
                    waited_for_rate_limit += wait
                    attempt -= 1  # waiting as told is not a failed attempt
                    continue
                failure = _error_from(response, mutation=mutation)
                if not isinstance(failure, errors.Retryable):
                    raise failure
                if status == 503 and "Retry-After" in response.headers:
                    pause = min(self._retry_after(response, attempt), self.max_backoff_seconds)
            if attempt >= self.max_attempts:
                raise failure
            logger.warning("UI %s %s failed (attempt %s of %s): %s", method, path, attempt,
                           self.max_attempts, failure)
            self.sleep(pause if pause is not None else self._backoff(attempt))

    def _observe(self, response):
        """UI says how many requests are left on this key: the shared bucket follows."""
        remaining = response.headers.get("X-RateLimit-Remaining", "")
        if self.rate_limiter is not None and remaining.isdigit():
            self.rate_limiter.observe(remaining=int(remaining))

    def _take_token(self, waited):
        """Wait for the shared bucket's token (within the budget); returns seconds waited."""
        if self.rate_limiter is None or not self.metered:
            return 0.0
        slept = 0.0
        while (wait := self.rate_limiter.take(self.priority)) > 0:
            if waited + slept + wait > self.rate_limit_budget_seconds:
                raise errors.RateLimited(f"Rally's share of UI's rate limit is spent for "
                                         f"{wait:.1f} s.", retry_after=wait)
            self.sleep(wait)
            slept += wait
        return slept

    def _backoff(self, attempt):
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _retry_after(self, response, attempt):
        value = response.headers.get("Retry-After", "").strip()
        if value.isdigit():
            return float(value)
        if value:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None and when.tzinfo is not None:
                # An HTTP date is on the wall clock, not Rally's (possibly shifted) test clock.
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
        return self._backoff(attempt)

    @staticmethod
    def _json(response, method, path):
        if response.status_code == 204 or (method == "DELETE" and not response.content):
            return None
        try:
            return response.json()
        except ValueError:
            raise errors.MalformedResponse(
                f"{method} {path} answered {response.status_code} without JSON.",
                status=response.status_code) from None

    def _get(self, path, params=None):
        return self.request("GET", path, params=params)[1]

    def _post(self, path, *, key, body=None):
        return self.request("POST", path, body=body, key=key)[1]

    def _pages(self, path, kind, build, *, params=None, page_size=MAX_PAGE_SIZE):
        """Yield `Page`s one request at a time, so nothing holds every item at once."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}.")
        number = 1
        while True:
            query = {**(params or {}), "page[number]": number, "page[size]": page_size}
            page = parse_page(self._get(path, query), kind, build)
            if page.current_page != number:
                raise errors.MalformedResponse(f"Asked for page {number}, got "
                                               f"{page.current_page}.", pointer="/meta")
            yield page
            if page.is_last or not page.items:
                return
            number += 1

    # Characteristics -------------------------------------------------------------------

    def characteristics_pages(self, *, page_size=MAX_PAGE_SIZE):
        return self._pages("characteristics", "characteristics",
                           Characteristic.from_resource, page_size=page_size)

    def characteristics_list(self):
        """The whole criteria catalog (every page)."""
        return [item for page in self.characteristics_pages() for item in page.items]

    # Estimates -------------------------------------------------------------------------

    def estimate_create(self, *, audience, study_type, num_participants, duration_minutes):
        """Audience Reach for `audience` (UI_API.md's audience dict); no side effects at UI."""
        attributes = {"audience": audience, "studyType": ui_study_type(study_type),
                      "numParticipants": num_participants,
                      "durationMinutes": duration_minutes}
        # Estimates change nothing, so the key is the request's fingerprint; the hour in it
        # keeps UI from replaying an estimate older than that.
        fingerprint = hashlib.sha256(json.dumps(attributes, sort_keys=True).encode())
        subject = f"{fingerprint.hexdigest()}:{clock.now():%Y%m%d%H}"
        document = self._post("estimates", key=idempotency_key("estimate", subject),
                              body=_document("estimates", attributes))
        return parse_one(document, "estimates", Estimate.from_resource)

    # Recruits --------------------------------------------------------------------------

    def recruit_create(self, *, key, external_id, internal_name, public_title,
                       public_description, study_type, num_participants, duration_minutes,
                       compensation, timezone, audience, screener, scheduling_url=None,
                       task_url=None):
        attributes = {
            "externalId": str(external_id), "internalName": internal_name,
            "publicTitle": public_title, "publicDescription": public_description,
            "studyType": ui_study_type(study_type), "numParticipants": num_participants,
            "durationMinutes": duration_minutes, "compensation": money_to_wire(compensation),
            "requireApproval": True, "timezone": timezone, "audience": audience,
            "screener": screener,
        }
        if scheduling_url:
            attributes["schedulingUrl"] = scheduling_url
        if task_url:
            attributes["taskUrl"] = task_url
        document = self._post("recruits", key=key, body=_document("recruits", attributes))
        return parse_one(document, "recruits", Recruit.from_resource)

    def recruit_get(self, recruit_id):
        return parse_one(self._get(f"recruits/{_segment(recruit_id)}"), "recruits",
                         Recruit.from_resource)

    def recruits_pages(self, *, external_id=None, statuses=(), page_size=MAX_PAGE_SIZE):
        params = {}
        if external_id:
            params["filter[externalId]"] = str(external_id)
        if statuses:
            params["filter[status]"] = ",".join(statuses)
        return self._pages("recruits", "recruits", Recruit.from_resource, params=params,
                           page_size=page_size)

    def recruit_find(self, *, external_id):
        """The recruit made for a Rally study, or None (looks up before re-creating)."""
        for page in self.recruits_pages(external_id=external_id, page_size=1):
            return page.items[0] if page.items else None
        return None

    RECRUIT_CHANGES = {
        "internal_name": "internalName", "public_title": "publicTitle",
        "public_description": "publicDescription", "num_participants": "numParticipants",
        "duration_minutes": "durationMinutes", "timezone": "timezone",
        "audience": "audience", "screener": "screener", "scheduling_url": "schedulingUrl",
        "task_url": "taskUrl",
    }

    def recruit_update(self, recruit_id, *, key, **changes):
        """PATCH the given attributes (Rally names: num_participants=…, compensation=…)."""
        attributes = {}
        for name, value in changes.items():
            if name == "compensation":
                attributes["compensation"] = money_to_wire(value)
            elif name == "study_type":
                attributes["studyType"] = ui_study_type(value)
            elif name in self.RECRUIT_CHANGES:
                attributes[self.RECRUIT_CHANGES[name]] = value
            else:
                raise TypeError(f"A recruit has no attribute {name!r} to change.")
        if not attributes:
            raise ValueError("Nothing to change.")
        body = {"data": {"type": "recruits", "id": recruit_id, "attributes": attributes}}
        document = self.request("PATCH", f"recruits/{_segment(recruit_id)}", body=body,
                                key=key)[1]
        return parse_one(document, "recruits", Recruit.from_resource)

    def _recruit_action(self, recruit_id, action, key):
        document = self._post(f"recruits/{_segment(recruit_id)}/{action}", key=key)
        return parse_one(document, "recruits", Recruit.from_resource)

    def recruit_launch(self, recruit_id, *, key):
        return self._recruit_action(recruit_id, "launches", key)

    def recruit_pause(self, recruit_id, *, key):
        return self._recruit_action(recruit_id, "pauses", key)

    def recruit_resume(self, recruit_id, *, key):
        return self._recruit_action(recruit_id, "resumptions", key)

    def recruit_close(self, recruit_id, *, key):
        """Close for good; the answer's `billing` is UI's final account."""
        return self._recruit_action(recruit_id, "closures", key)

    def recruit_intake_set(self, recruit_id, *, key, open):
        """Close (`open=False`) or reopen a recruit's intake: closed, UI sends no applicants
        while the recruit keeps its status (Rally's participation limit, SPEC R6)."""
        document = self._post(f"recruits/{_segment(recruit_id)}/intake", key=key,
                              body={"open": bool(open)})
        return parse_one(document, "recruits", Recruit.from_resource)

    # Applicants ------------------------------------------------------------------------

    def _applicant_params(self, statuses, updated_since):
        params = {}
        if statuses:
            params["filter[status]"] = ",".join(statuses)
        if updated_since is not None:
            params["filter[updatedSince]"] = _wire_time(updated_since)
        return params

    def applicants_page(self, recruit_id, *, statuses=(), updated_since=None, page=1,
                        page_size=MAX_PAGE_SIZE):
        params = self._applicant_params(statuses, updated_since)
        params.update({"page[number]": page, "page[size]": page_size})
        return parse_page(self._get(f"recruits/{_segment(recruit_id)}/applicants", params),
                          "applicants", Applicant.from_resource)

    def applicants_pages(self, recruit_id, *, statuses=(), updated_since=None,
                         page_size=MAX_PAGE_SIZE):
        return self._pages(f"recruits/{_segment(recruit_id)}/applicants", "applicants",
                           Applicant.from_resource,
                           params=self._applicant_params(statuses, updated_since),
                           page_size=page_size)

    def applicant_approve(self, applicant_id, *, key, scheduling_url=None, task_url=None):
        """Rally's "Invite": UI sends the invitation with Rally's per-applicant link."""
        body = {}
        if scheduling_url:
            body["schedulingUrl"] = scheduling_url
        if task_url:
            body["taskUrl"] = task_url
        document = self._post(f"applicants/{_segment(applicant_id)}/approvals", key=key,
                              body=body or None)
        return parse_one(document, "applicants", Applicant.from_resource)

    def applicant_reject(self, applicant_id, *, key, reason=""):
        document = self._post(f"applicants/{_segment(applicant_id)}/rejections", key=key,
                              body={"reason": reason})
        return parse_one(document, "applicants", Applicant.from_resource)

    # Sessions --------------------------------------------------------------------------

    def session_create(self, recruit_id, *, key, applicant_id, starts_at, ends_at):
        body = {"data": {"type": "sessions",
                         "attributes": {"startsAt": _wire_time(starts_at),
                                        "endsAt": _wire_time(ends_at)},
                         "relationships": {"applicant": {"data": {"type": "applicants",
                                                                  "id": applicant_id}}}}}
        document = self._post(f"recruits/{_segment(recruit_id)}/sessions", key=key,
                              body=body)
        return parse_one(document, "sessions", Session.from_resource)

    def sessions_pages(self, recruit_id, *, page_size=MAX_PAGE_SIZE):
        return self._pages(f"recruits/{_segment(recruit_id)}/sessions", "sessions",
                           Session.from_resource, page_size=page_size)

    def _session_action(self, session_id, action, key, body=None):
        document = self._post(f"sessions/{_segment(session_id)}/{action}", key=key,
                              body=body)
        return parse_one(document, "sessions", Session.from_resource)

    def session_complete(self, session_id, *, key):
        return self._session_action(session_id, "completions", key)

    def session_no_show(self, session_id, *, key):
        return self._session_action(session_id, "no_shows", key)

    def session_cancel(self, session_id, *, key, keep_seat=False):
        """`keep_seat`: the host canceled, the participant books another time (the
        applicant stays approved at UI)."""
        return self._session_action(session_id, "cancellations", key,
                                    body={"keepSeat": True} if keep_seat else None)

    def session_reschedule(self, session_id, *, key, starts_at, ends_at):
        return self._session_action(session_id, "reschedules", key, body={
            "startsAt": _wire_time(starts_at), "endsAt": _wire_time(ends_at)})

    # Payments --------------------------------------------------------------------------

    def payment_create(self, session_id, *, key, external_id, trigger):
        """Pay a session's incentive. Idempotent by `external_id` at UI as well as by key.

        On `OutcomeUnknown` look the payment up (`payment_find`) before sending again.
        """
        body = {"externalId": str(external_id), "trigger": PaymentTrigger(trigger).value}
        document = self._post(f"sessions/{_segment(session_id)}/payments", key=key,
                              body=body)
        return parse_one(document, "payments", Payment.from_resource)

    def payments_pages(self, recruit_id, *, external_id=None, page_size=MAX_PAGE_SIZE):
        params = {"filter[externalId]": str(external_id)} if external_id else {}
        return self._pages(f"recruits/{_segment(recruit_id)}/payments", "payments",
                           Payment.from_resource, params=params, page_size=page_size)

    def payment_find(self, recruit_id, *, external_id):
        """The payment made for Rally's payout `external_id`, or None."""
        for page in self.payments_pages(recruit_id, external_id=external_id):
            for payment in page.items:
                if payment.external_id == str(external_id):
                    return payment
        return None

    # Webhook subscriptions -------------------------------------------------------------

    def webhook_subscription_create(self, *, key, url, event_types):
        document = self._post("webhook_subscriptions", key=key,
                              body={"url": url, "eventTypes": list(event_types)})
        return parse_one(document, "webhook_subscriptions", WebhookSubscription.from_resource)

    def webhook_subscriptions_list(self):
        return [item for page in self._pages("webhook_subscriptions", "webhook_subscriptions",
                                             WebhookSubscription.from_resource)
                for item in page.items]

    def webhook_subscription_delete(self, subscription_id, *, key):
        self.request("DELETE", f"webhook_subscriptions/{_segment(subscription_id)}", key=key)

    def webhook_subscription_rotate_secret(self, subscription_id, *, key):
        """A new secret (shown once); the old one keeps signing for a while."""
        document = self._post(
            f"webhook_subscriptions/{_segment(subscription_id)}/secret_rotations", key=key)
        return parse_one(document, "webhook_subscriptions", WebhookSubscription.from_resource)

    def webhook_subscription_test(self, subscription_id, *, key):
        """Ask UI to send a `ping` to the subscription."""
        self._post(f"webhook_subscriptions/{_segment(subscription_id)}/tests", key=key)

    def webhook_deliveries_pages(self, subscription_id, *, page_size=MAX_PAGE_SIZE):
        return self._pages(f"webhook_subscriptions/{_segment(subscription_id)}/deliveries",
                           "webhook_deliveries", WebhookDelivery.from_resource,
                           page_size=page_size)


def _error_from(response, *, mutation):
    """The error for a non-2xx, non-429 answer (error bodies are read leniently)."""
    status = response.status_code
    code = detail = pointer = ""
    allowed = ()
    try:
        first = (response.json().get("errors") or [{}])[0]
        code = str(first.get("code") or "")
        detail = str(first.get("detail") or first.get("title") or "")
        pointer = str((first.get("source") or {}).get("pointer") or "")
        allowed = tuple((first.get("meta") or {}).get("allowedActions") or ())
    except (ValueError, AttributeError, IndexError, TypeError):
        pass
    message = f"User Interviews answered {status} {code}: {detail}".strip(": ")
    fields = {"status": status, "code": code, "detail": detail}
    if status >= 500:
        kind = errors.OutcomeUnknown if mutation else errors.Retryable
        return kind(message, **fields)
    if status in (401, 403):
        return errors.AuthError(message, **fields)
    if status == 404:
        return errors.NotFound(message, **fields)
    if status == 409:
        if code == "idempotency_conflict":
            return errors.IdempotencyInProgress(message, **fields)
        kind = errors.InvalidTransition if code == "invalid_state_transition" else errors.Conflict
        return kind(message, allowed_actions=allowed, **fields)
    if status == 422:
        if code == "locked_after_launch":
            return errors.LockedAfterLaunch(message, pointer=pointer, **fields)
        if code == "idempotency_key_reused":
            return errors.IdempotencyKeyReused(message, **fields)
        return errors.ValidationFailed(message, pointer=pointer, **fields)
    return errors.Permanent(message, **fields)


# The sandbox only ---------------------------------------------------------------------------


def _wire_values(value):
    if isinstance(value, datetime):
        return _wire_time(value)
    if isinstance(value, dict):
        return {key: _wire_values(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_wire_values(item) for item in value]
    return value


def sandbox_history_put(client, recruit_id, *, recruit, applicants=(), sessions=(),
                        payments=()):
    """Write a recruit's past at the sandbox under the ids given (its `_sandbox/` control;
    User Interviews itself has no such endpoint). For the demo seed, whose invented history
    must be known where Rally will pay, pause or poll. The attributes are the wire's
    (camelCase; times may be aware datetimes). The same history again is one write (the key
    is its hash). Returns the recruit as the sandbox now holds it."""
    body = _wire_values({"recruit": recruit, "applicants": list(applicants),
                         "sessions": list(sessions), "payments": list(payments)})
    content = json.dumps(body, separators=(",", ":"), sort_keys=True)
    key = "sandbox-history-" + hashlib.sha256(f"{recruit_id} {content}".encode()).hexdigest()
    _status, document = client.request(
        "POST", f"_sandbox/recruits/{_segment(recruit_id)}/history", body=body, key=key)
    return parse_one(document, "recruits", Recruit.from_resource)
