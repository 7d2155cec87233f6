"""JSON:API documents: one function per resource type, and paged lists."""

from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q

from sandbox.catalog import CHARACTERISTICS
from sandbox.errors import ApiError, malformed
from sandbox.models import Applicant, Session
from sandbox.validation import parse_timestamp
from sandbox.webhooks import iso

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 200


def money(cents, currency="USD"):
    return {"amountCents": cents, "currency": currency}


def to_one(kind, identifier):
    """A to-one relationship: `{"data": {"type", "id"}}`, or `{"data": null}` for none."""
    return {"data": {"type": kind, "id": identifier} if identifier else None}


def characteristic_resource(characteristic):
    # `type` is JSON:API's own member: a resource's attributes may not use the name.
    attributes = {"name": characteristic.name, "slug": characteristic.slug,
                  "valueType": characteristic.type, "category": characteristic.category,
                  "audienceTypes": list(characteristic.audience_types)}
    if characteristic.type == "range":
        attributes["range"] = characteristic.range
    else:
        attributes["choices"] = [{"id": c.id, "label": c.label} for c in characteristic.choices]
    return {"id": characteristic.slug, "type": "characteristics", "attributes": attributes}


def characteristics_document():
    return {"data": [characteristic_resource(c) for c in CHARACTERISTICS],
            "meta": {"pagination": {"currentPage": 1, "pageSize": len(CHARACTERISTICS),
                                    "totalPages": 1, "totalCount": len(CHARACTERISTICS)}},
            "links": {"next": None, "prev": None}}


def recruit_counts(recruit):
    """Counts for one recruit (lists annotate them instead: see recruits_with_counts)."""
    if hasattr(recruit, "count_applicants"):
        return _counts_from(recruit)
    return _counts_from(recruits_with_counts(type(recruit).objects.filter(pk=recruit.pk))[0])


def recruits_with_counts(queryset):
    S = Applicant.Status
    return queryset.annotate(
        count_applicants=Count("applicants", distinct=True),
        count_qualified=Count("applicants", distinct=True, filter=Q(
            applicants__qualification=Applicant.Qualification.MANUAL_REVIEW)),
        count_approved=Count("applicants", distinct=True, filter=Q(
            applicants__status__in=[S.APPROVED, S.SCHEDULED, S.SUBMITTED, S.COMPLETED,
                                    S.NO_SHOW])),
        count_scheduled=Count("sessions", distinct=True, filter=Q(
            sessions__status=Session.Status.SCHEDULED)),
        count_completed=Count("sessions", distinct=True, filter=Q(
            sessions__status=Session.Status.COMPLETED)),
        count_no_show=Count("sessions", distinct=True, filter=Q(
            sessions__status=Session.Status.NO_SHOW)),
    )


def _counts_from(recruit):
    return {"applicants": recruit.count_applicants, "qualified": recruit.count_qualified,
            "approved": recruit.count_approved, "scheduled": recruit.count_scheduled,
            "completed": recruit.count_completed, "noShow": recruit.count_no_show}


def recruit_resource(recruit):
    attributes = {
        "externalId": recruit.external_id,
        "internalName": recruit.internal_name,
        "publicTitle": recruit.public_title,
        "publicDescription": recruit.public_description,
        "studyType": recruit.study_type,
        "numParticipants": recruit.num_participants,
        "durationMinutes": recruit.duration_minutes,
        "compensation": money(recruit.compensation_cents, recruit.currency),
        "requireApproval": recruit.require_approval,
        "timezone": recruit.timezone,
        "audience": recruit.audience,
        "screener": {"version": recruit.screener_version,
                     "questions": recruit.screener_questions},
        "schedulingUrl": recruit.scheduling_url or None,
        "taskUrl": recruit.task_url or None,
        "status": recruit.status,
        "intakeOpen": recruit.intake_open,
        "declinedReason": recruit.declined_reason or None,
        "applicationUrl": application_url(recruit),
        "createdAt": iso(recruit.created_at),
        "updatedAt": iso(recruit.updated_at),
        "launchedAt": iso(recruit.launched_at),
        "closedAt": iso(recruit.closed_at),
        "counts": recruit_counts(recruit),
    }
    if recruit.billing is not None:
        attributes["billing"] = recruit.billing
    return {"id": recruit.id, "type": "recruits", "attributes": attributes}


def application_url(recruit):
    if recruit.status in ("draft", "pending_review", "declined"):
        return None
    # The sandbox serves its public pages beside its API (UI_API_URL ends in /ui/api).
    base = settings.UI_API_URL.rstrip("/").removesuffix("/ui/api")
    return f"{base}/apply/{recruit.id}"


def applicant_resource(applicant):
    return {"id": applicant.id, "type": "applicants", "attributes": {
        "participant": {"id": applicant.participant_id, "firstName": applicant.first_name,
                        "lastInitial": applicant.last_initial},
        "source": applicant.source,
        "screenerVersion": applicant.screener_version,
        "screenerResponses": applicant.screener_responses,
        "matchedCriteria": applicant.matched_criteria,
        "unmetCriteria": applicant.unmet_criteria,
        "qualification": applicant.qualification,
        "status": applicant.status,
        "rejectionReason": applicant.rejection_reason or None,
        "invitationUrl": applicant.invitation_url or None,
        "appliedAt": iso(applicant.applied_at),
        "updatedAt": iso(applicant.updated_at),
    }, "relationships": {"recruit": to_one("recruits", applicant.recruit_id)}}


