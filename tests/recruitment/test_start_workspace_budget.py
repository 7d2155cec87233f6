"""Every workspace has "Workspace Budget" (SPEC B3) before anyone opens the Budgets page:
Review & Start in a fresh workspace offers it with $0.00 available and Add Funds; existing
workspaces get it from a data migration."""

import importlib

import pytest
from django.apps import apps
from django.urls import reverse

from billing.models import Budget
from billing.services import budget_default_ensure
from studies.services import characteristics_replace
from tests.rally.factories import WorkspaceFactory
from tests.recruitment.start_support import startable_study
from tests.studies.factories import CATALOG

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(workspace, researcher, ops_manager):
    characteristics_replace(items=CATALOG)
    study = startable_study(workspace=workspace, owner=researcher.user,
                            team_member=ops_manager.user)
    return study


def test_a_fresh_workspaces_review_and_start_offers_workspace_budget_and_add_funds(
        client_for, study, workspace, ops_manager):
    assert not Budget.objects.filter(workspace=workspace).exists()
    page = client_for(ops_manager).get(reverse("recruitment:start", args=[study.id]),
                                       headers={"HX-Request": "true"}).content.decode()
    budget = Budget.objects.get(workspace=workspace)
    assert budget.name == "Workspace Budget"
    assert "no budget yet" not in page
    assert f'value="{budget.id}" checked' in page
    assert "Workspace Budget" in page and "$0.00 available" in page
    assert "Workspace Budget is short by" in page and "$1,120.00" in page
    assert reverse("billing:funds_add", args=[budget.id]) in page


def test_opening_review_and_start_again_makes_no_second_budget(client_for, study, workspace,
                                                               ops_manager):
    client = client_for(ops_manager)
    for _ in range(2):
        assert client.get(reverse("recruitment:start", args=[study.id])).status_code == 200
    assert Budget.objects.filter(workspace=workspace).count() == 1


def test_the_migration_gives_each_workspace_without_one_its_workspace_budget(workspace):
    migration = importlib.import_module(
        "billing.migrations.0005_workspace_budget_for_every_workspace")
    other = WorkspaceFactory(name="Other Research")
    kept = budget_default_ensure(workspace=other)
    extra = Budget.objects.create(workspace=workspace, name="Q3 Research",
                                  created_at=kept.created_at)
    for _ in range(2):  # running it again adds nothing
        migration.workspace_budgets_ensure(apps, None)
    assert set(Budget.objects.filter(workspace=workspace).values_list("name", flat=True)) == {
        "Workspace Budget", "Q3 Research"}
    assert list(Budget.objects.filter(workspace=other)) == [kept]
    assert extra.pk in Budget.objects.values_list("pk", flat=True)
