"""User Interviews' documents parsed strictly into frozen dataclasses (UI_API.md "Resources").

Every parser either returns a complete object or raises `MalformedResponse` naming the
JSON pointer it choked on: an unknown enum value, a wrong type or a missing required field
is never half-parsed. Money crosses the wire as integer cents and is a `Decimal` of
dollars everywhere in Rally; `money_from_wire`/`money_to_wire` are the only converters.
"""

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from recruitment.user_interviews.errors import MalformedResponse

CURRENCY = "USD"
CENTS = Decimal("0.01")

_MISSING = object()


# Enumerations (the contract's vocabularies; anything else is a parse error) ---------------


class CharacteristicType(enum.StrEnum):
    SINGLE_SELECT = "single_select"
    MULTI_SELECT = "multi_select"
    RANGE = "range"


class CharacteristicCategory(enum.StrEnum):
    PROFESSIONAL = "professional"
    ACCESSIBILITY = "accessibility"
    DEMOGRAPHIC = "demographic"
    TECHNOLOGY = "technology"


class AudienceType(enum.StrEnum):
    B2C = "b2c"
    B2B = "b2b"


class Feasibility(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFEASIBLE = "infeasible"


class StudyType(enum.StrEnum):
    INTERVIEW = "interview"
    GROUP_INTERVIEW = "group_interview"
    UNMODERATED_TASK = "unmoderated_task"


# Rally's study types as UI names them; surveys run as unmoderated tasks at UI.
STUDY_TYPE_FOR_RALLY = {
    "interview": StudyType.INTERVIEW,
    "group_interview": StudyType.GROUP_INTERVIEW,
    "unmoderated_test": StudyType.UNMODERATED_TASK,
    "survey": StudyType.UNMODERATED_TASK,
}


class RecruitStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    RECRUITING = "recruiting"
    PAUSED = "paused"
    FILLED = "filled"
    DECLINED = "declined"
    CLOSED = "closed"


class ApplicantSource(enum.StrEnum):
    PANEL = "panel"
    DIRECT_LINK = "direct_link"


class Qualification(enum.StrEnum):
    MANUAL_REVIEW = "manual_review"
    UNQUALIFIED = "unqualified"


class ApplicantStatus(enum.StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELED = "canceled"
    WITHDRAWN = "withdrawn"


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELED = "canceled"


class PaymentTrigger(enum.StrEnum):
    MANUAL = "manual"
    AUTO_24H = "auto_24h"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


# Money ------------------------------------------------------------------------------------


def money_to_wire(amount):
    """Decimal dollars → `{"amountCents": int, "currency": "USD"}`; refuses fractions of a cent."""
    amount = Decimal(amount)
    if amount != amount.quantize(CENTS):
        raise ValueError(f"{amount} is not a whole number of cents.")
    return {"amountCents": int(amount * 100), "currency": CURRENCY}


def money_from_wire(value, pointer="/amount"):
    """`{"amountCents": int, "currency": "USD"}` → Decimal dollars with two places."""
    reader = _Reader(value, pointer)
    cents = reader.int("amountCents")
    currency = reader.string("currency")
    if currency != CURRENCY:
        raise MalformedResponse(f"Unexpected currency {currency!r}.",
                                pointer=f"{pointer}/currency")
    return (Decimal(cents) / 100).quantize(CENTS)


# The strict reader ------------------------------------------------------------------------


class _Reader:
    """Reads one JSON object, raising `MalformedResponse` with a pointer on any surprise."""

    def __init__(self, value, pointer=""):
        if not isinstance(value, dict):
            raise MalformedResponse(f"Expected an object at {pointer or '/'}.", pointer=pointer)
        self.value = value
        self.pointer = pointer

    def _at(self, name):
        return f"{self.pointer}/{name}"

    def _get(self, name, optional):
        value = self.value.get(name, _MISSING)
        if value is _MISSING or value is None:
            if optional:
                return None
            raise MalformedResponse(f"Missing {self._at(name)}.", pointer=self._at(name))
        return value

    def _fail(self, name, expected):
        raise MalformedResponse(f"Expected {expected} at {self._at(name)}.",
                                pointer=self._at(name))

    def string(self, name, *, optional=False):
        value = self._get(name, optional)
        if value is not None and not isinstance(value, str):
            self._fail(name, "a string")
        return value

    def int(self, name, *, optional=False, minimum=None):
        value = self._get(name, optional)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self._fail(name, "an integer")
        if minimum is not None and value < minimum:
            self._fail(name, f"an integer ≥ {minimum}")
        return value

    def number(self, name, *, optional=False):
        value = self._get(name, optional)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._fail(name, "a number")
        return value

    def bool(self, name, *, optional=False, default=None):
        value = self._get(name, optional)
        if value is None:
            return default
        if not isinstance(value, bool):
            self._fail(name, "true or false")
        return value

    def enum(self, name, kind, *, optional=False):
        value = self.string(name, optional=optional)
        if value is None:
            return None
        try:
            return kind(value)
        except ValueError:
            raise MalformedResponse(f"Unknown value {value!r} at {self._at(name)}.",
                                    pointer=self._at(name)) from None

    def datetime(self, name, *, optional=False):
        value = self.string(name, optional=optional)
        if value is None:
            return None
        parsed = _parse_datetime(value)
        if parsed is None:
            self._fail(name, "an ISO-8601 time with a zone")
        return parsed

    def date(self, name, *, optional=False):
        value = self.string(name, optional=optional)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self._fail(name, "an ISO-8601 date")

    def object(self, name, *, optional=False):
        value = self._get(name, optional)
        if value is None:
            return None
        return _Reader(value, self._at(name))

    def list(self, name, *, optional=False):
        """The raw items with their pointers; `optional` lists default to empty."""
        value = self._get(name, optional)
        if value is None:
            return []
        if not isinstance(value, list):
            self._fail(name, "a list")
        return [(item, f"{self._at(name)}/{index}") for index, item in enumerate(value)]

    def strings(self, name, *, optional=False):
        items = []
        for item, pointer in self.list(name, optional=optional):
            if not isinstance(item, str):
                raise MalformedResponse(f"Expected a string at {pointer}.", pointer=pointer)
            items.append(item)
        return tuple(items)

    def enums(self, name, kind, *, optional=False):
        try:
            return tuple(kind(item) for item in self.strings(name, optional=optional))
        except ValueError as error:
            raise MalformedResponse(f"Unknown value at {self._at(name)}: {error}",
                                    pointer=self._at(name)) from None

    def money(self, name, *, optional=False):
        value = self._get(name, optional)
        if value is None:
            return None
        return money_from_wire(value, self._at(name))


def _parse_datetime(value):
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:  # the contract promises UTC; a naive time is a broken promise
        return None
    return parsed


@dataclass(frozen=True)
class _Resource:
    """The JSON:API envelope of one resource: `{"id", "type", "attributes", ...}`."""

    id: str
    attributes: _Reader
    relationships: dict

    def related_id(self, name, kind, *, optional=False):
        """The id a to-one relationship names: `{"data": {"type": kind, "id"}}`, or None for
        `{"data": null}` (or no such relationship) when `optional`."""
        pointer = f"/relationships/{name}"
        linkage = self.relationships.get(name, _MISSING)
        if linkage is not _MISSING:
            linkage = _Reader(linkage, pointer).value.get("data", _MISSING)
        if linkage is _MISSING or linkage is None:
            if optional:
                return None
            raise MalformedResponse(f"Missing the {name} relationship.", pointer=pointer)
        reader = _Reader(linkage, f"{pointer}/data")
        if reader.string("type") != kind:
            raise MalformedResponse(f"Expected a {kind!r} identifier at {pointer}/data.",
                                    pointer=f"{pointer}/data/type")
        identifier = reader.string("id")
        if not identifier:
            raise MalformedResponse("Empty id.", pointer=f"{pointer}/data/id")
        return identifier


def _resource(value, pointer, expected_type):
    reader = _Reader(value, pointer)
    kind = reader.string("type")
    if kind != expected_type:
        raise MalformedResponse(f"Expected a {expected_type!r} resource at {pointer}, "
                                f"got {kind!r}.", pointer=f"{pointer}/type")
    identifier = reader.string("id")
    if not identifier:
        raise MalformedResponse("Empty id.", pointer=f"{pointer}/id")
    attributes = reader.object("attributes")
    relationships = reader.object("relationships", optional=True)
    return _Resource(identifier, attributes, relationships.value if relationships else {})


def _single(document, expected_type, build):
    """Parse `{"data": {...}}` with `build(_Resource)`."""
    root = _Reader(document)
    return build(_resource(root.value.get("data"), "/data", expected_type))


# Resources --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    min: float
    max: float

    @classmethod
    def parse(cls, reader):
        low, high = reader.number("min"), reader.number("max")
        if low > high:
            raise MalformedResponse("A range's min is above its max.", pointer=reader.pointer)
        return cls(min=low, max=high)

    def to_wire(self):
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True)
class Choice:
    id: str
    label: str


@dataclass(frozen=True)
class Characteristic:
    id: str
    slug: str
    name: str
    type: CharacteristicType
    category: CharacteristicCategory
    audience_types: tuple[AudienceType, ...]
    choices: tuple[Choice, ...]
    range: Range | None

    @classmethod
    def from_resource(cls, resource):
        attributes = resource.attributes
        kind = attributes.enum("valueType", CharacteristicType)
        choices = []
        for item, pointer in attributes.list("choices", optional=True):
            choice = _Reader(item, pointer)
            choices.append(Choice(id=_choice_id(choice), label=choice.string("label")))
        range_reader = attributes.object("range", optional=True)
        value_range = Range.parse(range_reader) if range_reader else None
        if kind == CharacteristicType.RANGE and value_range is None:
            raise MalformedResponse("A range characteristic without a range.",
                                    pointer=f"{attributes.pointer}/range")
        if kind != CharacteristicType.RANGE and not choices:
            raise MalformedResponse("A select characteristic without choices.",
                                    pointer=f"{attributes.pointer}/choices")
        return cls(
            id=resource.id,
            slug=attributes.string("slug"),
            name=attributes.string("name"),
            type=kind,
            category=attributes.enum("category", CharacteristicCategory),
            audience_types=attributes.enums("audienceTypes", AudienceType),
            choices=tuple(choices),
            range=value_range,
        )


def _choice_id(choice):
    """Choice ids are opaque; the contract writes them as strings, some catalogs use numbers."""
    value = choice.value.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return choice.string("id")


@dataclass(frozen=True)
class Estimate:
    reach: int
    reach_below_threshold: bool
    feasibility: Feasibility
    estimated_days_to_fill: int | None

    @classmethod
    def from_resource(cls, resource):
        attributes = resource.attributes
        return cls(
            reach=attributes.int("reach", minimum=0),
            reach_below_threshold=attributes.bool("reachBelowThreshold", optional=True,
                                                  default=False),
            feasibility=attributes.enum("feasibility", Feasibility),
            estimated_days_to_fill=attributes.int("estimatedDaysToFill", optional=True,
                                                  minimum=0),
        )


@dataclass(frozen=True)
class RecruitCounts:
    applicants: int
    qualified: int
    approved: int
    scheduled: int
    completed: int
    no_show: int

    @classmethod
    def parse(cls, reader):
        return cls(
            applicants=reader.int("applicants", minimum=0),
            qualified=reader.int("qualified", minimum=0),
            approved=reader.int("approved", minimum=0),
            scheduled=reader.int("scheduled", minimum=0),
            completed=reader.int("completed", minimum=0),
            no_show=reader.int("noShow", minimum=0),
        )


@dataclass(frozen=True)
class RecruitBilling:
    """What UI reports when a recruit closes."""

    completed_sessions: int
    incentives: Decimal
    paid_payments: int

    @classmethod
    def parse(cls, reader):
        return cls(
            completed_sessions=reader.int("completedSessions", minimum=0),
            incentives=(Decimal(reader.int("incentivesCents", minimum=0)) / 100).quantize(CENTS),
            paid_payments=reader.int("paidPayments", minimum=0),
        )


@dataclass(frozen=True)
class Recruit:
    id: str
    external_id: str | None
    status: RecruitStatus
    study_type: StudyType
    num_participants: int
    duration_minutes: int | None
    compensation: Decimal | None
    internal_name: str | None
    public_title: str | None
    application_url: str | None
    declined_reason: str | None
    screener_version: int | None
    counts: RecruitCounts | None
    billing: RecruitBilling | None
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    closed_at: datetime | None
    intake_open: bool = True

    @classmethod
    def from_resource(cls, resource):
        attributes = resource.attributes
        counts = attributes.object("counts", optional=True)
        billing = attributes.object("billing", optional=True)
        screener = attributes.object("screener", optional=True)
        return cls(
            id=resource.id,
            external_id=attributes.string("externalId", optional=True),
            status=attributes.enum("status", RecruitStatus),
            study_type=attributes.enum("studyType", StudyType),
            num_participants=attributes.int("numParticipants", minimum=0),
            duration_minutes=attributes.int("durationMinutes", optional=True, minimum=0),
            compensation=attributes.money("compensation", optional=True),
            internal_name=attributes.string("internalName", optional=True),
            public_title=attributes.string("publicTitle", optional=True),
            application_url=attributes.string("applicationUrl", optional=True),
            declined_reason=attributes.string("declinedReason", optional=True),
            screener_version=screener.int("version", optional=True) if screener else None,
            counts=RecruitCounts.parse(counts) if counts else None,
            billing=RecruitBilling.parse(billing) if billing else None,
            created_at=attributes.datetime("createdAt"),
            updated_at=attributes.datetime("updatedAt"),
            launched_at=attributes.datetime("launchedAt", optional=True),
            closed_at=attributes.datetime("closedAt", optional=True),
            intake_open=attributes.bool("intakeOpen", optional=True, default=True),
        )


@dataclass(frozen=True)
class ApplicantParticipant:
    id: str
    first_name: str
    last_initial: str


@dataclass(frozen=True)
class ScreenerResponse:
    question_uid: str
    answer_uids: tuple[str, ...] | None
    text: str | None
    number: float | None
    date: date | None

    @classmethod
    def parse(cls, reader):
        answers = reader.strings("answerUids") if "answerUids" in reader.value else None
        response = cls(
            question_uid=reader.string("questionUid"),
            answer_uids=answers,
            text=reader.string("text", optional=True),
            number=reader.number("number", optional=True),
            date=reader.date("date", optional=True),
        )
        if (answers, response.text, response.number, response.date) == (None,) * 4:
            raise MalformedResponse("A screener response without an answer.",
                                    pointer=reader.pointer)
        return response

    def as_dict(self):
        """The JSON-ready form Rally stores on an application."""
        out = {"questionUid": self.question_uid}
        if self.answer_uids is not None:
            out["answerUids"] = list(self.answer_uids)
        if self.text is not None:
            out["text"] = self.text
        if self.number is not None:
            out["number"] = self.number
        if self.date is not None:
            out["date"] = self.date.isoformat()
        return out


@dataclass(frozen=True)
class CriterionMatch:
    characteristic: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, reader):
        values = []
        for item, pointer in reader.list("values", optional=True):
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise MalformedResponse(f"Expected a value at {pointer}.", pointer=pointer)
            values.append(str(item))
        return cls(characteristic=reader.string("characteristic"), values=tuple(values))

    def as_dict(self):
        return {"characteristic": self.characteristic, "values": list(self.values)}


