"""Every state change in the sandbox: one transaction each, which also records the webhook
events the change causes. Transitions are written once, in the tables below.
"""

import random
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum

from rally import clock
from sandbox import population, screener
from sandbox.errors import ApiError, ValidationFailed, invalid_transition, locked_after_launch
from sandbox.models import Applicant, Payment, Recruit, Session
from sandbox.webhooks import changes, events_emit, iso

R = Recruit.Status
A = Applicant.Status
S = Session.Status
P = Payment.Status

# Recruit actions Rally may take (the sub-resource names) and where each leads.
RECRUIT_ACTIONS = {
    R.DRAFT: {"launches": R.PENDING_REVIEW, "closures": R.CLOSED},
    R.PENDING_REVIEW: {"closures": R.CLOSED},
    R.RECRUITING: {"pauses": R.PAUSED, "closures": R.CLOSED},
    R.FILLED: {"pauses": R.PAUSED, "closures": R.CLOSED},
    R.PAUSED: {"resumptions": R.RECRUITING, "closures": R.CLOSED},
    R.DECLINED: {},
    R.CLOSED: {},
}
# Moves UI makes itself: its review, and seats filling or freeing.
RECRUIT_SYSTEM_MOVES = {
    (R.PENDING_REVIEW, R.RECRUITING), (R.PENDING_REVIEW, R.DECLINED),
    (R.RECRUITING, R.FILLED), (R.FILLED, R.RECRUITING),
}
TERMINAL = (R.DECLINED, R.CLOSED)
LOCKED_AFTER_LAUNCH = {"audience": "audience", "compensation_cents": "compensation",
                       "study_type": "studyType"}

APPLICANT_MOVES = {
    A.APPLIED: {A.APPROVED, A.REJECTED, A.WITHDRAWN},
    A.APPROVED: {A.SCHEDULED, A.SUBMITTED, A.REJECTED, A.CANCELED, A.WITHDRAWN},
    A.SCHEDULED: {A.COMPLETED, A.NO_SHOW, A.CANCELED, A.WITHDRAWN},
    A.SUBMITTED: {A.COMPLETED, A.REJECTED},
    A.CANCELED: {A.SCHEDULED, A.APPROVED},  # approved again: a host's cancel keeps the seat
    A.NO_SHOW: {A.COMPLETED},
    A.COMPLETED: {A.NO_SHOW},
    A.REJECTED: set(),
    A.WITHDRAWN: set(),
}
APPLICANT_ACTIONS = {"approvals": A.APPROVED, "rejections": A.REJECTED}
# Applicants holding a seat: filled when these reach numParticipants.
SEAT_HOLDERS = (A.APPROVED, A.SCHEDULED, A.SUBMITTED, A.COMPLETED)

SESSION_ACTIONS = {"completions": S.COMPLETED, "no_shows": S.NO_SHOW,
                   "cancellations": S.CANCELED, "reschedules": S.SCHEDULED}
# A host may still mark a completed session no-show, and undo a no-show, until the session's
# incentive is paid or on its way (checked in `session_act`).
SESSION_MOVES = {S.SCHEDULED: {S.COMPLETED, S.NO_SHOW, S.CANCELED, S.SCHEDULED},
                 S.COMPLETED: {S.NO_SHOW}, S.NO_SHOW: {S.COMPLETED}, S.CANCELED: set()}
PAYMENT_MOVES = {P.PENDING: {P.PROCESSING, P.CANCELED}, P.PROCESSING: {P.PAID, P.FAILED},
                 P.PAID: set(), P.FAILED: set(), P.CANCELED: set()}
MAX_GENERATED = 10_000


def _lock(model, pk, kind):
    obj = model.objects.select_for_update().filter(pk=pk).first()
    if obj is None:
        raise ApiError(404, "not_found", "Not found", f"No such {kind}.")
    return obj


# Recruits ---------------------------------------------------------------------------


def recruit_allowed_actions(recruit):
    return sorted(RECRUIT_ACTIONS[recruit.status])


