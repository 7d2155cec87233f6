"""The one rule for numbers people type (SPEC §13): money and counts, ASCII digits only.

Every money field (incentive amount, Add Funds, a panel incentive, …) reads through
`money_parse`; every count (participation limit, participation time, scheduling numbers,
contact rules, …) through `count_parse`. Python's own readers are too generous for typed
input: `Decimal` and `int` take "١٠٠" (Arabic-Indic digits), "1_000" and "1e3", `str.isdigit`
says yes to "²" which `int` then refuses, and dropping commas turns "7,50" into 750. Here
commas are only thousands separators in groups of three ("1,250.00"), one decimal point at
most, and anything else is refused with a sentence saying how to write the number.
"""

import re
from decimal import Decimal

from django.core.exceptions import ValidationError

CENT = Decimal("0.01")

# Whitespace a browser or a paste may leave around a value; nothing inside it is accepted.
_EDGES = " \t\r\n"
# Long enough for any amount Rally takes; longer input is refused before any regex runs.
_MAX_LENGTH = 32
_DIGITS = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)"
_MONEY = re.compile(rf"{_DIGITS}(?:\.[0-9]*)?", re.ASCII)
_COUNT = re.compile(_DIGITS, re.ASCII)
_NEGATIVE = ("-", "\u2212")


def _format_dollars(amount):
    return f"${amount:,.2f}"


def _too_small(label, minimum):
    if minimum == CENT:
        return f"Enter {label} greater than $0.00."
    return f"Enter {label} of at least {_format_dollars(minimum)}."


def money_parse(value, *, label="the amount", minimum=CENT, maximum):
    """A Decimal of dollars and cents between `minimum` and `maximum` (inclusive), read from
    what a person typed ("1,250.00", "$75", " 7.5 "), or a ValidationError whose message
    says how to write the amount. `label` names the field inside the sentence ("the
    incentive amount"). A blank value is refused too: callers that allow blank check first.
    """
    how = (f"Enter {label} as a number of US dollars with the digits 0-9 and a point for "
           f"cents, like 1,250.00 (commas only between thousands).")
    if isinstance(value, bool | float):
        raise ValidationError(how)
    if isinstance(value, Decimal | int):
        value = str(value)
    if not isinstance(value, str) or len(value) > _MAX_LENGTH:
        raise ValidationError(how)
    text = value.strip(_EDGES).removeprefix("$").lstrip(_EDGES)
    if text.startswith(_NEGATIVE) and _MONEY.fullmatch(text[1:]):
        raise ValidationError(_too_small(label, minimum))
    if not _MONEY.fullmatch(text):
        raise ValidationError(how)
    amount = Decimal(text.replace(",", ""))
    if amount > maximum:  # first: quantizing 28 digits and more overflows the context
        raise ValidationError(f"Enter {label} of at most {_format_dollars(maximum)}.")
    if amount != amount.quantize(CENT):
        raise ValidationError(f"Enter {label} in dollars and cents: at most two decimals, "
                              f"like 75.50.")
    amount = amount.quantize(CENT)
    if amount < minimum:
        raise ValidationError(_too_small(label, minimum))
    return amount


def count_parse(value, *, label, minimum, maximum, unit=""):
    """A whole number from `minimum` to `maximum` read from what a person typed ("12",
    "1,000"), or a ValidationError saying how to write it. `label` names the field inside
    the sentence ("the participation limit"); `unit` follows the bounds ("minutes").
    """
    unit = f" {unit}" if unit else ""
    example = min(max(minimum, 12), maximum)
    how = (f"Enter {label} as a whole number with the digits 0-9, like {example:,} "
           f"(from {minimum:,} to {maximum:,}{unit}).")
    if isinstance(value, bool):
        raise ValidationError(how)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or len(value) > _MAX_LENGTH:
        raise ValidationError(how)
    text = value.strip(_EDGES)
    if not _COUNT.fullmatch(text):
        raise ValidationError(how)
    number = int(text.replace(",", ""))
    if not minimum <= number <= maximum:
        raise ValidationError(f"Enter {label} from {minimum:,} to {maximum:,}{unit}.")
    return number
