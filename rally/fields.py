"""Model fields for secrets kept at rest: stored encrypted (rally.encryption), read as text."""

from django.db import models

from rally.encryption import decrypt, encrypt


class EncryptedTextField(models.TextField):
    """A secret the code reads and writes as plain text and the database holds only as a
    Fernet token. Values cannot be filtered on (each encryption differs)."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else ""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value else ""