def _recruit_move(recruit, new, events, *, action=None):
    old = recruit.status
    allowed = RECRUIT_ACTIONS[old]
    if action is not None and allowed.get(action) != new:
        raise invalid_transition(f"A {old} recruit cannot take {action}.",
                                 recruit_allowed_actions(recruit))
    if action is None and (old, new) not in RECRUIT_SYSTEM_MOVES:
        raise invalid_transition(f"A recruit cannot move from {old} to {new}.",
                                 recruit_allowed_actions(recruit))
    recruit.status = new
    recruit.updated_at = clock.now()
    events.append(("recruit.status_changed", "recruits", recruit.id, recruit.id,
                   changes("status", old, new)))


def _seats_taken(recruit):
    return recruit.applicants.filter(status__in=SEAT_HOLDERS).count()


def _seats_refresh(recruit, events):
    """recruiting → filled when the seats are taken, or when Rally closes the intake because
    its participation limit is reached (SPEC R6); filled → recruiting when a seat frees and
    the intake is open."""
    if recruit.status not in (R.RECRUITING, R.FILLED):
        return
    full = not recruit.intake_open or _seats_taken(recruit) >= recruit.num_participants
    if full and recruit.status == R.RECRUITING:
        _recruit_move(recruit, R.FILLED, events)
    elif not full and recruit.status == R.FILLED:
        _recruit_move(recruit, R.RECRUITING, events)


def _reach(audience, study_type, num_participants):
    return population.reach_estimate(audience=audience, study_type=study_type,
                                     num_participants=num_participants)["reach"]


def recruit_create(*, attributes):
    """Create a recruit in draft; a known externalId returns the first one (created=False)."""
    external_id = attributes.get("external_id")
    if external_id:
        existing = Recruit.objects.filter(external_id=external_id).first()
        if existing:
            return existing, False
    try:
        return _recruit_insert(attributes), True
    except IntegrityError:
        existing = Recruit.objects.filter(external_id=external_id).first()
        if existing is None:
            raise
        return existing, False


@transaction.atomic(durable=True)
def _recruit_insert(attributes):
    now = clock.now()
    fields = {"public_title": attributes.get("internal_name", ""), **attributes}
    return Recruit.objects.create(created_at=now, updated_at=now, **fields)


@transaction.atomic(durable=True)
def recruit_update(*, recruit_id, attributes):
    recruit = _lock(Recruit, recruit_id, "recruit")
    if recruit.status in TERMINAL:
        raise invalid_transition(f"A {recruit.status} recruit cannot change.", [])
    events = []
    if recruit.status != R.DRAFT:
        for field, name in LOCKED_AFTER_LAUNCH.items():
            if field in attributes and attributes[field] != getattr(recruit, field):
                raise locked_after_launch(name)
        wanted = attributes.get("num_participants")
        if wanted is not None and wanted > recruit.num_participants:
            raise ValidationFailed([("/data/attributes/numParticipants",
                                     "After launch numParticipants may only decrease.")])
    questions = attributes.pop("screener_questions", None)
    version = attributes.pop("screener_version", None)
    if questions is not None and questions != recruit.screener_questions:
        recruit.screener_questions = questions
        recruit.screener_version = version or recruit.screener_version + 1
    for field, value in attributes.items():
        setattr(recruit, field, value)
    recruit.updated_at = clock.now()
    _seats_refresh(recruit, events)
    recruit.save()
    events_emit(events)
    return recruit


@transaction.atomic(durable=True)
def recruit_launch(*, recruit_id):
    recruit = _lock(Recruit, recruit_id, "recruit")
    events = []
    _recruit_move(recruit, R.PENDING_REVIEW, events, action="launches")
    recruit.launched_at = clock.now()
    recruit.reach = _reach(recruit.audience, recruit.study_type, recruit.num_participants)
    recruit.save()
    events_emit(events)
    return recruit


@transaction.atomic(durable=True)
def recruit_pause(*, recruit_id):
    recruit = _lock(Recruit, recruit_id, "recruit")
    events = []
    _recruit_move(recruit, R.PAUSED, events, action="pauses")
    recruit.save()
    events_emit(events)
    return recruit


@transaction.atomic(durable=True)
def recruit_resume(*, recruit_id):
    recruit = _lock(Recruit, recruit_id, "recruit")
    events = []
    _recruit_move(recruit, R.RECRUITING, events, action="resumptions")
    recruit.arrivals_checked_at = clock.now()
    _seats_refresh(recruit, events)
    recruit.save()
    events_emit(events)
    return recruit


