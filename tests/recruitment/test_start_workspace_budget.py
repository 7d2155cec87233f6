"""Every workspace has "Workspace Budget" (SPEC B3) from the moment it is made: Review &
Start in a fresh workspace offers it with $0.00 available and Add Funds; existing
workspaces got it from a data migration. Opening the pages never makes it (GET never
writes)."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Budget
from billing.selectors import budget_default_for
from billing.services import budget_default_create, budget_default_ensure
from recruitment.workflows import workspace_create
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


def _writes(queries):
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
            and "django_session" not in q["sql"]]


def test_a_new_workspace_is_made_with_its_workspace_budget(db):
    membership = workspace_create(name="Fresh Research", admin_email="ada@example.test",
                                  admin_name="Ada")
    budget = budget_default_for(membership.workspace)
    assert budget is not None and budget.name == "Workspace Budget"
    assert Budget.objects.filter(workspace=membership.workspace).count() == 1


def test_a_fresh_workspaces_review_and_start_offers_workspace_budget_and_add_funds(
        client_for, study, workspace, ops_manager):
    budget = budget_default_create(workspace=workspace)  # as workspace_create makes it
    page = client_for(ops_manager).get(reverse("recruitment:start", args=[study.id]),
                                       headers={"HX-Request": "true"}).content.decode()
    assert "no budget yet" not in page
    assert f'value="{budget.id}" checked' in page
    assert "Workspace Budget" in page and "$0.00 available" in page
    assert "Workspace Budget is short by" in page and "$1,120.00" in page
    assert reverse("billing:funds_add", args=[budget.id]) in page


@pytest.mark.parametrize("page", ["recruitment:start", "recruitment:money_panel",
                                  "studies:study_overview"])
def test_opening_the_start_pages_of_a_workspace_without_a_budget_writes_nothing(
        client_for, study, workspace, ops_manager, page):
    client = client_for(ops_manager)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(page, args=[study.id]))
    assert response.status_code in (200, 286)  # 286: the money panel stops polling
    assert _writes(queries) == []
    assert not Budget.objects.filter(workspace=workspace).exists()


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