def _criteria(reader, name):
    return tuple(CriterionMatch.parse(_Reader(item, pointer))
                 for item, pointer in reader.list(name, optional=True))


@dataclass(frozen=True)
class Applicant:
    id: str
    participant: ApplicantParticipant
    source: ApplicantSource
    screener_version: int | None
    screener_responses: tuple[ScreenerResponse, ...]
    matched_criteria: tuple[CriterionMatch, ...]
    unmet_criteria: tuple[CriterionMatch, ...]
    qualification: Qualification
    status: ApplicantStatus
    applied_at: datetime
    updated_at: datetime

    @classmethod
    def from_resource(cls, resource):
        attributes = resource.attributes
        person = attributes.object("participant")
        return cls(
            id=resource.id,
            participant=ApplicantParticipant(
                id=person.string("id"),
                first_name=person.string("firstName"),
                last_initial=person.string("lastInitial"),
            ),
            source=attributes.enum("source", ApplicantSource),
            screener_version=attributes.int("screenerVersion", optional=True),
            screener_responses=tuple(
                ScreenerResponse.parse(_Reader(item, pointer))
                for item, pointer in attributes.list("screenerResponses", optional=True)),
            matched_criteria=_criteria(attributes, "matchedCriteria"),
            unmet_criteria=_criteria(attributes, "unmetCriteria"),
            qualification=attributes.enum("qualification", Qualification),
            status=attributes.enum("status", ApplicantStatus),
            applied_at=attributes.datetime("appliedAt"),
            updated_at=attributes.datetime("updatedAt"),
        )