@transaction.atomic(durable=True)
def recruit_close(*, recruit_id):
    """Close for good: future sessions are canceled and the billing is finalised."""
    recruit = _lock(Recruit, recruit_id, "recruit")
    events = []
    _recruit_move(recruit, R.CLOSED, events, action="closures")
    now = clock.now()
    for session in Session.objects.select_for_update().filter(
            recruit=recruit, status=S.SCHEDULED, starts_at__gt=now).select_related("applicant"):
        _session_move(session, S.CANCELED, events)
    paid = Payment.objects.filter(recruit=recruit, status=P.PAID)
    recruit.billing = {
        "completedSessions": Session.objects.filter(recruit=recruit,
                                                    status=S.COMPLETED).count(),
        "incentivesCents": paid.aggregate(total=Sum("amount_cents"))["total"] or 0,
        "paidPayments": paid.count(),
    }
    recruit.closed_at = now
    recruit.save()
    events.append(("recruit.billing_finalized", "recruits", recruit.id, recruit.id,
                   changes("billing", None, recruit.billing)))
    events_emit(events)
    return recruit


def recruit_review_decision(recruit):
    """UI's automatic review: (outcome, reason)."""
    if not recruit.public_description.strip():
        return "decline", ("The public description is empty: participants need to know what "
                           "the study asks of them.")
    if recruit.reach < population.REACH_THRESHOLD:
        return "decline", (f"Fewer than {population.REACH_THRESHOLD} panel members match this "
                           "audience; widen the criteria or the locations.")
    return "approve", ""


@transaction.atomic(durable=True)
def recruit_review_finish(*, recruit_id, outcome=None, reason=""):
    """Finish the review of a launched recruit (automatic when outcome is None)."""
    recruit = _lock(Recruit, recruit_id, "recruit")
    if recruit.status != R.PENDING_REVIEW:
        raise invalid_transition(f"Only a pending_review recruit is reviewed; this one is "
                                 f"{recruit.status}.", recruit_allowed_actions(recruit))
    if outcome is None:
        outcome, reason = recruit_review_decision(recruit)
    events = []
    if outcome == "approve":
        _recruit_move(recruit, R.RECRUITING, events)
        recruit.arrivals_checked_at = clock.now()
        recruit.population_seed = random.Random(recruit.id).randint(1, 2**31 - 1)
        _seats_refresh(recruit, events)  # Rally may have closed the intake meanwhile
    else:
        _recruit_move(recruit, R.DECLINED, events)
        recruit.declined_reason = reason or "Declined by User Interviews' review."
    recruit.save()
    events_emit(events)
    return recruit


@transaction.atomic(durable=True)
def recruit_intake_set(*, recruit_id, open):
    """Open or close the recruit's intake (Rally's participation limit, SPEC R6). Closed, no
    applicant arrives or is generated and a recruiting recruit is filled; reopened, it
    recruits again unless its own seats are taken. Setting it again is a no-op."""
    recruit = _lock(Recruit, recruit_id, "recruit")
    events = []
    if recruit.status in TERMINAL:
        raise invalid_transition(f"A {recruit.status} recruit takes no applicants.", [])
    if recruit.intake_open == open:
        return recruit
    recruit.intake_open = open
    recruit.updated_at = clock.now()
    if open:
        # Applicants arrive from now on, not for the time intake was closed.
        recruit.arrivals_checked_at = recruit.updated_at
    _seats_refresh(recruit, events)
    recruit.save()
    events_emit(events)
    return recruit


# Applicants -------------------------------------------------------------------------


def _applicant_move(applicant, new, events):
    old = applicant.status
    if new not in APPLICANT_MOVES[old]:
        allowed = sorted(a for a, to in APPLICANT_ACTIONS.items() if to in APPLICANT_MOVES[old])
        raise invalid_transition(f"An applicant who is {old} cannot become {new}.", allowed)
    applicant.status = new
    applicant.updated_at = clock.now()
    events.append(("applicant.status_changed", "applicants", applicant.id,
                   applicant.recruit_id, changes("status", old, new)))


