"""The User Interviews API as UI_API.md describes it, plus the `_sandbox/` controls.

Views only read the request, call one service and write the document; the gateway does
version, key, rate limit, faults and idempotency.
"""

from django.db import IntegrityError, transaction

from rally import clock
from sandbox import booking, documents, history, population, services, webhooks
from sandbox.errors import ApiError, ValidationFailed, not_found
from sandbox.gateway import Answer, api_endpoint
from sandbox.models import (
    Applicant,
    Fault,
    IdempotencyRecord,
    Payment,
    RateBucket,
    Recruit,
    Session,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from sandbox.validation import (
    Checker,
    attributes_of,
    estimate_attributes_clean,
    recruit_attributes_clean,
    related_id,
)


def _get(model, pk, kind, queryset=None):
    obj = (queryset if queryset is not None else model.objects).filter(pk=pk).first()
    if obj is None:
        raise not_found(kind)
    return obj


def _one(resource, status=200, headers=None):
    return Answer(status, {"data": resource}, headers)


def _recruit_doc(recruit, status=200):
    fresh = documents.recruits_with_counts(Recruit.objects.filter(pk=recruit.pk)).get()
    return _one(documents.recruit_resource(fresh), status)


def _filtered(queryset, filters):
    if "status" in filters:
        queryset = queryset.filter(status__in=filters["status"])
    if "updated_since" in filters:
        queryset = queryset.filter(updated_at__gte=filters["updated_since"])
    if "external_id" in filters:
        queryset = queryset.filter(external_id=filters["external_id"])
    return queryset


def _no_attributes(body, allowed=()):
    attributes = attributes_of(body)
    check = Checker(attributes, allowed)
    check.done()
    return check


# Catalog and estimates --------------------------------------------------------------


@api_endpoint("GET")
def characteristics(request, body):
    return Answer(200, documents.characteristics_document())


@api_endpoint("POST")
def estimates(request, body):
    cleaned = estimate_attributes_clean(attributes_of(body))
    result = population.reach_estimate(audience=cleaned["audience"],
                                       study_type=cleaned["study_type"],
                                       num_participants=cleaned["num_participants"])
    return _one({"id": "estimate", "type": "estimates", "attributes": result})


# Recruits ---------------------------------------------------------------------------


@api_endpoint("GET", "POST")
def recruits(request, body):
    if request.method == "POST":
        attributes = recruit_attributes_clean(attributes_of(body), creating=True)
        recruit, _created = services.recruit_create(attributes=attributes)
        return _recruit_doc(recruit, 201)
    filters = documents.list_filters(request, statuses=Recruit.Status.values)
    queryset = documents.recruits_with_counts(_filtered(Recruit.objects.all(), filters))
    return Answer(200, documents.paged_document(request, queryset.order_by("created_at", "id"),
                                                documents.recruit_resource))


@api_endpoint("GET", "PATCH")
def recruit(request, body, recruit_id):
    found = _get(Recruit, recruit_id, "recruit")
    if request.method == "PATCH":
        attributes = recruit_attributes_clean(attributes_of(body), creating=False)
        found = services.recruit_update(recruit_id=found.id, attributes=attributes)
    return _recruit_doc(found)


RECRUIT_ACTION_SERVICES = {
    "launches": (services.recruit_launch, 202),
    "pauses": (services.recruit_pause, 200),
    "resumptions": (services.recruit_resume, 200),
    "closures": (services.recruit_close, 200),
}


@api_endpoint("POST")
def recruit_action(request, body, recruit_id, action):
    _no_attributes(body)
    service, status = RECRUIT_ACTION_SERVICES[action]
    return _recruit_doc(service(recruit_id=recruit_id), status)


@api_endpoint("POST")
def recruit_intake(request, body, recruit_id):
    """`{"open": false}` closes the recruit's intake (Rally's limit is reached), true reopens."""
    attributes = attributes_of(body)
    check = Checker(attributes, ("open",))
    wanted = attributes.get("open")
    if not isinstance(wanted, bool):
        check.fail("open", "open must be true or false.")
    check.done()
    return _recruit_doc(services.recruit_intake_set(recruit_id=recruit_id, open=wanted))


# Applicants -------------------------------------------------------------------------

APPLICANT_FILTERS = ("status", "updatedSince")


@api_endpoint("GET")
def recruit_applicants(request, body, recruit_id):
    _get(Recruit, recruit_id, "recruit")
    filters = documents.list_filters(request, statuses=Applicant.Status.values,
                                     allowed=APPLICANT_FILTERS)
    queryset = _filtered(Applicant.objects.filter(recruit_id=recruit_id), filters)
    return Answer(200, documents.paged_document(request, queryset.order_by("applied_at", "id"),
                                                documents.applicant_resource))


@api_endpoint("GET")
def applicant(request, body, applicant_id):
    return _one(documents.applicant_resource(_get(Applicant, applicant_id, "applicant")))


@api_endpoint("POST")
def applicant_approvals(request, body, applicant_id):
    check = _no_attributes(body, ("schedulingUrl", "taskUrl"))
    scheduling_url, task_url = check.url("schedulingUrl"), check.url("taskUrl")
    check.done()
    return _one(documents.applicant_resource(services.applicant_approve(
        applicant_id=applicant_id, scheduling_url=scheduling_url, task_url=task_url)))


@api_endpoint("POST")
def applicant_rejections(request, body, applicant_id):
    check = _no_attributes(body, ("reason",))
    reason = check.string("reason", max_length=1000, nullable=True)
    check.done()
    return _one(documents.applicant_resource(services.applicant_reject(
        applicant_id=applicant_id, reason=reason or "")))


# Sessions ---------------------------------------------------------------------------


@api_endpoint("GET", "POST")
def recruit_sessions(request, body, recruit_id):
    _get(Recruit, recruit_id, "recruit")
    if request.method == "POST":
        # A JSON:API document: the times as attributes, the applicant (and the group
        # session, if any) as relationships.
        check = _no_attributes(body, ("startsAt", "endsAt"))
        starts_at = check.timestamp("startsAt", required=True)
        ends_at = check.timestamp("endsAt", required=True)
        applicant_id = related_id(body, check, "applicant", "applicants", required=True)
        group = related_id(body, check, "groupSession", "group_sessions")
        check.done()
        booked, _created = services.session_create(
            recruit_id=recruit_id, applicant_id=applicant_id, starts_at=starts_at,
            ends_at=ends_at, group_session_id=group or "")
        return _one(documents.session_resource(booked), 201)
    filters = documents.list_filters(request, statuses=Session.Status.values,
                                     allowed=("status", "updatedSince"))
    queryset = _filtered(Session.objects.filter(recruit_id=recruit_id), filters)
    return Answer(200, documents.paged_document(request, queryset.order_by("starts_at", "id"),
                                                documents.session_resource))


@api_endpoint("GET")
def session(request, body, session_id):
    return _one(documents.session_resource(_get(Session, session_id, "session")))


@api_endpoint("POST")
def session_action(request, body, session_id, action):
    _get(Session, session_id, "session")
    if action == "reschedules":
        check = _no_attributes(body, ("startsAt", "endsAt"))
        starts_at = check.timestamp("startsAt", required=True)
        ends_at = check.timestamp("endsAt", required=True)
        check.done()
        found = services.session_act(session_id=session_id, action=action, starts_at=starts_at,
                                     ends_at=ends_at)
    elif action == "cancellations":
        check = _no_attributes(body, ("keepSeat",))
        keep_seat = check.boolean("keepSeat")
        check.done()
        found = services.session_act(session_id=session_id, action=action,
                                     keep_seat=bool(keep_seat))
    else:
        _no_attributes(body)
        found = services.session_act(session_id=session_id, action=action)
    return _one(documents.session_resource(found))


# Payments ---------------------------------------------------------------------------


@api_endpoint("POST")
def session_payments(request, body, session_id):
    _get(Session, session_id, "session")
    check = _no_attributes(body, ("externalId", "trigger"))
    external_id = check.string("externalId", required=True, blank=False)
    trigger = check.choice("trigger", Payment.Trigger.values, required=True)
    check.done()
    payment, created = services.payment_create(session_id=session_id, external_id=external_id,
                                               trigger=trigger)
    if payment.session_id != session_id:
        raise ValidationFailed([("/data/attributes/externalId",
                                 "This externalId already paid another session.")])
    status = 202 if payment.status == Payment.Status.PROCESSING and not created else 201
    return _one(documents.payment_resource(payment), status)


@api_endpoint("GET")
def recruit_payments(request, body, recruit_id):
    _get(Recruit, recruit_id, "recruit")
    return _payments_page(request, Payment.objects.filter(recruit_id=recruit_id))


@api_endpoint("GET")
def payments(request, body):
    return _payments_page(request, Payment.objects.all())


def _payments_page(request, queryset):
    filters = documents.list_filters(request, statuses=Payment.Status.values)
    queryset = _filtered(queryset, filters).order_by("created_at", "id")
    return Answer(200, documents.paged_document(request, queryset, documents.payment_resource))


@api_endpoint("GET")
def payment(request, body, payment_id):
    return _one(documents.payment_resource(_get(Payment, payment_id, "payment")))


# Webhook subscriptions --------------------------------------------------------------


@api_endpoint("GET", "POST")
def subscriptions(request, body):
    if request.method == "POST":
        check = _no_attributes(body, ("url", "eventTypes"))
        url = check.url("url")
        if not url:
            check.fail("url", "url is required.")
        event_types = check.attributes.get("eventTypes", [])
        if not isinstance(event_types, list) or any(
                t not in webhooks.EVENT_TYPES for t in event_types):
            check.fail("eventTypes", f"eventTypes must be a list of {', '.join(
                webhooks.EVENT_TYPES)}.")
        check.done()
        created = webhooks.subscription_create(url=url, event_types=event_types)
        return _one(documents.subscription_resource(created, with_secret=True), 201)
    documents.list_filters(request, allowed=())
    return Answer(200, documents.paged_document(request, WebhookSubscription.objects.all(),
                                                documents.subscription_resource))


