"""A sandbox-only control: write a recruit's history with the ids the caller gives.

Rally's demo seed invents a past (recruits, applicants, sessions, payments) that never went
through the sandbox; this puts the same history here under the same ids, so what Rally
does next with those studies (pay a session, retry a payout, pause a recruit, poll) meets a
UI that knows them. It is an upsert by id: the same body twice leaves the same rows. It
emits no webhook events (Rally already knows this history) and checks everything before
writing anything: a bad body answers 400 with every problem and changes nothing.
"""

import random
import re

from django.db import transaction
from django.db.models import Q

from rally import clock
from sandbox import population
from sandbox.errors import ApiError, ValidationFailed
from sandbox.models import Applicant, Payment, Recruit, Session
from sandbox.validation import STUDY_TYPES, audience_clean, parse_timestamp

ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")
MAX_ROWS = 2000
DEFAULT_AUDIENCE = {"type": "b2c", "countries": ["US"], "usStates": [], "criteria": []}
LIVE_PAYMENT = (Payment.Status.PENDING, Payment.Status.PROCESSING, Payment.Status.PAID)
LAUNCHED = (Recruit.Status.RECRUITING, Recruit.Status.PAUSED, Recruit.Status.FILLED,
            Recruit.Status.CLOSED, Recruit.Status.DECLINED)

RECRUIT_FIELDS = ("externalId", "internalName", "studyType", "status", "numParticipants",
                  "durationMinutes", "compensationCents", "audience", "intakeOpen")
APPLICANT_FIELDS = ("id", "participantId", "firstName", "lastInitial", "status", "source",
                    "qualification", "country", "appliedAt", "updatedAt", "screenerVersion",
                    "screenerResponses", "matchedCriteria", "unmetCriteria")
SESSION_FIELDS = ("id", "applicantId", "startsAt", "endsAt", "status")
PAYMENT_FIELDS = ("id", "sessionId", "externalId", "amountCents", "status", "trigger")


KIND_PROBLEMS = {
    "id": "must be an id of 1-40 letters, digits, _ or -.",
    "string": "must be a non-blank string of at most 200 characters.",
    "int": "must be an integer.",
    "time": "must be an ISO-8601 time with a zone.",
    "objects": "must be a list of objects.",
}


class BadHistory(ApiError):
    """400: the history body is wrong; one error object per problem, with its pointer."""

    def __init__(self, problems):
        self.problems = problems  # [(pointer, detail)]
        super().__init__(400, "bad_history", "Bad history", problems[0][1],
                         pointer=problems[0][0])

    def as_document(self):
        return {"errors": [{"status": "400", "code": "bad_history", "title": "Bad history",
                            "detail": detail, "source": {"pointer": pointer}}
                           for pointer, detail in self.problems]}


class _Reader:
    """Typed reads of one object of the body, collecting problems under its pointer."""

    def __init__(self, value, pointer, allowed, problems):
        self.pointer, self.problems = pointer, problems
        self.value = value if isinstance(value, dict) else {}
        if not isinstance(value, dict):
            self.fail("", "must be an object.")
            return
        for name in value:
            if name not in allowed:
                self.fail(f"/{name}", f"Unknown attribute {name!r}.")

    def fail(self, where, detail):
        name = where.rsplit("/", 1)[-1]
        self.problems.append((f"{self.pointer}{where}",
                              f"{name} {detail}" if name else f"{self.pointer} {detail}"))

    def get(self, name, kind, *, required=True, default=None, check=None, hint=""):
        if name not in self.value:
            if required:
                self.fail(f"/{name}", "is required.")
            return default
        value = self.value[name]
        ok = {
            "id": lambda v: isinstance(v, str) and ID_PATTERN.fullmatch(v),
            "string": lambda v: isinstance(v, str) and v.strip() and len(v) <= 200,
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "time": lambda v: isinstance(v, str) and parse_timestamp(v) is not None,
            "objects": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
        }[kind](value)
        if ok and check is not None:
            ok = check(value)
        if not ok:
            self.fail(f"/{name}", hint or KIND_PROBLEMS[kind])
            return default
        return parse_timestamp(value) if kind == "time" else value

    def choice(self, name, choices, *, required=True, default=None):
        return self.get(name, "string", required=required, default=default,
                        check=lambda v: v in choices,
                        hint=f"must be one of {', '.join(choices)}.")


