"""Rally's URLs plus views that fail on purpose, for the error-page and request-log tests."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import include, path

from rally.urls import handler400, handler403, handler404, handler500  # noqa: F401


def broken(request):
    raise RuntimeError("a view that breaks")


def suspicious(request):
    raise SuspiciousOperation("a request that makes no sense")


def forbidden(request):
    raise PermissionDenied


urlpatterns = [
    path("_test/broken/", broken),
    path("_test/suspicious/", suspicious),
    path("_test/forbidden/", forbidden),
    path("", include("rally.urls")),
]
