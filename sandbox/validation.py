"""Strict parsing of what Rally sends: every attribute typed, unknown ones refused (422).

Request bodies may be JSON:API documents (`{"data": {"attributes": {...}}}`) or the plain
attribute object; both read the same.
"""

import zoneinfo
from datetime import datetime
from urllib.parse import urlsplit

from sandbox.catalog import BY_SLUG
from sandbox.errors import ValidationFailed, malformed
from sandbox.population import US_STATE_POPULATION, VALID_COUNTRIES

STUDY_TYPES = ("interview", "group_interview", "unmoderated_task")
ROOT = "/data/attributes"


def attributes_of(body):
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise malformed("The body must be a JSON object.")
    if "data" in body:
        data = body["data"]
        if not isinstance(data, dict):
            raise malformed("`data` must be an object.", "/data")
        attributes = data.get("attributes", {})
        if not isinstance(attributes, dict):
            raise malformed("`data.attributes` must be an object.", ROOT)
        return attributes
    return body


def related_id(body, check, name, kind, *, required=False):
    """The id a to-one relationship of a JSON:API request names (`{"data": {"type": kind,
    "id"}}`, or `{"data": null}`); problems are added to `check` with their pointer."""
    pointer = f"/data/relationships/{name}"
    data = body.get("data") if isinstance(body, dict) else None
    relationships = data.get("relationships", {}) if isinstance(data, dict) else {}
    if not isinstance(relationships, dict):
        check.problems.append(("/data/relationships", "relationships must be an object."))
        return None
    if name not in relationships:
        if required:
            check.problems.append((pointer, f"The {name} relationship is required."))
        return None
    linkage = relationships[name]
    if not isinstance(linkage, dict) or "data" not in linkage:
        check.problems.append((pointer, f"{name} must be {{\"data\": …}}."))
        return None
    identifier = linkage["data"]
    if identifier is None and not required:
        return None
    if not (isinstance(identifier, dict) and identifier.get("type") == kind
            and isinstance(identifier.get("id"), str) and identifier["id"].strip()
            and len(identifier["id"]) <= 100):
        check.problems.append((f"{pointer}/data",
                               f"{name} must name one {kind} resource: {{type, id}}."))
        return None
    return identifier["id"]


class Checker:
    """Collects problems so one answer lists all of them."""

    def __init__(self, attributes, allowed):
        self.attributes = attributes
        self.problems = []
        for name in attributes:
            if name not in allowed:
                self.fail(name, f"Unknown attribute {name!r}.")

    def fail(self, name, detail):
        self.problems.append((f"{ROOT}/{name}", detail))

    def done(self):
        if self.problems:
            raise ValidationFailed(self.problems)

    def has(self, name):
        return name in self.attributes

    def string(self, name, *, required=False, max_length=200, blank=True, nullable=False):
        if name not in self.attributes:
            if required:
                self.fail(name, f"{name} is required.")
            return None
        value = self.attributes[name]
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.fail(name, f"{name} must be a string.")
            return None
        if len(value) > max_length:
            self.fail(name, f"{name} is longer than {max_length} characters.")
        if not blank and not value.strip():
            self.fail(name, f"{name} must not be blank.")
        return value

    def integer(self, name, *, required=False, minimum=None, maximum=None):
        if name not in self.attributes:
            if required:
                self.fail(name, f"{name} is required.")
            return None
        value = self.attributes[name]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"{name} must be an integer.")
            return None
        if minimum is not None and value < minimum:
            self.fail(name, f"{name} must be at least {minimum}.")
        if maximum is not None and value > maximum:
            self.fail(name, f"{name} must be at most {maximum}.")
        return value

    def boolean(self, name):
        value = self.attributes.get(name)
        if name in self.attributes and not isinstance(value, bool):
            self.fail(name, f"{name} must be true or false.")
            return None
        return value

    def choice(self, name, choices, *, required=False):
        value = self.string(name, required=required)
        if value is not None and value not in choices:
            self.fail(name, f"{name} must be one of {', '.join(choices)}.")
            return None
        return value

    def url(self, name):
        value = self.string(name, max_length=1000, nullable=True)
        if value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.fail(name, f"{name} must be an http(s) URL.")
                return None
        return value

    def timestamp(self, name, *, required=False):
        value = self.string(name, required=required)
        if value is None:
            return None
        parsed = parse_timestamp(value)
        if parsed is None:
            self.fail(name, f"{name} must be an ISO-8601 time with a zone.")
        return parsed


def parse_timestamp(value):
    if isinstance(value, str) and " " in value.strip():
        value = value.strip().replace(" ", "+")  # an unencoded "+" in a query string
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo else None


