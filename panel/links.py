"""The signed links a panel email carries: the hosted screener and the unsubscribe page.

Each purpose has its own salt, so a token made for one page is worthless on the other; the
token names only an id (an invitation, a person) and proves Rally made it.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SCREENER_SALT = "panel.hosted-screener"
UNSUBSCRIBE_SALT = "panel.unsubscribe"


class LinkInvalid(Exception):
    """A forged, damaged or expired link; `message` is what the person reads."""

    def __init__(self, message, *, expired=False):
        super().__init__(message)
        self.message = message
        self.expired = expired


def _max_age(name, default_days):
    return timedelta(days=getattr(settings, name, default_days))


def screener_token_make(invitation):
    return signing.dumps({"invitation": str(invitation.pk)}, salt=SCREENER_SALT, compress=True)


def unsubscribe_token_make(participant):
    return signing.dumps({"participant": str(participant.pk)}, salt=UNSUBSCRIBE_SALT,
                         compress=True)


def _absolute(path):
    return settings.RALLY_BASE_URL.rstrip("/") + path


def screener_url_for(invitation):
    return _absolute(reverse("panel:hosted_screener",
                             kwargs={"token": screener_token_make(invitation)}))


def unsubscribe_url_for(participant):
    return _absolute(reverse("panel:unsubscribe",
                             kwargs={"token": unsubscribe_token_make(participant)}))


@dataclass(frozen=True)
class LinkTarget:
    id: str


def _read(token, *, salt, key, max_age, what):
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise LinkInvalid(f"This {what} link has expired. Ask the research team for a new "
                          f"one.", expired=True) from exc
    except signing.BadSignature as exc:
        raise LinkInvalid(f"This {what} link is not valid. Check that you opened the whole "
                          f"link from your email.") from exc
    if not isinstance(data, dict) or not isinstance(data.get(key), str):
        raise LinkInvalid(f"This {what} link is not valid.")
    return LinkTarget(id=data[key])


def screener_token_read(token):
    """The invitation id a screener link names, or LinkInvalid."""
    return _read(token, salt=SCREENER_SALT, key="invitation", what="screener",
                 max_age=_max_age("PANEL_SCREENER_LINK_MAX_AGE_DAYS", 60))


def unsubscribe_token_read(token):
    """The participant id an unsubscribe link names, or LinkInvalid."""
    return _read(token, salt=UNSUBSCRIBE_SALT, key="participant", what="unsubscribe",
                 max_age=_max_age("PANEL_UNSUBSCRIBE_LINK_MAX_AGE_DAYS", 730))
