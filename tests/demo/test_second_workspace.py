"""The demo seed works in a workspace of any name, beside the first (no hard-coded ids)."""

import os

import pytest
from django.core.management import call_command

from rally.models import Membership, Workspace
from studies.models import Study


# Transactional: the seed reaches the sandbox in-process from a thread of its own.
@pytest.mark.django_db(transaction=True)
def test_seed_demo_fills_a_second_workspace_beside_the_first(settings):
    settings.DEBUG = True
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
        call_command("seed_demo", workspace="Beta Labs", stdout=quiet)
        call_command("seed_demo", workspace="Beta Labs", stdout=quiet)
    acme = Workspace.objects.get(name="Acme Research")
    beta = Workspace.objects.get(name="Beta Labs")
    names = sorted(Study.objects.filter(workspace=acme).values_list("name", flat=True))
    assert names
    assert sorted(Study.objects.filter(workspace=beta).values_list("name", flat=True)) == names
    assert Membership.objects.filter(workspace=beta, user__email="admin@example.com",
                                     role="admin").exists()