@dataclass(frozen=True)
class Session:
    id: str
    applicant_id: str
    starts_at: datetime
    ends_at: datetime
    status: SessionStatus
    group_session_id: str | None

    @classmethod
    def from_resource(cls, resource):
        attributes = resource.attributes
        starts_at, ends_at = attributes.datetime("startsAt"), attributes.datetime("endsAt")
        if ends_at <= starts_at:
            raise MalformedResponse("A session ending before it starts.",
                                    pointer=f"{attributes.pointer}/endsAt")
        return cls(
            id=resource.id,
            applicant_id=resource.related_id("applicant", "applicants"),
            starts_at=starts_at,
            ends_at=ends_at,
            status=attributes.enum("status", SessionStatus),
            group_session_id=resource.related_id("groupSession", "group_sessions",
                                                 optional=True),
        )


@dataclass(frozen=True)
class Payment:
    id: str
    session_id: str
    applicant_id: str
    amount: Decimal
    trigger: PaymentTrigger
    status: PaymentStatus
    provider: str
    provider_order_id: str | None
    external_id: str
    created_at: datetime
    paid_at: datetime | None

    @classmethod
    def from_resource(cls, resource):
        attributes = resource.attributes
        return cls(
            id=resource.id,
            session_id=resource.related_id("session", "sessions"),
            applicant_id=resource.related_id("applicant", "applicants"),
            amount=attributes.money("amount"),
            trigger=attributes.enum("trigger", PaymentTrigger),
            status=attributes.enum("status", PaymentStatus),
            provider=attributes.string("provider"),
            provider_order_id=attributes.string("providerOrderId", optional=True),
            external_id=attributes.string("externalId"),
            created_at=attributes.datetime("createdAt"),
            paid_at=attributes.datetime("paidAt", optional=True),
        )