def _money(checker, name):
    if name not in checker.attributes:
        return None
    value = checker.attributes[name]
    if not isinstance(value, dict) or set(value) - {"amountCents", "currency"}:
        checker.fail(name, f"{name} must be {{amountCents, currency}}.")
        return None
    cents = value.get("amountCents")
    if isinstance(cents, bool) or not isinstance(cents, int) or cents < 0:
        checker.fail(name, "amountCents must be a whole number of cents, 0 or more.")
        return None
    currency = value.get("currency", "USD")
    if currency != "USD":
        checker.fail(name, "Only USD is supported.")
        return None
    return {"amountCents": cents, "currency": currency}


def audience_clean(value, pointer=f"{ROOT}/audience"):
    """Validate an audience; returns it normalised or raises ValidationFailed."""
    problems = []

    def fail(where, detail):
        problems.append((f"{pointer}{where}", detail))

    if not isinstance(value, dict):
        raise ValidationFailed([(pointer, "audience must be an object.")])
    unknown = set(value) - {"type", "countries", "usStates", "criteria"}
    for name in sorted(unknown):
        fail(f"/{name}", f"Unknown audience attribute {name!r}.")
    kind = value.get("type")
    if kind not in ("b2c", "b2b"):
        fail("/type", "type must be b2c or b2b.")
    countries = value.get("countries", [])
    if not isinstance(countries, list) or not all(isinstance(c, str) for c in countries):
        fail("/countries", "countries must be a list of ISO 3166-1 alpha-2 codes.")
        countries = []
    for index, code in enumerate(countries):
        if code not in VALID_COUNTRIES:
            fail(f"/countries/{index}", f"Unknown country code {code!r}.")
    states = value.get("usStates", [])
    if not isinstance(states, list) or not all(isinstance(s, str) for s in states):
        fail("/usStates", "usStates must be a list of USPS codes.")
        states = []
    for index, code in enumerate(states):
        if code not in US_STATE_POPULATION:
            fail(f"/usStates/{index}", f"Unknown US state code {code!r}.")
    if states and countries and "US" not in countries:
        fail("/usStates", "usStates needs US among the countries.")
    criteria = value.get("criteria", [])
    if not isinstance(criteria, list):
        fail("/criteria", "criteria must be a list.")
        criteria = []
    cleaned, seen = [], set()
    for index, criterion in enumerate(criteria):
        where = f"/criteria/{index}"
        item = _criterion_clean(criterion, kind, lambda d, w=where: fail(w, d))
        if item is None:
            continue
        if item["characteristic"] in seen:
            fail(where, f"{item['characteristic']} appears twice.")
            continue
        seen.add(item["characteristic"])
        cleaned.append(item)
    if kind == "b2b" and not problems and not any(
            BY_SLUG[c["characteristic"]].category == "professional" for c in cleaned):
        fail("/criteria", "A B2B audience needs at least one professional criterion.")
    if problems:
        raise ValidationFailed(problems)
    return {"type": kind, "countries": sorted(set(countries)), "usStates": sorted(set(states)),
            "criteria": cleaned}


def _criterion_clean(criterion, audience_type, fail):
    if not isinstance(criterion, dict):
        fail("Each criterion must be an object.")
        return None
    slug = criterion.get("characteristic")
    characteristic = BY_SLUG.get(slug) if isinstance(slug, str) else None
    if characteristic is None:
        fail(f"Unknown characteristic {slug!r}.")
        return None
    if audience_type in ("b2c", "b2b") and audience_type not in characteristic.audience_types:
        fail(f"{slug} is not available for {audience_type} audiences.")
        return None
    if set(criterion) - {"characteristic", "values", "range"}:
        fail("A criterion has only characteristic and values or range.")
        return None
    if characteristic.type == "range":
        bounds = criterion.get("range")
        if not isinstance(bounds, dict) or set(bounds) != {"min", "max"} or not all(
                isinstance(bounds[k], int) and not isinstance(bounds[k], bool) for k in bounds):
            fail(f"{slug} needs range: {{min, max}} as integers.")
            return None
        limits = characteristic.range
        if bounds["min"] > bounds["max"] or bounds["min"] < limits["min"] or \
                bounds["max"] > limits["max"]:
            fail(f"{slug} range must be within {limits['min']}-{limits['max']}, min ≤ max.")
            return None
        return {"characteristic": slug, "range": {"min": bounds["min"], "max": bounds["max"]}}
    values = criterion.get("values")
    if not isinstance(values, list) or not values:
        fail(f"{slug} needs a non-empty list of values.")
        return None
    known = characteristic.choice_ids()
    bad = [v for v in values if not isinstance(v, str) or v not in known]
    if bad:
        fail(f"Unknown choice(s) for {slug}: {', '.join(map(str, bad))}.")
        return None
    return {"characteristic": slug, "values": list(dict.fromkeys(values))}