def session_resource(session):
    return {"id": session.id, "type": "sessions", "attributes": {
        "startsAt": iso(session.starts_at),
        "endsAt": iso(session.ends_at),
        "status": session.status,
        "createdAt": iso(session.created_at),
        "updatedAt": iso(session.updated_at),
    }, "relationships": {"recruit": to_one("recruits", session.recruit_id),
                         "applicant": to_one("applicants", session.applicant_id),
                         "groupSession": to_one("group_sessions", session.group_session_id)}}


def payment_resource(payment):
    return {"id": payment.id, "type": "payments", "attributes": {
        "amount": money(payment.amount_cents, payment.currency),
        "trigger": payment.trigger,
        "status": payment.status,
        "provider": "tremendous",
        "providerOrderId": payment.provider_order_id or None,
        "failureReason": payment.failure_reason or None,
        "externalId": payment.external_id,
        "createdAt": iso(payment.created_at),
        "updatedAt": iso(payment.updated_at),
        "paidAt": iso(payment.paid_at),
    }, "relationships": {"recruit": to_one("recruits", payment.recruit_id),
                         "session": to_one("sessions", payment.session_id),
                         "applicant": to_one("applicants", payment.applicant_id)}}


def subscription_resource(subscription, *, with_secret=False):
    attributes = {"url": subscription.url, "eventTypes": subscription.event_types,
                  "active": subscription.active,
                  "disabledAt": iso(subscription.disabled_at),
                  "createdAt": iso(subscription.created_at)}
    if with_secret:
        attributes["secret"] = subscription.secrets[0]["secret"]
    return {"id": subscription.id, "type": "webhook_subscriptions", "attributes": attributes}


def delivery_resource(delivery):
    return {"id": delivery.id, "type": "webhook_deliveries", "attributes": {
        "eventType": delivery.event.type,
        "status": delivery.status,
        "delivered": delivery.status == "succeeded",
        "attempts": delivery.attempts,
        "responseStatus": delivery.response_status,
        "lastError": delivery.last_error or None,
        "nextAttemptAt": iso(delivery.next_attempt_at),
        "lastAttemptAt": iso(delivery.last_attempt_at),
        "deliveredAt": iso(delivery.delivered_at),
        "createdAt": iso(delivery.created_at),
    }, "relationships": {"event": to_one("webhook_events", delivery.event_id),
                         "subscription": to_one("webhook_subscriptions",
                                                delivery.subscription_id)}}


# Lists ------------------------------------------------------------------------------


def _page_params(request):
    def read(name, default):
        raw = request.GET.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise ApiError(400, "bad_paging", "Bad paging",
                           f"{name} must be a whole number.", pointer=None) from None

    number, size = read("page[number]", 1), read("page[size]", DEFAULT_PAGE_SIZE)
    if number < 1:
        raise ApiError(400, "bad_paging", "Bad paging", "page[number] starts at 1.")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ApiError(400, "bad_paging", "Bad paging",
                       f"page[size] must be between 1 and {MAX_PAGE_SIZE}.")
    return number, size


def list_filters(request, *, statuses=(), allowed=("status", "updatedSince", "externalId")):
    """Read filter[...] parameters; unknown filters and bad values are 400s."""
    known = {"page[number]", "page[size]"} | {f"filter[{name}]" for name in allowed}
    for name, value in request.GET.items():
        if name not in known:
            raise malformed(f"Unknown query parameter {name!r}.")
        if "\x00" in value:
            raise malformed(f"{name} contains a NUL character.")
    out = {}
    if "filter[status]" in request.GET:
        values = [v for v in request.GET["filter[status]"].split(",") if v]
        bad = [v for v in values if v not in statuses]
        if bad or not values:
            raise malformed(f"filter[status] takes {', '.join(statuses)}.")
        out["status"] = values
    if "filter[updatedSince]" in request.GET:
        since = parse_timestamp(request.GET["filter[updatedSince]"])
        if since is None:
            raise malformed("filter[updatedSince] must be an ISO-8601 time with a zone.")
        out["updated_since"] = since
    if "filter[externalId]" in request.GET:
        out["external_id"] = request.GET["filter[externalId]"]
    return out


def paged_document(request, queryset, build):
    number, size = _page_params(request)
    total = queryset.count()
    pages = max(1, -(-total // size))
    items = list(queryset[(number - 1) * size: number * size])

    def link(page):
        if page < 1 or page > pages:
            return None
        params = request.GET.copy()
        params["page[number]"] = str(page)
        params["page[size]"] = str(size)
        return request.build_absolute_uri(f"{request.path}?{urlencode(sorted(params.items()))}")

    return {"data": [build(item) for item in items],
            "meta": {"pagination": {"currentPage": number, "pageSize": size,
                                    "totalPages": pages, "totalCount": total}},
            "links": {"next": link(number + 1), "prev": link(number - 1)}}
