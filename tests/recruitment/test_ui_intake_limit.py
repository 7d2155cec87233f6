"""SPEC R6 at User Interviews: when the study's seats fill, Rally closes the recruit's intake
through the outbox (once), the sandbox stops sending applicants, and a freed seat reopens it."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from participants.models import Application
from participants.services import (
    INTAKE_OPERATION,
    applicant_invite,
    applicant_reject,
    study_ui_intake_sync,
)
from rally import clock
from rally.models import OutboxOperation
from recruitment import outbox, sync
from recruitment.user_interviews import errors
from sandbox import simulation
from sandbox.models import Applicant as SandboxApplicant
from sandbox.models import Recruit as SandboxRecruit
from studies.services import study_mark_recruitment_started
from tests.participants.factories import StudyFactory
from tests.recruitment.factories import RecruitmentFactory
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)
from tests.recruitment.test_sync_sandbox import run, started_recruit

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(admin):
    return StudyFactory(workspace=admin.workspace, owner=admin.user, participation_limit=2)


@pytest.fixture
def recruiting(study, sandbox_ui):
    """A recruit approved at UI with four applicants synced into Rally."""
    study_mark_recruitment_started(study=study)  # as "Start Recruitment" does
    recruitment = RecruitmentFactory(study=study)
    recruitment = started_recruit(study, recruitment, sandbox_ui)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/applicants",
                    {"count": 4, "seed": 7})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    recruitment.refresh_from_db()
    return recruitment


def applications(study):
    return list(Application.objects.filter(study=study).order_by("ui_applicant_id"))


def intake_rows(study):
    return list(OutboxOperation.objects.filter(study_id=study.pk, operation=INTAKE_OPERATION)
                .order_by("created_at", "id"))


def run_pending(study, client):
    for row in OutboxOperation.objects.filter(study_id=study.pk, status="pending"):
        assert run(row, client) == "done", row.last_error


def test_filling_the_last_seat_closes_intake_once_and_the_sandbox_stops_sending(
        admin, study, recruiting, sandbox_ui):
    first, second, *_ = applications(study)
    applicant_invite(membership=admin, study=study, application_id=first.pk)
    assert intake_rows(study) == []  # one seat of two: still open
    applicant_invite(membership=admin, study=study, application_id=second.pk)
    rows = intake_rows(study)
    assert [row.payload["open"] for row in rows] == [False]

    run_pending(study, sandbox_ui)
    recruit = SandboxRecruit.objects.get(pk=recruiting.ui_recruit_id)
    assert recruit.intake_open is False
    assert sandbox_ui.recruit_get(recruit.id).intake_open is False

    # Nothing arrives on its own, and the sandbox's control refuses to add applicants.
    before = SandboxApplicant.objects.filter(recruit=recruit).count()
    # UI itself marks the recruit filled; intake holds even were its status still open.
    recruit.status = SandboxRecruit.Status.RECRUITING
    recruit.arrivals_checked_at = clock.now()
    recruit.save()
    clock.advance(hours=48)
    assert simulation.recruit_arrivals(recruit_id=recruit.id) == 0
    with pytest.raises(AssertionError, match="intake is closed"):
        sandbox_control(sandbox_ui, f"recruits/{recruit.id}/applicants", {"count": 2})
    assert SandboxApplicant.objects.filter(recruit=recruit).count() == before

    # A third invitation is still refused by Rally's own limit, and writes nothing.
    third = applications(study)[2]
    with pytest.raises(ValidationError, match="Participation limit reached"):
        applicant_invite(membership=admin, study=study, application_id=third.pk)
    assert len(intake_rows(study)) == 1


def test_a_rejection_of_an_invited_person_reopens_intake(admin, study, recruiting, sandbox_ui):
    first, second, *_ = applications(study)
    applicant_invite(membership=admin, study=study, application_id=first.pk)
    applicant_invite(membership=admin, study=study, application_id=second.pk)
    run_pending(study, sandbox_ui)

    applicant_reject(membership=admin, study=study, application_id=second.pk,
                     reason="Not a developer")
    rows = intake_rows(study)
    assert [(row.payload["open"], row.payload["change"]) for row in rows] == [
        (False, 1), (True, 2)]
    assert len({row.idempotency_key for row in rows}) == 2
    run_pending(study, sandbox_ui)
    recruit = SandboxRecruit.objects.get(pk=recruiting.ui_recruit_id)
    assert recruit.intake_open is True
    sandbox_control(sandbox_ui, f"recruits/{recruit.id}/applicants", {"count": 1, "seed": 9})


def test_repeated_decisions_and_retried_operations_are_idempotent(admin, study, recruiting,
                                                                  sandbox_ui):
    first, second, *_ = applications(study)
    applicant_invite(membership=admin, study=study, application_id=first.pk)
    applicant_invite(membership=admin, study=study, application_id=second.pk)
    # Asked again with nothing changed: no second row.
    with transaction.atomic():
        assert study_ui_intake_sync(study=study) is None
    (row,) = intake_rows(study)
    assert run(row, sandbox_ui) == "done"
    assert run(row, sandbox_ui) is None  # done rows are never sent again

    # The same request re-sent with the same key (a worker that died after UI answered)
    # and a second close with a new key both leave the recruit as it is.
    key = str(row.idempotency_key)
    again = sandbox_ui.recruit_intake_set(recruiting.ui_recruit_id, key=key, open=False)
    other = sandbox_ui.recruit_intake_set(recruiting.ui_recruit_id, key=key + "-x", open=False)
    assert again.intake_open is False and other.intake_open is False
    assert SandboxRecruit.objects.get(pk=recruiting.ui_recruit_id).intake_open is False


def test_a_closed_recruit_takes_no_intake_change_and_the_operation_still_ends(
        admin, study, recruiting, sandbox_ui):
    first, second, *_ = applications(study)
    applicant_invite(membership=admin, study=study, application_id=first.pk)
    applicant_invite(membership=admin, study=study, application_id=second.pk)
    run_pending(study, sandbox_ui)
    with pytest.raises(errors.InvalidTransition):
        sandbox_ui.recruit_close(recruiting.ui_recruit_id, key="close-1") and \
            sandbox_ui.recruit_intake_set(recruiting.ui_recruit_id, key="i-1", open=True)
    applicant_reject(membership=admin, study=study, application_id=second.pk)
    reopen = intake_rows(study)[-1]
    assert reopen.payload["open"] is True
    assert outbox.outbox_execute(operation_id=reopen.pk, client=sandbox_ui) == "done"


def test_an_applicant_arriving_after_the_limit_is_kept_marked_and_not_seated(
        admin, client, study, recruiting, sandbox_ui):
    first, second, third, fourth = applications(study)
    applicant_invite(membership=admin, study=study, application_id=first.pk)
    applicant_invite(membership=admin, study=study, application_id=second.pk)
    # UI has not taken the close in yet (the outbox row still waits): one more arrives.
    recruit = SandboxRecruit.objects.get(pk=recruiting.ui_recruit_id)
    recruit.status = SandboxRecruit.Status.RECRUITING
    recruit.save()
    sandbox_control(sandbox_ui, f"recruits/{recruit.id}/applicants", {"count": 1, "seed": 11})
    sync.recruitment_poll(recruitment_id=recruiting.pk, client=sandbox_ui)
    known = {first.pk, second.pk, third.pk, fourth.pk}
    (late,) = [a for a in Application.objects.filter(study=study) if a.pk not in known]
    assert late.arrived_after_limit is True and late.status == Application.Status.APPLIED
    assert not Application.objects.get(pk=third.pk).arrived_after_limit

    with pytest.raises(ValidationError, match="Participation limit reached"):
        applicant_invite(membership=admin, study=study, application_id=late.pk)
    assert Application.objects.get(pk=late.pk).status == Application.Status.APPLIED

    client.force_login(admin.user)
    page = client.get(reverse("participants:study_participants", args=[study.pk]))
    html = page.content.decode()

    def row_of(application):
        return html.split(f'id="applicant-{application.pk}"')[1].split("</tr>")[0]

    assert "Arrived after the limit" in row_of(late)
    assert "Arrived after the limit" not in row_of(third)
    profile = client.get(reverse("participants:applicant_profile", args=[study.pk, late.pk]))
    assert "Arrived after the limit" in profile.content.decode()

    # A person may still invite them once a seat frees up.
    applicant_reject(membership=admin, study=study, application_id=second.pk)
    applicant_invite(membership=admin, study=study, application_id=late.pk)
    assert Application.objects.get(pk=late.pk).status == Application.Status.INVITED


def test_a_study_whose_recruitment_never_started_tells_ui_nothing(admin, study):
    from tests.participants.factories import ApplicationFactory

    study.participation_limit = 1
    study.save()
    application = ApplicationFactory(study=study)
    applicant_invite(membership=admin, study=study, application_id=application.pk)
    assert intake_rows(study) == []
