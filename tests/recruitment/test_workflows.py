"""The written-out workflows (recruitment.workflows): one transaction each, steps in their
written order, and SPEC R6's edges reaching User Interviews through the sandbox: a lower
participation limit closes intake, and a start whose seats are already full creates the
recruit with its intake closed."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing.models import Receipt
from participants.models import Application
from participants.services import INTAKE_OPERATION, applicant_invite
from rally.models import ActivityEntry, OutboxOperation
from recruitment import outbox, sync, workflows
from recruitment.models import Recruitment
from sandbox.models import Recruit as SandboxRecruit
from studies.models import Status, Study
from tests.billing.factories import BudgetFactory, funds_add
from tests.billing.payouts_support import ended_session, funded_ui_study
from tests.participants.factories import ApplicationFactory
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)
from tests.recruitment.test_ui_intake_limit import (  # noqa: F401 - fixtures
    applications,
    intake_rows,
    recruiting,
    study,
)
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db


def run_pending(study, client):
    """Send the study's pending outbox rows to the sandbox, oldest first."""
    for row in (OutboxOperation.objects.filter(study_id=study.pk, status="pending")
                .order_by("created_at", "id")):
        outcome = outbox.outbox_execute(operation_id=row.pk, client=client)
        row.refresh_from_db()
        assert outcome == "done", (row.operation, row.last_error)


# Closing ------------------------------------------------------------------------------------


def test_a_failing_step_of_close_changes_nothing(admin, monkeypatch):
    study = funded_ui_study(admin)
    ended_session(study)
    entries = ActivityEntry.objects.filter(study_id=study.pk).count()

    def refuse(**kwargs):
        raise ValidationError("The ledger is busy.")

    monkeypatch.setattr(workflows.billing, "reservation_close", refuse)
    with pytest.raises(ValidationError):
        workflows.study_close(membership=admin, study=study)
    study.refresh_from_db()
    assert study.status == Status.ACTIVE and study.closed_at is None
    assert ActivityEntry.objects.filter(study_id=study.pk).count() == entries
    assert not Receipt.objects.filter(study_id=study.pk).exists()
    assert not OutboxOperation.objects.filter(study_id=study.pk,
                                              operation="create_payment").exists()


def test_resume_moves_only_a_paused_study(admin):
    study = funded_ui_study(admin)
    with pytest.raises(ValidationError, match="already Active"):
        workflows.study_resume(membership=admin, study=study)
    workflows.study_pause(membership=admin, study=study)
    assert workflows.study_resume(membership=admin, study=study).status == Status.ACTIVE


# Copies -------------------------------------------------------------------------------------


def test_a_duplicate_carries_the_team_but_only_its_new_owner_hosts(admin, researcher,
                                                                     ops_manager):
    from scheduling.services import scheduling_settings_ensure

    study = funded_ui_study(admin)
    study.team.add(ops_manager.user)
    settings = scheduling_settings_ensure(study=study)
    settings.hosts.set([admin.user, ops_manager.user])
    copy = workflows.study_copy(membership=researcher, study=study, kind="duplicate",
                                name="Round 2")
    assert set(copy.team.values_list("pk", flat=True)) == {admin.user.pk, ops_manager.user.pk}
    assert list(copy.scheduling_settings.hosts.all()) == [researcher.user]
    assert Study.objects.filter(name="Round 2", owner=researcher.user).count() == 1


# SPEC R6 (a): the limit on the plan ----------------------------------------------------------


def _two_of_three_seats_taken(admin, study):
    study.participation_limit = 3
    study.save(update_fields=["participation_limit"])
    first, second, *_ = applications(study)
    applicant_invite(membership=admin, study=study, application_id=first.pk)
    applicant_invite(membership=admin, study=study, application_id=second.pk)
    assert intake_rows(study) == []  # two seats of three: still open


