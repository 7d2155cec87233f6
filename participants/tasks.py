"""The people directory's background work: big CSV imports (the task names stay as queued)."""

from celery import shared_task

from participants import imports


@shared_task(name=imports.RUN_TASK, ignore_result=True)
def people_import_run(import_id):
    """Write one queued import (a no-op once another run took it)."""
    imports.people_import_run(import_id=import_id)


@shared_task(name="participants.panel_imports_sweep", ignore_result=True)
def people_imports_sweep():
    """Dispatch the queued imports again (beat, every minute)."""
    return imports.people_imports_redispatch()
