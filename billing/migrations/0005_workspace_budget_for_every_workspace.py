"""Every workspace has "Workspace Budget" (SPEC B3). Until now it was made the first time
someone opened the Budgets page, so Review & Start in a workspace nobody had looked at
offered no budget at all. Existing workspaces without one get it here; pages that list
budgets make it for workspaces created later."""

from django.db import migrations

DEFAULT_BUDGET_NAME = "Workspace Budget"  # billing.services.DEFAULT_BUDGET_NAME at this point


def workspace_budgets_ensure(apps, schema_editor):
    from rally import clock

    Workspace = apps.get_model("rally", "Workspace")
    Budget = apps.get_model("billing", "Budget")
    missing = (Workspace.objects.exclude(budgets__name=DEFAULT_BUDGET_NAME)
               .values_list("pk", flat=True))
    now = clock.now()
    Budget.objects.bulk_create(
        [Budget(workspace_id=pk, name=DEFAULT_BUDGET_NAME, created_at=now) for pk in missing],
        ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0004_reservation_per_start_attempt"),
        ("rally", "0003_property_definition"),
    ]

    operations = [
        migrations.RunPython(workspace_budgets_ensure, migrations.RunPython.noop, elidable=True),
    ]
