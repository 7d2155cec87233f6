"""Reading and showing amounts of money: Decimal dollars with cents, never floats."""

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError

CENT = Decimal("0.01")
MAX_ADDITION = Decimal("1000000.00")  # the most one "Add Funds" may add
# Commas only as thousands separators: "5,00" (a decimal comma) must not become $500.
THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d*)?$")


def amount_parse(value, *, maximum=MAX_ADDITION, field="amount"):
    """A positive amount with at most two decimals and at most `maximum`, or ValidationError."""
    if isinstance(value, float):
        raise ValidationError({field: "Enter the amount as a number of dollars, e.g. 250.00."})
    text = str(value).strip().removeprefix("$").strip()
    if "," in text:
        if not THOUSANDS.match(text):
            raise ValidationError({field: "Enter the amount as a number of dollars, e.g. "
                                          "1,250.00 (use a point for cents)."})
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationError({field: "Enter the amount as a number of dollars, e.g. 250.00."})\
            from None
    if not amount.is_finite():
        raise ValidationError({field: "Enter the amount as a number of dollars, e.g. 250.00."})
    if amount <= 0:
        raise ValidationError({field: "Enter an amount greater than $0.00."})
    if amount > maximum:
        raise ValidationError({field: f"Enter at most {money_format(maximum)} at a time."})
    if amount != amount.quantize(CENT):
        raise ValidationError({field: "Enter the amount in dollars and cents (at most two "
                                      "decimals)."})
    return amount.quantize(CENT)


def money_format(value):
    """$1,234.00 (and -$12.50 for a negative amount)."""
    amount = Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "\u2212" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
