"""The bell and the notifications page (SPEC N1): list, open, mark one or all read."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from rally import notifications
from rally.http import safe_url


def _membership(request):
    # request.membership is a lazy object: ask its truth, not whether it is None.
    if not request.membership:
        raise Http404
    return request.membership


@login_required
@require_GET
def notification_list(request):
    membership = _membership(request)
    return render(request, "rally/notifications.html", {
        "notifications": notifications.notifications_for(user=request.user,
                                                         workspace=membership.workspace),
    })


@login_required
@require_GET
def notification_bell(request):
    """The bell alone, for htmx to refresh when the tab comes back into view."""
    membership = _membership(request)
    return render(request, "rally/_bell.html", {
        "unread": notifications.unread_count(user=request.user, workspace=membership.workspace),
    })


@login_required
@require_POST
def notification_open(request, notification_id):
    """Mark read and go where the work is."""
    membership = _membership(request)
    notification = notifications.notification_get_for_user(
        user=request.user, workspace=membership.workspace, notification_id=notification_id)
    notifications.notification_mark_read(notification=notification)
    return redirect(safe_url(request, notification.link, "/"))


@login_required
@require_POST
def notification_mark_read(request, notification_id):
    membership = _membership(request)
    notification = notifications.notification_get_for_user(
        user=request.user, workspace=membership.workspace, notification_id=notification_id)
    notifications.notification_mark_read(notification=notification)
    return redirect("notifications")


@login_required
@require_POST
def notifications_mark_all_read(request):
    membership = _membership(request)
    notifications.notifications_mark_all_read(user=request.user,
                                              workspace=membership.workspace)
    return redirect("notifications")
