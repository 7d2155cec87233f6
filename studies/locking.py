"""The study row as every write on a study takes it: locked inside the workspace, and marked
as changed when the write is done (shared by studies.services and the screener writes)."""

from django.http import Http404

from rally import clock
from studies.models import Study


def study_lock(*, membership, study):
    """The study row, locked, if it belongs to the membership's workspace (else 404)."""
    locked = Study.objects.select_for_update().filter(
        pk=study.pk, workspace_id=membership.workspace_id).first()
    if locked is None:
        raise Http404
    return locked


def study_touch(study, fields):
    """Save `fields` of the study with a fresh updated_at."""
    study.updated_at = clock.now()
    study.save(update_fields=[*fields, "updated_at"])
