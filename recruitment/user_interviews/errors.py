"""What can go wrong when Rally talks to User Interviews, as a small hierarchy callers branch on.

- `Permanent` (and its kinds: auth, not found, conflict, validation): UI understood the
  request and refused it; sending it again changes nothing. Never retried.
- `RateLimited`: UI asked us to wait longer than the client's budget; try again later.
- `Retryable`: the request may not have reached UI or UI failed (timeouts, 5xx,
  connection errors). `OutcomeUnknown` is the kind where UI may have applied it (a lost
  response to a mutation, a malformed 2xx): look the effect up before re-sending, and
  re-send only with the same idempotency key.
"""


class UIError(Exception):
    """Any failure talking to User Interviews."""

    def __init__(self, message="", *, status=None, code="", detail=""):
        super().__init__(message or detail or code or self.__class__.__name__)
        self.status = status
        self.code = code
        self.detail = detail


class Permanent(UIError):
    """A definite refusal (4xx): repeating the same request cannot succeed."""


class AuthError(Permanent):
    """401/403: the API key is missing, unknown or not allowed."""


class NotConnected(AuthError):
    """The workspace has no User Interviews API key (and there is no development default)."""


class NotFound(Permanent):
    """404: no such resource at UI."""


class Conflict(Permanent):
    """409: the resource is not in a state that allows this; `allowed_actions` says what is."""

    def __init__(self, message="", *, allowed_actions=(), **kwargs):
        super().__init__(message, **kwargs)
        self.allowed_actions = tuple(allowed_actions)


class InvalidTransition(Conflict):
    """409 `invalid_state_transition`."""


class ValidationFailed(Permanent):
    """422 `validation_failed`: `pointer` names the offending attribute, `detail` says why."""

    def __init__(self, message="", *, pointer="", **kwargs):
        super().__init__(message, **kwargs)
        self.pointer = pointer


class LockedAfterLaunch(ValidationFailed):
    """422 `locked_after_launch`: audience, compensation and study type are fixed once live."""


class IdempotencyKeyReused(Permanent):
    """422 `idempotency_key_reused`: the same key was sent with a different body (a bug here)."""


class RateLimited(UIError):
    """429 beyond what the client is willing to wait; `retry_after` is in seconds."""

    def __init__(self, message="", *, retry_after=None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Retryable(UIError):
    """UI could not be reached or failed; the same request may succeed later."""


class OutcomeUnknown(Retryable):
    """UI may or may not have applied the request: look it up before sending it again."""


class IdempotencyInProgress(Retryable):
    """409 `idempotency_conflict`: UI is still running the first request with this key."""


class MalformedResponse(OutcomeUnknown):
    """A 2xx whose body is not the document the contract promises (nothing half-parsed)."""

    def __init__(self, message="", *, pointer="", **kwargs):
        super().__init__(message, **kwargs)
        self.pointer = pointer