@dataclass(frozen=True)
class WebhookSubscription:
    id: str
    url: str
    event_types: tuple[str, ...]
    secret: str | None  # only in the answers to create and to a secret rotation
    active: bool  # False once UI disabled it after a day of failed deliveries
    disabled_at: datetime | None

    @classmethod
    def from_resource(cls, resource):
        attributes = resource.attributes
        return cls(
            id=resource.id,
            url=attributes.string("url"),
            event_types=attributes.strings("eventTypes"),
            secret=attributes.string("secret", optional=True),
            active=attributes.bool("active", optional=True, default=True),
            disabled_at=attributes.datetime("disabledAt", optional=True),
        )


@dataclass(frozen=True)
class WebhookDelivery:
    id: str
    event_id: str
    event_type: str
    attempts: int
    response_status: int | None
    delivered: bool

    @classmethod
    def from_resource(cls, resource):
        attributes = resource.attributes
        return cls(
            id=resource.id,
            event_id=resource.related_id("event", "webhook_events"),
            event_type=attributes.string("eventType"),
            attempts=attributes.int("attempts", minimum=0),
            response_status=attributes.int("responseStatus", optional=True),
            delivered=attributes.bool("delivered"),
        )


# Lists ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page[T]:
    items: tuple[T, ...]
    current_page: int
    page_size: int
    total_pages: int
    total_count: int

    @property
    def is_last(self):
        return self.current_page >= self.total_pages


def parse_page(document, expected_type, build):
    """Parse a list document: every item with `build(_Resource)`, plus its pagination meta."""
    root = _Reader(document)
    items = tuple(build(_resource(item, pointer, expected_type))
                  for item, pointer in root.list("data"))
    pagination = root.object("meta").object("pagination")
    return Page(
        items=items,
        current_page=pagination.int("currentPage", minimum=1),
        page_size=pagination.int("pageSize", minimum=1),
        total_pages=pagination.int("totalPages", minimum=0),
        total_count=pagination.int("totalCount", minimum=0),
    )


def parse_one(document, expected_type, build):
    return _single(document, expected_type, build)


def parse_any(value: Any):
    """For callers that only need the body to be a JSON object (202 acknowledgements)."""
    return _Reader(value)