@transaction.atomic(durable=True)
def applicant_approve(*, applicant_id, scheduling_url=None, task_url=None):
    applicant = _lock(Applicant, applicant_id, "applicant")
    recruit = Recruit.objects.select_for_update().get(pk=applicant.recruit_id)
    if recruit.status not in (R.RECRUITING, R.PAUSED, R.FILLED):
        raise invalid_transition(f"Applicants of a {recruit.status} recruit cannot be "
                                 "approved.", [])
    events = []
    _applicant_move(applicant, A.APPROVED, events)
    applicant.invitation_url = (task_url or scheduling_url or recruit.task_url
                                or recruit.scheduling_url or "")
    applicant.save()
    _seats_refresh(recruit, events)
    recruit.save()
    events_emit(events)
    return applicant


@transaction.atomic(durable=True)
def applicant_reject(*, applicant_id, reason=""):
    applicant = _lock(Applicant, applicant_id, "applicant")
    recruit = Recruit.objects.select_for_update().get(pk=applicant.recruit_id)
    events = []
    _applicant_move(applicant, A.REJECTED, events)
    applicant.rejection_reason = reason or ""
    applicant.save()
    _seats_refresh(recruit, events)
    recruit.save()
    events_emit(events)
    return applicant


def applicants_generate(*, recruit_id, count, via_direct_link=False, meets_criteria=True,
                        seed=None):
    """Applicants drawn from the synthetic panel (a sandbox control and the simulation)."""
    if not 1 <= count <= MAX_GENERATED:
        raise ValidationFailed([("/count", f"count must be between 1 and {MAX_GENERATED}.")])
    with transaction.atomic(durable=True):
        recruit = _lock(Recruit, recruit_id, "recruit")
        if recruit.status not in (R.RECRUITING, R.FILLED, R.PAUSED):
            raise invalid_transition(f"A {recruit.status} recruit takes no applicants.",
                                     recruit_allowed_actions(recruit))
        if not recruit.intake_open:
            raise invalid_transition("This recruit's intake is closed: it takes no "
                                     "applicants until Rally reopens it.",
                                     recruit_allowed_actions(recruit))
        return applicants_add(recruit, count, via_direct_link=via_direct_link,
                                  meets_criteria=meets_criteria, seed=seed)


def applicants_add(recruit, count, *, via_direct_link, meets_criteria, seed=None):
    """Add applicants to a recruit already locked by the caller's transaction."""
    now = clock.now()
    stream = recruit.population_seed if seed is None else seed
    start = recruit.members_drawn
    rows = []
    for index in range(start, start + count):
        member = population.member_draw(seed=stream, index=index, audience=recruit.audience,
                                        meets_criteria=meets_criteria or not via_direct_link)
        unqualified = via_direct_link and bool(member["unmetCriteria"])
        rows.append(Applicant(
            recruit=recruit, first_name=member["firstName"], last_initial=member["lastInitial"],
            country=member["country"], us_state=member["usState"] or "",
            source=Applicant.Source.DIRECT_LINK if via_direct_link else Applicant.Source.PANEL,
            screener_version=recruit.screener_version,
            screener_responses=screener.answers_draw(
                recruit.screener_questions, seed=f"{stream}:{index}", qualifies=not unqualified),
            matched_criteria=member["matchedCriteria"],
            unmet_criteria=member["unmetCriteria"] if via_direct_link else [],
            qualification=(Applicant.Qualification.UNQUALIFIED if unqualified
                           else Applicant.Qualification.MANUAL_REVIEW),
            # a microsecond apart, so lists keep the order the panel drew them in
            applied_at=now + timedelta(microseconds=index - start),
            updated_at=now + timedelta(microseconds=index - start)))
    Applicant.objects.bulk_create(rows, batch_size=1000)
    recruit.members_drawn = start + count
    recruit.updated_at = now
    recruit.save(update_fields=["members_drawn", "updated_at"])
    events_emit([("applicant.created", "applicants", row.id, recruit.id,
                  changes("status", None, row.status)) for row in rows])
    return rows