def test_lowering_the_limit_to_the_seats_taken_closes_intake_at_ui(admin, study, recruiting,
                                                                   sandbox_ui):
    _two_of_three_seats_taken(admin, study)
    workflows.study_plan_update(membership=admin, study=study,
                                changes={"participation_limit": "2"})
    assert [(row.payload["open"], row.payload["change"]) for row in intake_rows(study)] == [
        (False, 1)]
    run_pending(study, sandbox_ui)
    recruit = SandboxRecruit.objects.get(pk=recruiting.ui_recruit_id)
    assert recruit.intake_open is False and recruit.num_participants == 2

    # Saved again unchanged: nothing more to tell UI.
    workflows.study_plan_update(membership=admin, study=study,
                                changes={"participation_limit": "2"})
    assert len(intake_rows(study)) == 1


def test_the_plan_page_saves_the_limit_through_the_workflow(client_for, admin, study,
                                                            recruiting):
    _two_of_three_seats_taken(admin, study)
    response = client_for(admin).post(
        reverse("recruitment:study_plan_save", args=[study.pk]),
        {"name": study.name, "study_type": study.study_type, "source": study.source,
         "external_description": study.external_description, "participation_limit": "2",
         "incentive_amount": str(study.incentive_amount or "")})
    assert response.status_code == 302
    assert response.url == reverse("studies:study_plan", args=[study.pk])
    assert [row.payload["open"] for row in intake_rows(study)] == [False]


def test_a_limit_above_the_seats_taken_leaves_intake_open(admin, study, recruiting):
    study.participation_limit = 4
    study.save(update_fields=["participation_limit"])
    first, *_ = applications(study)
    applicant_invite(membership=admin, study=study, application_id=first.pk)
    workflows.study_plan_update(membership=admin, study=study,
                                changes={"participation_limit": "3"})
    assert intake_rows(study) == []


# SPEC R6 (b): starting with every seat taken -------------------------------------------------


@pytest.fixture
def full_study(workspace, admin):
    """An Active B2C UI interview for eight, every seat taken (invited and scheduled from an
    earlier start)."""
    study = StudyFactory(
        workspace=workspace, owner=admin.user, name="Onboarding interviews",
        study_type="interview", source="user_interviews", status=Status.ACTIVE,
        external_description="Tell us how you onboard new engineers.",
        participation_limit=8, incentive_amount=Decimal("75.00"), audience_type="b2c",
        duration_minutes=60, countries=["US"])
    for status in ["invited"] * 5 + ["scheduled"] * 3:
        ApplicationFactory(study=study, status=status)
    return study


def test_starting_a_full_study_creates_the_recruit_with_intake_closed(
        admin, workspace, full_study, sandbox_ui):
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    funds_add(admin, budget, "2000.00", "PO-2000")
    workflows.recruitment_start(membership=admin, study_id=full_study.pk, budget_id=budget.pk)
    rows = list(OutboxOperation.objects.filter(study_id=full_study.pk)
                .order_by("created_at", "id").values_list("operation", flat=True))
    assert rows == ["create_recruit", "launch_recruit", INTAKE_OPERATION]
    assert [row.payload["open"] for row in intake_rows(full_study)] == [False]

    run_pending(full_study, sandbox_ui)
    recruitment = Recruitment.objects.get(study=full_study)
    recruit = SandboxRecruit.objects.get(pk=recruitment.ui_recruit_id)
    assert recruit.intake_open is False
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    assert Application.objects.filter(study=full_study).count() == 8  # nobody new arrived


def test_starting_a_study_with_free_seats_tells_ui_nothing_about_intake(
        admin, workspace, full_study, sandbox_ui):
    Application.objects.filter(study=full_study, status="scheduled").update(status="rejected")
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    funds_add(admin, budget, "2000.00", "PO-2000")
    workflows.recruitment_start(membership=admin, study_id=full_study.pk, budget_id=budget.pk)
    assert intake_rows(full_study) == []