def _list(body, name, problems):
    value = body.get(name, [])
    if not isinstance(value, list):
        problems.append((f"/{name}", f"{name} must be a list."))
        return []
    if len(value) > MAX_ROWS:
        problems.append((f"/{name}", f"{name} holds at most {MAX_ROWS} rows."))
        return []
    return value


def history_clean(recruit_id, body):
    """The body as model values, or BadHistory listing every problem."""
    problems = []
    if not isinstance(body, dict):
        raise BadHistory([("", "The body must be a JSON object.")])
    for name in body:
        if name not in ("recruit", "applicants", "sessions", "payments"):
            problems.append((f"/{name}", f"Unknown member {name!r}."))
    recruit = _recruit_clean(recruit_id, body.get("recruit"), problems)
    applicants = [_applicant_clean(item, f"/applicants/{index}", problems)
                  for index, item in enumerate(_list(body, "applicants", problems))]
    sessions = [_session_clean(item, f"/sessions/{index}", problems)
                for index, item in enumerate(_list(body, "sessions", problems))]
    payments = [_payment_clean(item, f"/payments/{index}", problems)
                for index, item in enumerate(_list(body, "payments", problems))]
    if not problems:
        _references_check(recruit_id, recruit, applicants, sessions, payments, problems)
    if problems:
        raise BadHistory(problems)
    return recruit, applicants, sessions, payments


def _recruit_clean(recruit_id, value, problems):
    if value is None:
        problems.append(("/recruit", "recruit is required."))
        return {}
    read = _Reader(value, "/recruit", RECRUIT_FIELDS, problems)
    out = {
        "external_id": read.get("externalId", "string", required=False),
        "internal_name": read.get("internalName", "string", required=False, default=""),
        "study_type": read.choice("studyType", STUDY_TYPES),
        "status": read.choice("status", Recruit.Status.values),
        "num_participants": read.get("numParticipants", "int", check=lambda v: 1 <= v <= 1000,
                                     hint="must be between 1 and 1000."),
        "duration_minutes": read.get("durationMinutes", "int", required=False, default=30,
                                     check=lambda v: 5 <= v <= 480,
                                     hint="must be between 5 and 480."),
        "compensation_cents": read.get("compensationCents", "int", required=False, default=0,
                                       check=lambda v: v >= 0,
                                       hint="must be 0 or more."),
        "audience": DEFAULT_AUDIENCE,
        "intake_open": read.value.get("intakeOpen", True) is not False,
    }
    if not isinstance(read.value.get("intakeOpen", True), bool):
        problems.append(("/recruit/intakeOpen", "intakeOpen must be true or false."))
    if "audience" in read.value:
        try:
            out["audience"] = audience_clean(read.value["audience"], "/recruit/audience")
        except ValidationFailed as error:
            problems.extend(error.problems)
    if not ID_PATTERN.fullmatch(recruit_id):
        problems.append(("/recruit", "The recruit id must be 1-40 letters, digits, _ or -."))
    return out