@transaction.atomic(durable=True)
def applicant_submit(*, applicant_id):
    """An unmoderated participant finished the task: submitted, with a session to complete."""
    applicant = _lock(Applicant, applicant_id, "applicant")
    recruit = Recruit.objects.select_for_update().get(pk=applicant.recruit_id)
    if recruit.study_type != Recruit.StudyType.UNMODERATED_TASK:
        raise invalid_transition("Only unmoderated recruits take submissions.", [])
    events = []
    _applicant_move(applicant, A.SUBMITTED, events)
    applicant.save()
    now = clock.now()
    session = Session.objects.create(
        recruit=recruit, applicant=applicant, created_at=now, updated_at=now,
        starts_at=now - timedelta(minutes=recruit.duration_minutes), ends_at=now)
    events.append(("session.scheduled", "sessions", session.id, recruit.id,
                   changes("status", None, session.status)))
    events_emit(events)
    return applicant, session


# Sessions ---------------------------------------------------------------------------


def _session_move(session, new, events):
    old = session.status
    if new not in SESSION_MOVES[old]:
        allowed = sorted(a for a, to in SESSION_ACTIONS.items() if to in SESSION_MOVES[old])
        raise invalid_transition(f"A {old} session cannot become {new}.", allowed)
    session.status = new
    session.updated_at = clock.now()
    session.save()
    if old != new:
        events.append(("session.status_changed", "sessions", session.id, session.recruit_id,
                       changes("status", old, new)))
        applicant = session.applicant
        follow = {S.COMPLETED: A.COMPLETED, S.NO_SHOW: A.NO_SHOW, S.CANCELED: A.CANCELED}[new]
        if applicant.status != follow and follow in APPLICANT_MOVES[applicant.status]:
            _applicant_move(applicant, follow, events)
            applicant.save()


@transaction.atomic(durable=True)
def session_create(*, recruit_id, applicant_id, starts_at, ends_at, group_session_id=""):
    """Rally tells UI of a booking. Repeating the same booking returns the same session."""
    recruit = _lock(Recruit, recruit_id, "recruit")
    applicant = Applicant.objects.select_for_update().filter(pk=applicant_id,
                                                             recruit=recruit).first()
    if applicant is None:
        raise ValidationFailed([("/data/relationships/applicant/data",
                                 "No such applicant on this recruit.")])
    if ends_at <= starts_at:
        raise ValidationFailed([("/data/attributes/endsAt", "endsAt must be after startsAt.")])
    if recruit.status in TERMINAL or recruit.status in (R.DRAFT, R.PENDING_REVIEW):
        raise invalid_transition(f"A {recruit.status} recruit takes no sessions.",
                                 recruit_allowed_actions(recruit))
    current = Session.objects.filter(applicant=applicant, status=S.SCHEDULED).first()
    if current is not None:
        if current.starts_at == starts_at and current.ends_at == ends_at:
            return current, False
        raise invalid_transition("This applicant already has a scheduled session; "
                                 "reschedule it instead.", ["reschedules"])
    events = []
    _applicant_move(applicant, A.SCHEDULED, events)
    applicant.save()
    now = clock.now()
    session = Session.objects.create(recruit=recruit, applicant=applicant, starts_at=starts_at,
                                     ends_at=ends_at, group_session_id=group_session_id or "",
                                     created_at=now, updated_at=now)
    events.append(("session.scheduled", "sessions", session.id, recruit.id,
                   changes("status", None, session.status)))
    _seats_refresh(recruit, events)
    recruit.save()
    events_emit(events)
    return session, True