@api_endpoint("GET", "DELETE")
def subscription(request, body, subscription_id):
    found = _get(WebhookSubscription, subscription_id, "webhook subscription")
    if request.method == "DELETE":
        found.delete()
        return Answer(204)
    return _one(documents.subscription_resource(found))


@api_endpoint("POST")
def subscription_secret_rotations(request, body, subscription_id):
    _get(WebhookSubscription, subscription_id, "webhook subscription")
    _no_attributes(body)
    rotated = webhooks.subscription_rotate_secret(subscription_id=subscription_id)
    return _one(documents.subscription_resource(rotated, with_secret=True), 201)


@api_endpoint("POST")
def subscription_tests(request, body, subscription_id):
    _get(WebhookSubscription, subscription_id, "webhook subscription")
    _no_attributes(body)
    delivery = webhooks.subscription_ping(subscription_id=subscription_id)
    return _one(documents.delivery_resource(delivery), 202)


@api_endpoint("GET")
def subscription_deliveries(request, body, subscription_id):
    _get(WebhookSubscription, subscription_id, "webhook subscription")
    documents.list_filters(request, allowed=())
    queryset = WebhookDelivery.objects.filter(subscription_id=subscription_id).select_related(
        "event").order_by("-created_at", "id")
    return Answer(200, documents.paged_document(request, queryset, documents.delivery_resource))


