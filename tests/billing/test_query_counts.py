"""The budgets page reads a fixed number of queries however many studies hold funds
(QUALITY perf-queries: the same count at both sizes, at most 15)."""

import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.services import budget_reserve_for_study
from tests.billing.factories import funds_add

pytestmark = pytest.mark.django_db


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _reserve(budget, admin, count):
    for n in range(count):
        budget_reserve_for_study(budget=budget, study_id=uuid.uuid4(), study_name=f"Study {n}",
                                 participation_limit=2, fee=Decimal("39.00"),
                                 incentive=Decimal("10.00"), actor=admin.user)


@pytest.mark.parametrize("page", ["billing:budgets", "billing:reservations"])
def test_budget_pages_read_the_same_queries_with_1_and_40_reservations(client_for, admin,
                                                                        funded_budget, page):
    funds_add(admin, funded_budget, "5000.00", "PO-2")
    client = client_for(admin)
    _reserve(funded_budget, admin, 1)
    client.get(reverse(page))
    small = _queries(client, reverse(page))
    _reserve(funded_budget, admin, 39)
    large = _queries(client, reverse(page))
    assert large == small
    assert small <= 15
