"""System checks for a configuration that must never reach production, and the refusal to
start with one (web and Celery processes call `refuse_unsafe_start`)."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security, deploy=False)
def sandbox_never_without_debug(app_configs=None, **kwargs):
    """The sandbox serves its console (reset, faults, the test clock) to anyone: it exists
    for development only."""
    if settings.SANDBOX_ENABLED and not settings.DEBUG:
        return [checks.Error(
            "SANDBOX_ENABLED is on while DEBUG is off: the User Interviews sandbox (its "
            "console, reset, faults and test clock) would be served to anonymous users.",
            hint="Set SANDBOX_ENABLED=false in production (it follows DEBUG when unset).",
            id="rally.E001")]
    return []


def refuse_unsafe_start():
    """Raise ImproperlyConfigured when a check above fails: production does not start."""
    problems = [error for error in sandbox_never_without_debug()
                if error.level >= checks.ERROR]
    if problems:
        raise ImproperlyConfigured(" ".join(f"{p.id}: {p.msg}" for p in problems))
