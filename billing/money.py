"""Reading and showing amounts of money: Decimal dollars with cents, never floats."""

from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError

from rally.numbers import CENT, money_parse

MAX_ADDITION = Decimal("1000000.00")  # the most one "Add Funds" may add


def amount_parse(value, *, maximum=MAX_ADDITION, field="amount"):
    """A positive amount with at most two decimals and at most `maximum`, or a
    ValidationError keyed by `field`. The rule is rally.numbers.money_parse (SPEC §13)."""
    try:
        return money_parse(value, label="the amount", maximum=maximum)
    except ValidationError as error:
        raise ValidationError({field: error.messages[0]}) from None


def money_format(value):
    """$1,234.00 (and -$12.50 for a negative amount)."""
    amount = Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "\u2212" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
