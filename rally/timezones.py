"""Time zones a person can choose (SPEC W6), from the tzdata package's own list.

`zone1970.tab` names each canonical zone once, so obsolete aliases ("US/Eastern",
"Asia/Calcutta") are never offered; UTC is added. The common zones come first in pickers.
"""

from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "America/New_York"

COMMON_ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Toronto", "America/Sao_Paulo", "Europe/London", "Europe/Berlin", "Europe/Paris",
    "Europe/Madrid", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
    "UTC",
)


@cache
def canonical_zones():
    """Every canonical zone name, sorted (tzdata's zone1970.tab, plus UTC)."""
    text = (resources.files("tzdata.zoneinfo") / "zone1970.tab").read_text(encoding="utf-8")
    names = {line.split("\t")[2] for line in text.splitlines()
             if line and not line.startswith("#")}
    names.add("UTC")
    return tuple(sorted(names))


def zone_choices():
    """(value, label) pairs for a picker: the common zones first, then all the others."""
    common = [(name, _label(name)) for name in COMMON_ZONES]
    rest = [(name, _label(name)) for name in canonical_zones() if name not in COMMON_ZONES]
    return [("Common time zones", common), ("All time zones", rest)]


def _label(name):
    return name.replace("_", " ")


def is_choosable(name):
    return name in canonical_zones()


def zone_or_default(name):
    """A zone name ZoneInfo accepts: `name`, or the default when it is empty or unknown."""
    if name:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return DEFAULT_ZONE


def moment_words(moment, zone=None):
    """A time as a person reads it, in `zone` (default: the active zone, the reader's) with
    the zone named: "Tue, Dec 8, 2:30 PM CET"."""
    from django.utils import timezone

    local = moment.astimezone(ZoneInfo(zone)) if zone else timezone.localtime(moment)
    return f"{local:%a, %b} {local.day}, {local.strftime('%I:%M %p').lstrip('0')} " \
        f"{local.tzname()}"