def screener_clean(value, pointer=f"{ROOT}/screener"):
    """Rally's screener: {version?, questions: [{uid, type, text, ...}]} → the questions."""
    if not isinstance(value, dict) or not isinstance(value.get("questions", []), list):
        raise ValidationFailed([(pointer, "screener must be {version, questions: [...]}.")])
    questions = value.get("questions", [])
    problems = []
    uids = set()
    for index, question in enumerate(questions):
        where = f"{pointer}/questions/{index}"
        if not isinstance(question, dict) or not isinstance(question.get("uid"), str) or \
                not isinstance(question.get("type"), str):
            problems.append((where, "Each question needs a uid and a type."))
            continue
        if question["uid"] in uids:
            problems.append((f"{where}/uid", "Question uids must be unique."))
        uids.add(question["uid"])
        options = question.get("options", [])
        if not isinstance(options, list) or not all(
                isinstance(o, dict) and isinstance(o.get("uid"), str) for o in options):
            problems.append((f"{where}/options", "options must be a list of {uid, label}."))
    if problems:
        raise ValidationFailed(problems)
    return questions


def screener_version_clean(value, pointer=f"{ROOT}/screener/version"):
    """The version number Rally gave its screener (None when it gave none): applicants are
    labelled with it, so Rally can show each one the questions as they were."""
    version = value.get("version")
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationFailed([(pointer, "version must be a whole number of at least 1.")])
    return version


RECRUIT_FIELDS = ("externalId", "internalName", "publicTitle", "publicDescription", "studyType",
                  "numParticipants", "durationMinutes", "compensation", "requireApproval",
                  "timezone", "audience", "screener", "schedulingUrl", "taskUrl")


def recruit_attributes_clean(attributes, *, creating):
    """The recruit attributes Rally may write, cleaned to snake_case model fields."""
    check = Checker(attributes, RECRUIT_FIELDS)
    out = {}
    if check.has("externalId"):
        out["external_id"] = check.string("externalId", nullable=True)
        if not creating:
            check.fail("externalId", "externalId cannot change.")
    for name, field, length in (("internalName", "internal_name", 200),
                                ("publicTitle", "public_title", 200),
                                ("publicDescription", "public_description", 5000)):
        if check.has(name):
            out[field] = check.string(name, max_length=length) or ""
    if check.has("studyType") or creating:
        out["study_type"] = check.choice("studyType", STUDY_TYPES, required=True)
    if check.has("numParticipants") or creating:
        out["num_participants"] = check.integer("numParticipants", required=True, minimum=1,
                                                maximum=1000)
    if check.has("durationMinutes") or creating:
        out["duration_minutes"] = check.integer("durationMinutes", required=creating, minimum=5,
                                                maximum=480)
    if check.has("compensation"):
        money = _money(check, "compensation")
        if money:
            out["compensation_cents"] = money["amountCents"]
    elif creating:
        check.fail("compensation", "compensation is required.")
    if check.has("requireApproval"):
        value = check.boolean("requireApproval")
        if value is False:
            check.fail("requireApproval", "Rally recruits always require approval.")
    if check.has("timezone"):
        zone = check.string("timezone", max_length=64)
        if zone is not None:
            try:
                zoneinfo.ZoneInfo(zone)
                out["timezone"] = zone
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                check.fail("timezone", f"Unknown time zone {zone!r}.")
    for name, field in (("schedulingUrl", "scheduling_url"), ("taskUrl", "task_url")):
        if check.has(name):
            out[field] = check.url(name) or ""
    if check.has("audience"):
        try:
            out["audience"] = audience_clean(attributes["audience"])
        except ValidationFailed as error:
            check.problems.extend(error.problems)
    elif creating:
        check.fail("audience", "audience is required.")
    if check.has("screener"):
        try:
            out["screener_questions"] = screener_clean(attributes["screener"])
            out["screener_version"] = screener_version_clean(attributes["screener"])
        except ValidationFailed as error:
            check.problems.extend(error.problems)
    check.done()
    return {k: v for k, v in out.items() if v is not None or k == "external_id"}


def estimate_attributes_clean(attributes):
    check = Checker(attributes, ("audience", "studyType", "numParticipants", "durationMinutes"))
    study_type = check.choice("studyType", STUDY_TYPES) or "interview"
    num = check.integer("numParticipants", minimum=1, maximum=1000) or 1
    check.integer("durationMinutes", minimum=5, maximum=480)
    audience = None
    if not check.has("audience"):
        check.fail("audience", "audience is required.")
    else:
        try:
            audience = audience_clean(attributes["audience"])
        except ValidationFailed as error:
            check.problems.extend(error.problems)
    check.done()
    return {"audience": audience, "study_type": study_type, "num_participants": num}