# Sandbox controls -------------------------------------------------------------------


@api_endpoint("POST", control=True)
def control_review(request, body, recruit_id):
    check = _no_attributes(body, ("outcome", "reason"))
    outcome = check.choice("outcome", ("approve", "decline"), required=True)
    reason = check.string("reason", max_length=1000, nullable=True)
    check.done()
    _get(Recruit, recruit_id, "recruit")
    return _recruit_doc(services.recruit_review_finish(recruit_id=recruit_id, outcome=outcome,
                                                       reason=reason or ""))


@api_endpoint("POST", control=True)
def control_applicants(request, body, recruit_id):
    check = _no_attributes(body, ("count", "viaDirectLink", "meetsCriteria", "seed"))
    count = check.integer("count", required=True, minimum=1, maximum=services.MAX_GENERATED)
    via_direct_link = check.boolean("viaDirectLink") or False
    meets = check.boolean("meetsCriteria")
    seed = check.integer("seed", minimum=0)
    check.done()
    _get(Recruit, recruit_id, "recruit")
    rows = services.applicants_generate(recruit_id=recruit_id, count=count,
                                        via_direct_link=via_direct_link,
                                        meets_criteria=True if meets is None else meets,
                                        seed=seed)
    return Answer(201, {"data": [documents.applicant_resource(row) for row in rows[:200]],
                        "meta": {"created": len(rows)}})


@api_endpoint("POST", control=True)
def control_book(request, body, applicant_id):
    check = _no_attributes(body, ("startsAt",))
    starts_at = check.string("startsAt", nullable=True)
    check.done()
    result = booking.applicant_book(applicant_id=applicant_id, starts_at=starts_at)
    return _one({"id": applicant_id, "type": "bookings", "attributes": result})


