"""Every cache key belongs to the database it describes (the test clock's offset, sign-in
failures, reach estimates, import progress): two Rallies sharing one Redis with different
databases — a benchmark beside `make run`, two test runs — never read each other's values."""

from django.db import connection


def database_scoped_key(key, key_prefix, version):
    """Django's KEY_FUNCTION: the default key with the current database's name in it."""
    return f"{key_prefix}:{version}:{connection.settings_dict['NAME']}:{key}"
