"""Secrets Rally keeps at rest (a workspace's User Interviews key, a host's calendar password)
are encrypted with Fernet. `FIELD_ENCRYPTION_KEYS` lists the keys, newest first: new values
are written with the first, any of them reads, and `rotated` re-encrypts a value with the newest.
"""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class UnreadableSecret(Exception):
    """The stored value was encrypted with a key that is no longer configured."""


@cache
def _fernet(keys):
    return MultiFernet([Fernet(key) for key in keys])


def _keys():
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if keys:
        return keys
    # Development only (settings refuse an empty list when DEBUG is off): a key derived from
    # SECRET_KEY, so `make run` works with nothing configured.
    digest = hashlib.sha256(f"rally-field-encryption:{settings.SECRET_KEY}".encode()).digest()
    return (base64.urlsafe_b64encode(digest).decode(),)


def encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _fernet(_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise UnreadableSecret("encrypted with a key not in FIELD_ENCRYPTION_KEYS") from error


def rotated(token: str) -> str:
    """The same secret encrypted with the newest key (for a key-rotation command)."""
    if not token:
        return ""
    return _fernet(_keys()).rotate(token.encode()).decode()