@api_endpoint("POST", control=True)
def control_submit(request, body, applicant_id):
    _no_attributes(body)
    _get(Applicant, applicant_id, "applicant")
    submitted, created_session = services.applicant_submit(applicant_id=applicant_id)
    return Answer(200, {"data": documents.applicant_resource(submitted),
                        "included": [documents.session_resource(created_session)]})


def clock_document():
    return {"data": {"id": "clock", "type": "clocks", "attributes": {
        "now": webhooks.iso(clock.now()), "offsetSeconds": clock.offset_seconds()}}}


@api_endpoint("GET", "POST", control=True)
def control_clock(request, body):
    if request.method == "POST":
        attributes = attributes_of(body)
        check = Checker(attributes, ("advanceHours",))
        hours = attributes.get("advanceHours")
        if isinstance(hours, bool) or not isinstance(hours, int | float) or \
                not 0 < hours <= 24 * 366:
            check.fail("advanceHours", "advanceHours must be a number above 0 (at most a year).")
        check.done()
        clock.advance(hours=hours)
    return Answer(200, clock_document())


def fault_resource(fault):
    return {"id": str(fault.id), "type": "faults", "attributes": {
        "path": fault.path, "method": fault.method or None, "status": fault.status,
        "timeout": fault.timeout or None, "remaining": fault.remaining}}


FAULT_STATUSES = (429, 500, 502, 503, 504)


def fault_create(*, path, method="", status=None, timeout="", count=1):
    return Fault.objects.create(path=path, method=method.upper(), status=status,
                                timeout=timeout, remaining=count, created_at=clock.now())


@api_endpoint("GET", "POST", "DELETE", control=True)
def control_faults(request, body):
    if request.method == "DELETE":
        Fault.objects.all().delete()
        return Answer(204)
    if request.method == "POST":
        attributes = attributes_of(body)
        check = Checker(attributes, ("path", "method", "status", "timeout", "count"))
        path = check.string("path", required=True, blank=False, max_length=300)
        method = check.choice("method", ("GET", "POST", "PATCH", "DELETE")) or ""
        status = check.integer("status")
        timeout = attributes.get("timeout")
        if timeout is True:
            timeout = "before"
        if timeout not in (None, False, "before", "after"):
            check.fail("timeout", 'timeout must be "before" or "after" (or true).')
        if status is not None and status not in FAULT_STATUSES:
            check.fail("status", f"status must be one of {FAULT_STATUSES}.")
        if (status is None) == (timeout in (None, False)):
            check.fail("status", "Give either a status or a timeout.")
        count = check.integer("count", minimum=1, maximum=1000) or 1
        if path and not path.startswith("/"):
            check.fail("path", "path starts with / (relative to the API root).")
        check.done()
        fault = fault_create(path=path, method=method, status=status,
                             timeout=timeout or "", count=count)
        return _one(fault_resource(fault), 201)
    faults = Fault.objects.filter(remaining__gt=0).order_by("created_at", "id")
    return Answer(200, {"data": [fault_resource(f) for f in faults]})


@transaction.atomic(durable=True)
def sandbox_reset():
    """Wipe every sandbox row and put the test clock back on the wall clock."""
    for model in (WebhookDelivery, WebhookEvent, WebhookSubscription, Payment, Session,
                  Applicant, Recruit, Fault, IdempotencyRecord, RateBucket):
        model.objects.all().delete()
    clock.reset()


@api_endpoint("POST", control=True)
def control_reset(request, body):
    _no_attributes(body)
    sandbox_reset()
    return Answer(200, {"meta": {"reset": True}})


@api_endpoint("POST", control=True)
def control_tick(request, body):
    _no_attributes(body)
    from sandbox import simulation

    return Answer(200, {"meta": simulation.tick()})


@api_endpoint("GET", "POST", "PATCH", "DELETE")
def not_found_view(request, body, unknown=""):
    raise ApiError(404, "not_found", "Not found", f"No endpoint at {request.path}.")


@api_endpoint("POST", control=True)
def control_history(request, body, recruit_id):
    try:
        recruit = history.recruit_history_upsert(recruit_id=recruit_id, body=attributes_of(body))
    except IntegrityError as error:  # a concurrent write took one of these ids first
        raise ApiError(409, "conflict", "Conflict", "Another request wrote these rows at the "
                       "same time; send the history again.") from error
    document = _recruit_doc(recruit).document
    document["meta"] = history.history_counts(recruit)
    return Answer(200, document)