def _applicant_clean(value, pointer, problems):
    read = _Reader(value, pointer, APPLICANT_FIELDS, problems)
    applied_at = read.get("appliedAt", "time")
    out = {
        "id": read.get("id", "id"),
        "participant_id": read.get("participantId", "id"),
        "first_name": read.get("firstName", "string"),
        "last_initial": read.get("lastInitial", "string", check=lambda v: len(v) == 1,
                                 hint="must be one character."),
        "status": read.choice("status", Applicant.Status.values),
        "source": read.choice("source", Applicant.Source.values, required=False,
                              default=Applicant.Source.PANEL),
        "qualification": read.choice("qualification", Applicant.Qualification.values,
                                     required=False,
                                     default=Applicant.Qualification.MANUAL_REVIEW),
        "country": read.choice("country", sorted(population.VALID_COUNTRIES), required=False,
                                    default="US"),
        "applied_at": applied_at,
        "updated_at": read.get("updatedAt", "time", required=False, default=applied_at),
        "screener_version": read.get("screenerVersion", "int", required=False, default=1,
                                     check=lambda v: v >= 1,
                                     hint="must be at least 1."),
        "screener_responses": read.get("screenerResponses", "objects", required=False,
                                       default=[]),
        "matched_criteria": read.get("matchedCriteria", "objects", required=False, default=[]),
        "unmet_criteria": read.get("unmetCriteria", "objects", required=False, default=[]),
    }
    if applied_at and out["updated_at"] and out["updated_at"] < applied_at:
        read.fail("/updatedAt", "must not be before appliedAt.")
    return out


def _session_clean(value, pointer, problems):
    read = _Reader(value, pointer, SESSION_FIELDS, problems)
    out = {"id": read.get("id", "id"), "applicant_id": read.get("applicantId", "id"),
           "starts_at": read.get("startsAt", "time"), "ends_at": read.get("endsAt", "time"),
           "status": read.choice("status", Session.Status.values)}
    if out["starts_at"] and out["ends_at"] and out["ends_at"] <= out["starts_at"]:
        read.fail("/endsAt", "must be after startsAt.")
    return out


def _payment_clean(value, pointer, problems):
    read = _Reader(value, pointer, PAYMENT_FIELDS, problems)
    return {"id": read.get("id", "id"), "session_id": read.get("sessionId", "id"),
            "external_id": read.get("externalId", "string"),
            "amount_cents": read.get("amountCents", "int", check=lambda v: v >= 0,
                                     hint="must be a whole number of cents, "
                                          "0 or more."),
            "status": read.choice("status", Payment.Status.values),
            "trigger": read.choice("trigger", Payment.Trigger.values, required=False,
                                   default=Payment.Trigger.MANUAL)}


def _duplicates(rows, key, pointer, problems):
    seen = set()
    for index, row in enumerate(rows):
        if row[key] in seen:
            problems.append((f"/{pointer}/{index}/{key}", f"{row[key]} appears twice."))
        seen.add(row[key])


def _references_check(recruit_id, recruit, applicants, sessions, payments, problems):
    """Ids that would belong to two recruits, sessions of unknown applicants, and so on."""
    _duplicates(applicants, "id", "applicants", problems)
    _duplicates(sessions, "id", "sessions", problems)
    _duplicates(payments, "id", "payments", problems)
    _duplicates(payments, "external_id", "payments", problems)
    if recruit["external_id"] and Recruit.objects.filter(
            external_id=recruit["external_id"]).exclude(pk=recruit_id).exists():
        problems.append(("/recruit/externalId", "Another recruit has this externalId."))
    for kind, model, rows in (("applicants", Applicant, applicants),
                              ("sessions", Session, sessions),
                              ("payments", Payment, payments)):
        elsewhere = set(model.objects.filter(pk__in=[r["id"] for r in rows])
                        .exclude(recruit_id=recruit_id).values_list("pk", flat=True))
        for index, row in enumerate(rows):
            if row["id"] in elsewhere:
                problems.append((f"/{kind}/{index}/id",
                                 f"{row['id']} belongs to another recruit."))
    applicant_ids = {r["id"] for r in applicants} | set(
        Applicant.objects.filter(recruit_id=recruit_id).values_list("pk", flat=True))
    for index, row in enumerate(sessions):
        if row["applicant_id"] not in applicant_ids:
            problems.append((f"/sessions/{index}/applicantId",
                             f"No applicant {row['applicant_id']} on this recruit."))
    session_ids = {r["id"] for r in sessions} | set(
        Session.objects.filter(recruit_id=recruit_id).values_list("pk", flat=True))
    taken = dict(Payment.objects.filter(external_id__in=[r["external_id"] for r in payments])
                 .values_list("external_id", "pk"))
    live = {}
    for index, row in enumerate(payments):
        if row["session_id"] not in session_ids:
            problems.append((f"/payments/{index}/sessionId",
                             f"No session {row['session_id']} on this recruit."))
        if taken.get(row["external_id"], row["id"]) != row["id"]:
            problems.append((f"/payments/{index}/externalId",
                             "Another payment has this externalId."))
        if row["status"] in LIVE_PAYMENT:
            if row["session_id"] in live:
                problems.append((f"/payments/{index}/status",
                                 f"Session {row['session_id']} already has a live payment "
                                 f"({live[row['session_id']]})."))
            live[row["session_id"]] = row["id"]
    others = Payment.objects.filter(session_id__in=list(live), status__in=LIVE_PAYMENT).exclude(
        pk__in=[r["id"] for r in payments])
    for other in others:
        problems.append(("/payments", f"Session {other.session_id} already has a live payment "
                                      f"({other.pk})."))


