"""CSRF on htmx posts (QUALITY.md, Access): htmx sends the token from the page's
`data-hx-headers`; a state-changing htmx POST without it is refused and changes nothing."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from billing.models import Transfer
from tests.billing.factories import BudgetFactory

pytestmark = pytest.mark.django_db


def test_an_htmx_post_without_the_csrf_token_is_refused_and_changes_nothing(workspace, admin):
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin.user)
    url = reverse("billing:funds_add", args=[budget.pk])
    form = {"amount": "40.00", "reference": "PO-9", "key": str(uuid.uuid4())}
    refused = client.post(url, form, HTTP_HX_REQUEST="true")
    assert refused.status_code == 403
    assert not Transfer.objects.exists()
    # The same request with the token the page gives htmx is accepted.
    page = client.get(reverse("billing:budgets")).content.decode()
    token = re.search(r'data-hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    accepted = client.post(url, form, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 200 and Transfer.objects.count() == 1
