"""Panel people's property values: how each PropertyType is written, read and filtered.

Stored values (Participant.properties, {key: value}): text → str, number → JSON number,
date → "YYYY-MM-DD", boolean → true/false, single_select → option uid, multi_select →
[option uids]. An empty value means "not set": the key is absent.
"""

import math
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from rally.models import PropertyType

TEXT_MAX = 1000
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
TRUE_WORDS = {"true", "yes", "y", "1", "t"}
FALSE_WORDS = {"false", "no", "n", "0", "f"}

#: Filter operators each type accepts, in the order the filter builder lists them.
OPS_BY_TYPE = {
    PropertyType.TEXT: ("eq", "neq", "contains", "is_set", "not_set"),
    PropertyType.NUMBER: ("eq", "neq", "gt", "gte", "lt", "lte", "is_set", "not_set"),
    PropertyType.DATE: ("eq", "neq", "gt", "gte", "lt", "lte", "is_set", "not_set"),
    PropertyType.BOOLEAN: ("is_true", "is_false", "is_set", "not_set"),
    PropertyType.SINGLE_SELECT: ("eq", "neq", "in", "is_set", "not_set"),
    PropertyType.MULTI_SELECT: ("in", "is_set", "not_set"),
}

OP_LABELS = {
    "eq": "is", "neq": "is not", "contains": "contains", "gt": "is more than",
    "gte": "is at least", "lt": "is less than", "lte": "is at most", "in": "is any of",
    "is_set": "is set", "not_set": "is not set", "is_true": "is yes", "is_false": "is no",
}
#: Operators that take no value.
VALUELESS_OPS = {"is_set", "not_set", "is_true", "is_false"}

ALL_OPS = tuple(OP_LABELS)


def is_empty(raw):
    return raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []


def coerce(definition, raw):
    """The stored form of `raw` (a CSV/form string or an already typed value) for
    `definition`, or None when empty. Raises ValueError with a reason people can read."""
    if is_empty(raw):
        return None
    kind = definition.type
    if kind == PropertyType.TEXT:
        text = str(raw).strip()
        if len(text) > TEXT_MAX:
            raise ValueError(f"is longer than {TEXT_MAX} characters")
        return text
    if kind == PropertyType.NUMBER:
        return _number(raw)
    if kind == PropertyType.DATE:
        return _date(raw)
    if kind == PropertyType.BOOLEAN:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValueError(f"“{raw}” is not yes or no")
    if kind == PropertyType.SINGLE_SELECT:
        return option_uid(definition, raw)
    if kind == PropertyType.MULTI_SELECT:
        items = raw if isinstance(raw, list | tuple) else re.split(r"[;|]", str(raw))
        uids = []
        for item in items:
            if is_empty(item):
                continue
            uid = option_uid(definition, item)
            if uid not in uids:
                uids.append(uid)
        return uids or None
    raise ValueError("has an unknown type")


def _number(raw):
    if isinstance(raw, bool):
        raise ValueError("is not a number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValueError("is not a number")
        return int(raw) if raw.is_integer() else raw
    text = str(raw).strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"“{raw}” is not a number") from exc
    if not number.is_finite():
        raise ValueError(f"“{raw}” is not a number")
    if number == number.to_integral_value():
        return int(number)
    return float(number)


def _date(raw):
    if isinstance(raw, date):
        return raw.isoformat()
    text = str(raw).strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise ValueError(f"“{raw}” is not a date like 2026-03-31") from exc


def option_uid(definition, raw):
    """The uid of the option `raw` names (its uid or its label, any case)."""
    wanted = str(raw).strip()
    for option in definition.options:
        if wanted == option["uid"]:
            return option["uid"]
    folded = wanted.casefold()
    for option in definition.options:
        if folded in (option["label"].casefold(), option["uid"].casefold()):
            return option["uid"]
    labels = ", ".join(option["label"] for option in definition.options)
    raise ValueError(f"“{raw}” is not one of the options ({labels})")


def display(definition, value):
    """How a stored value reads on a page."""
    if value is None or value == [] or value == "":
        return ""
    kind = definition.type
    if kind == PropertyType.BOOLEAN:
        return "Yes" if value else "No"
    if kind in (PropertyType.SINGLE_SELECT, PropertyType.MULTI_SELECT):
        labels = {option["uid"]: option["label"] for option in definition.options}
        values = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(uid, uid) for uid in values)
    if kind == PropertyType.NUMBER and isinstance(value, float):
        return f"{value:g}"
    return str(value)


def form_value(definition, value):
    """A stored value as an edit form shows it (selects: uid or [uids])."""
    if value is None:
        return [] if definition.type == PropertyType.MULTI_SELECT else ""
    if definition.type == PropertyType.BOOLEAN:
        return "yes" if value else "no"
    return value
