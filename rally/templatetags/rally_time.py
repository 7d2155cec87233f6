"""Machine-readable times for `<time datetime>` (a builtin filter: every template has it).

HTML allows at most three digits of a second's fraction, and Django's `|date:'c'` writes six;
`|iso8601` writes a moment as UTC to the second (`2026-12-05T15:15:00Z`) and a date as a date.
"""

import datetime

from django import template

register = template.Library()


@register.filter
def iso8601(value):
    """`value` (a datetime, an aware or naive-UTC one, or a date) for a `datetime` attribute."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC)
        return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    if isinstance(value, datetime.date):
        return value.isoformat()
    return ""
