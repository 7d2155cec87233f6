"""The suite's own teardown of transactional tests (`tests/conftest.py::_tables_emptied`):
every row a test wrote goes, the append-only ledgers' included, and what migrations and
post_migrate seed is there again, as after Django's flush."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import TransactionTestCase

from billing.models import Price
from rally.models import ActivityEntry, Membership, User
from rally.services import activity_record


@pytest.mark.django_db(transaction=True)
def test_teardown_deletes_every_row_and_puts_back_the_seeded_ones(admin):
    activity_record(workspace=admin.workspace, actor=admin.user, action="test.wrote",
                    summary="A row of an append-only table")
    Price.objects.all().delete()
    content_types = ContentType.objects.count()

    TransactionTestCase()._fixture_teardown()

    assert not User.objects.exists()
    assert not Membership.objects.exists()
    assert not ActivityEntry.objects.exists()
    assert ContentType.objects.count() == content_types > 0
    assert Price.objects.exists()  # post_migrate seeds the B1 prices again
