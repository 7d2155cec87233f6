"""The sandbox console (/sandbox/): see what "User Interviews" holds and push it along.

Development only (served when SANDBOX_ENABLED), no sign-in, not linked from Rally. Every
button posts to `act`, which calls the same services as the API controls.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from rally import clock
from sandbox import api, booking, documents, population, services, simulation
from sandbox.errors import ApiError
from sandbox.models import (
    Applicant,
    Fault,
    Payment,
    Recruit,
    Session,
    WebhookDelivery,
    WebhookSubscription,
)

ROWS = 25


def _context():
    recruits = list(documents.recruits_with_counts(Recruit.objects.all()).order_by(
        "-created_at")[:ROWS])
    return {
        "now": clock.now(),
        "offset_hours": round(clock.offset_seconds() / 3600, 2),
        "recruits": recruits,
        "applicants": Applicant.objects.select_related("recruit").order_by(
            "-updated_at", "id")[:ROWS],
        "sessions": Session.objects.select_related("applicant", "recruit").order_by(
            "-updated_at", "id")[:ROWS],
        "payments": Payment.objects.select_related("applicant").order_by(
            "-updated_at", "id")[:ROWS],
        "deliveries": WebhookDelivery.objects.select_related("event", "subscription").order_by(
            "-created_at", "id")[:ROWS],
        "subscriptions": WebhookSubscription.objects.all(),
        "faults": Fault.objects.filter(remaining__gt=0).order_by("created_at"),
        "population_size": population.POPULATION_SIZE,
        "fault_statuses": api.FAULT_STATUSES,
    }


def index(request):
    template = "sandbox/console.html"
    if request.htmx and request.GET.get("region") == "live":
        template += "#live"
    return render(request, template, _context())


def _review(post):
    services.recruit_review_finish(recruit_id=post["recruit"], outcome=post["outcome"],
                                   reason=post.get("reason", ""))
    return "Review finished."


def _generate(post):
    try:
        count = int(post.get("count", "5"))
    except ValueError:
        count = 0
    rows = services.applicants_generate(
        recruit_id=post["recruit"], count=count,
        via_direct_link=post.get("via_direct_link") == "on",
        meets_criteria=post.get("meets_criteria", "on") == "on")
    return f"{len(rows)} applicant(s) arrived."


def _book(post):
    result = booking.applicant_book(applicant_id=post["applicant"],
                                    starts_at=post.get("starts_at") or None)
    return f"Booked {result['startsAt']}: Rally answered {result['rallyStatus']}."


def _submit(post):
    services.applicant_submit(applicant_id=post["applicant"])
    return "Submitted; the session is ready to complete."


def _advance(post):
    try:
        hours = float(post.get("hours", "0"))
    except ValueError:
        hours = 0
    if not 0 < hours <= 24 * 366:
        raise ApiError(422, "validation_failed", "Invalid", "Hours must be above 0.")
    clock.advance(hours=hours)
    return f"The clock moved {hours:g} h forward."


def _fault(post):
    status = post.get("status") or ""
    timeout = post.get("timeout") or ""
    if (not status) == (not timeout):
        raise ApiError(422, "validation_failed", "Invalid",
                       "Choose either a status or a timeout.")
    if status and int(status) not in api.FAULT_STATUSES:
        raise ApiError(422, "validation_failed", "Invalid", "Unknown status.")
    path = post.get("path", "").strip()
    if not path.startswith("/"):
        raise ApiError(422, "validation_failed", "Invalid", "The path starts with /.")
    try:
        count = max(1, min(1000, int(post.get("count", "1"))))
    except ValueError:
        count = 1
    api.fault_create(path=path, method=post.get("method", ""),
                     status=int(status) if status else None,
                     timeout=timeout if timeout in ("before", "after") else "", count=count)
    return f"The next {count} request(s) to {path} will fail."


def _tick(post):
    result = simulation.tick()
    return "Simulation ran: " + ", ".join(f"{k} {v}" for k, v in result.items())


def _reset(post):
    api.sandbox_reset()
    return "The sandbox is empty and the clock is back on the wall clock."


def _apply(post):
    services.applicants_generate(recruit_id=post["recruit"], count=1, via_direct_link=True,
                                 meets_criteria=post.get("meets_criteria") == "on")
    return "Thanks for applying! The researcher will review your application."


ACTIONS = {"review": _review, "generate": _generate, "book": _book, "submit": _submit,
           "advance": _advance, "fault": _fault, "tick": _tick, "reset": _reset,
           "apply": _apply}


@require_POST
def act(request):
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, "Unknown action.")
        return redirect("sandbox:console")
    try:
        messages.success(request, action(request.POST))
    except ApiError as error:
        messages.error(request, error.detail)
    except KeyError as missing:
        messages.error(request, f"Missing {missing}.")
    if request.POST.get("action") == "apply":
        return redirect("sandbox:apply", recruit_id=request.POST.get("recruit", ""))
    return redirect("sandbox:console")


def apply(request, recruit_id):
    """UI's public application page for a recruit (the applicationUrl)."""
    recruit = Recruit.objects.filter(pk=recruit_id).first()
    if recruit is None or recruit.status in (Recruit.Status.DRAFT, Recruit.Status.DECLINED):
        raise Http404("No such study.")
    return render(request, "sandbox/apply.html", {"recruit": recruit,
                                                  "open": recruit.status == "recruiting"})
