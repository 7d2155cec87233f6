"""Rotating FIELD_ENCRYPTION_KEYS: a new key first, the command re-encrypts every secret at
rest, then the old key can go."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from rally import clock
from rally.encryption import UnreadableSecret
from recruitment.models import UIConnection

pytestmark = pytest.mark.django_db


def _stored(pk):
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM recruitment_uiconnection WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_rotation_re_encrypts_with_the_new_key_so_the_old_one_can_go(workspace, settings):
    from rally import encryption

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    saved = UIConnection.objects.create(workspace=workspace, api_key="ui_live_secret_1",
                                        created_at=clock.now(), updated_at=clock.now())
    before = _stored(saved.pk)
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)
    assert "recruitment.UIConnection: 1 re-encrypted (api_key)" in out.getvalue()
    assert _stored(saved.pk) != before
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert UIConnection.objects.get().api_key == "ui_live_secret_1"
    with pytest.raises(UnreadableSecret):
        encryption.decrypt(before)  # what the old key wrote is unreadable now
