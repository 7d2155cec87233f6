"""Small request helpers every app's views share: where a "next" link may send a person."""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_url(request, candidate, fallback):
    """`candidate` when it is a path on this site, else `fallback` (no open redirects)."""
    candidate = candidate or ""
    # Only a path: redirect() would take any other word for a view name.
    if candidate.startswith("/") and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return fallback


def safe_next(request, fallback):
    """The request's `next` (form field first, then query string) when it is safe."""
    return safe_url(request, request.POST.get("next") or request.GET.get("next"), fallback)