@transaction.atomic(durable=True)
def recruit_history_upsert(*, recruit_id, body):
    """Write the history (see the module's docstring); returns the recruit."""
    recruit_values, applicants, sessions, payments = history_clean(recruit_id, body)
    now = clock.now()
    # One writer at a time per recruit: a concurrent upsert of the same id waits here.
    existing = Recruit.objects.select_for_update().filter(pk=recruit_id).first()
    reach = population.reach_estimate(audience=recruit_values["audience"],
                                      study_type=recruit_values["study_type"],
                                      num_participants=recruit_values["num_participants"])["reach"]
    started = min([a["applied_at"] for a in applicants], default=now)
    launched = recruit_values["status"] in LAUNCHED
    defaults = {**recruit_values, "public_title": recruit_values["internal_name"],
                "reach": reach, "updated_at": now}
    if existing is None:
        recruit = Recruit.objects.create(
            id=recruit_id, created_at=started, arrivals_checked_at=now,
            launched_at=started if launched else None,
            population_seed=random.Random(recruit_id).randint(1, 2**31 - 1), **defaults)
    else:
        recruit = existing
        for field, value in defaults.items():
            setattr(recruit, field, value)
    if recruit.status == Recruit.Status.CLOSED and recruit.closed_at is None:
        recruit.closed_at = now
    recruit.save()
    for row in applicants:
        Applicant.objects.update_or_create(id=row["id"], defaults={**row, "recruit": recruit})
    for row in sessions:
        Session.objects.update_or_create(id=row["id"], defaults={
            **row, "recruit": recruit, "created_at": row["starts_at"], "updated_at": now})
    by_session = {s.pk: s for s in Session.objects.filter(
        pk__in=[p["session_id"] for p in payments])}
    for row in payments:
        session = by_session[row["session_id"]]
        paid = row["status"] == Payment.Status.PAID
        Payment.objects.update_or_create(id=row["id"], defaults={
            **row, "recruit": recruit, "applicant_id": session.applicant_id,
            "created_at": session.ends_at, "updated_at": now,
            "paid_at": session.ends_at if paid else None,
            "provider_order_id": "TRM-" + row["id"][4:14].upper()
            if row["status"] != Payment.Status.PENDING else ""})
    return recruit


def history_counts(recruit):
    """What the recruit holds now (the control's answer)."""
    return {"applicants": recruit.applicants.count(), "sessions": recruit.sessions.count(),
            "payments": recruit.payments.count(),
            "livePayments": recruit.payments.filter(
                Q(status__in=LIVE_PAYMENT)).count()}
