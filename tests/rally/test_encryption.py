"""Secrets at rest: encrypted with the newest key, readable with any configured key."""

import pytest
from cryptography.fernet import Fernet

from rally import encryption


def test_a_secret_round_trips_and_is_not_stored_in_clear(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    token = encryption.encrypt("ui-live-key-123")
    assert "ui-live-key-123" not in token
    assert encryption.decrypt(token) == "ui-live-key-123"
    assert encryption.encrypt("") == "" and encryption.decrypt("") == ""


def test_rotation_keeps_old_values_readable_and_rewrites_them_with_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = encryption.encrypt("app-password")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert encryption.decrypt(token) == "app-password"
    rotated = encryption.rotated(token)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert encryption.decrypt(rotated) == "app-password"
    with pytest.raises(encryption.UnreadableSecret):
        encryption.decrypt(token)


def test_development_derives_a_key_when_none_is_configured(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    assert encryption.decrypt(encryption.encrypt("dev")) == "dev"