@transaction.atomic(durable=True)
def session_act(*, session_id, action, starts_at=None, ends_at=None, keep_seat=False):
    """completions, no_shows, cancellations or reschedules of one session. A cancellation
    with `keep_seat` (the host canceled; the participant books another time) leaves the
    applicant approved instead of canceled."""
    session = _lock(Session, session_id, "session")
    recruit = Recruit.objects.select_for_update().get(pk=session.recruit_id)
    session.applicant = Applicant.objects.select_for_update().get(pk=session.applicant_id)
    events = []
    if action == "reschedules":
        if session.status != S.SCHEDULED:
            _session_move(session, S.SCHEDULED, events)  # raises with the allowed actions
        if ends_at <= starts_at:
            raise ValidationFailed([("/data/attributes/endsAt",
                                     "endsAt must be after startsAt.")])
        old = {"startsAt": iso(session.starts_at), "endsAt": iso(session.ends_at)}
        session.starts_at, session.ends_at = starts_at, ends_at
        session.updated_at = clock.now()
        session.save()
        events.append(("session.status_changed", "sessions", session.id, recruit.id,
                       [{"field": "startsAt", "from": old["startsAt"], "to": iso(starts_at)},
                        {"field": "endsAt", "from": old["endsAt"], "to": iso(ends_at)}]))
    else:
        if session.status in (S.COMPLETED, S.NO_SHOW) and session.payments.exclude(
                status__in=[P.FAILED, P.CANCELED]).exists():
            raise invalid_transition(f"A {session.status} session whose incentive was paid "
                                     f"cannot change.", [])
        _session_move(session, SESSION_ACTIONS[action], events)
        if keep_seat and action == "cancellations" and session.applicant.status == A.CANCELED:
            _applicant_move(session.applicant, A.APPROVED, events)
            session.applicant.save()
        _seats_refresh(recruit, events)
        recruit.save()
    events_emit(events)
    return session


# Payments ---------------------------------------------------------------------------


def payment_create(*, session_id, external_id, trigger):
    """Pay a session's incentive; the same externalId always returns the first payment.

    Returns (payment, created).
    """
    try:  # the same externalId again is answered under the session's lock, below
        return _payment_insert(session_id=session_id, external_id=external_id, trigger=trigger)
    except IntegrityError:
        existing = Payment.objects.filter(external_id=external_id).first()
        if existing is None:
            raise invalid_transition("This session already has a payment.", []) from None
        return existing, False


@transaction.atomic(durable=True)
def _payment_insert(*, session_id, external_id, trigger):
    session = Session.objects.select_for_update(of=("self",)).select_related(
        "applicant", "recruit").filter(pk=session_id).first()
    if session is None:
        raise ApiError(404, "not_found", "Not found", "No such session.")
    # Under the session lock, one read answers both: this externalId's payment (a racing
    # or repeated request), and the session's live payment, if any.
    known = list(Payment.objects.filter(
        Q(external_id=external_id)
        | (Q(session=session) & ~Q(status__in=[P.FAILED, P.CANCELED]))))
    existing = next((p for p in known if p.external_id == external_id), None)
    if existing is not None:
        return existing, False
    applicant, recruit = session.applicant, session.recruit
    if session.status in (S.NO_SHOW, S.CANCELED) or applicant.status == A.REJECTED:
        reason = "rejected" if applicant.status == A.REJECTED else session.status
        raise invalid_transition(f"A {reason} session is not paid.", [])
    live = next(iter(known), None)
    if live is not None:
        raise invalid_transition(f"This session is already paid by {live.id} "
                                 f"(externalId {live.external_id}).", [])
    now = clock.now()
    payment = Payment.objects.create(
        session=session, applicant=applicant, recruit=recruit, external_id=external_id,
        amount_cents=recruit.compensation_cents, currency=recruit.currency, trigger=trigger,
        created_at=now, updated_at=now)
    events_emit([("payment.status_changed", "payments", payment.id, recruit.id,
                  changes("status", None, payment.status))])
    return payment, True


def payments_advance(*, limit=500):
    """One step for each unfinished payment: pending → processing → paid (or failed)."""
    moved = 0
    with transaction.atomic():
        events = []
        rows = list(Payment.objects.select_for_update(skip_locked=True).filter(
            status__in=[P.PENDING, P.PROCESSING]).order_by("updated_at")[:limit])
        now = clock.now()
        for payment in rows:
            old = payment.status
            if old == P.PENDING:
                payment.status = P.PROCESSING
                payment.provider_order_id = "TRM-" + payment.id[4:14].upper()
            else:
                roll = random.Random(f"{payment.id}:outcome").random()
                if roll < settings.SANDBOX_PAYMENT_FAILURE_RATE:
                    payment.status = P.FAILED
                    payment.failure_reason = "Tremendous refused the order (simulated)."
                else:
                    payment.status = P.PAID
                    payment.paid_at = now
            payment.updated_at = now
            payment.save()
            events.append(("payment.status_changed", "payments", payment.id,
                           payment.recruit_id, changes("status", old, payment.status)))
            moved += 1
        events_emit(events)
    return moved
