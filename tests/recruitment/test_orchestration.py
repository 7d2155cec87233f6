"""Review & Start, pause/resume and close, and starting again after a declined or failed
start: money, outbox rows and refusals (SPEC R1, R2, R7, B3, B5, B6; QUALITY invariants 4, 5,
10)."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

import threading
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from billing.models import Receipt, Reservation, Transfer
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for, study_billing_for
from billing.services import reservation_charge_participant
from rally import clock
from rally.models import ActivityEntry, OutboxOperation
from recruitment import operations, orchestration, outbox, sync, workflows
from recruitment.models import Recruitment
from recruitment.sync import recruitment_mark_failed
from studies.models import Status
from studies.services import characteristics_replace
from tests.billing.factories import BudgetFactory, funds_add, receipt_emails_deliver
from tests.recruitment.start_support import startable_study
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)
from tests.studies.factories import CATALOG, StudyFactory

pytestmark = pytest.mark.django_db

# 8 participants × ($65 B2B moderated fee + $75 incentive) = $1,120.00
ESTIMATE = Decimal("1120.00")


@pytest.fixture
def catalog(db):

    characteristics_replace(items=CATALOG)


@pytest.fixture
def budget(workspace, admin):
    budget = BudgetFactory(workspace=workspace, name="Workspace Budget")
    funds_add(admin, budget, "2000.00", "PO-2000")
    return budget


@pytest.fixture
def study(workspace, researcher, ops_manager, catalog):
    """An Active B2B User Interviews interview, owned by the researcher, Ops on the team."""
    study = startable_study(workspace=workspace, owner=researcher.user,
                            team_member=ops_manager.user)
    return study


def _available(budget):
    return budget_figures_for([budget])[budget.pk].available


def _start_at_once(budget, starts):
    """Run "Start Recruitment" for each (membership, study) in its own thread, all at once;
    returns the outcomes sorted ("refused" / "started")."""
    barrier = threading.Barrier(len(starts))
    outcomes = []

    def start(membership, study):
        barrier.wait()
        try:
            orchestration.recruitment_start(membership=membership, study_id=study.id,
                                            budget_id=budget.id)
            outcomes.append("started")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=pair) for pair in starts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_start_reserves_the_estimate_and_queues_create_and_launch(study, budget, admin):
    recruitment = orchestration.recruitment_start(membership=admin, study_id=study.id,
                                                  budget_id=budget.id)
    assert recruitment.state == Recruitment.State.STARTING
    assert _available(budget) == Decimal("2000.00") - ESTIMATE
    assert study_billing_for(study.id)["figures"]["reserved"] == ESTIMATE
    operations = list(OutboxOperation.objects.filter(study_id=study.id)
                      .values_list("operation", flat=True))
    assert sorted(operations) == ["create_recruit", "launch_recruit"]
    study.refresh_from_db()
    assert study.is_recruitment_locked


def test_starting_twice_reserves_once(study, budget, admin, ops_manager):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    with pytest.raises(ValidationError, match="already started"):
        orchestration.recruitment_start(membership=ops_manager, study_id=study.id,
                                        budget_id=budget.id)
    assert _available(budget) == Decimal("2000.00") - ESTIMATE
    assert OutboxOperation.objects.filter(study_id=study.id).count() == 2


def test_start_refuses_a_short_budget_with_the_shortfall(study, workspace, admin):
    poor = BudgetFactory(workspace=workspace, name="Small")
    funds_add(admin, poor, "1000.00")
    with pytest.raises(ValidationError) as refusal:
        orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=poor.id)
    assert refusal.value.shortfall == Decimal("120.00")
    assert not Recruitment.objects.filter(study=study, state="starting").exists()
    assert not OutboxOperation.objects.filter(study_id=study.id).exists()
    assert _available(poor) == Decimal("1000.00")


@pytest.mark.parametrize("persona", ["researcher", "observer"])
def test_only_admins_and_ops_on_the_team_may_start(study, budget, personas, persona):
    with pytest.raises(PermissionDenied):
        orchestration.recruitment_start(membership=personas[persona], study_id=study.id,
                                        budget_id=budget.id)
    assert not Transfer.objects.filter(study_id=study.id).exists()


def test_an_ops_manager_off_the_team_may_not_start(study, budget, ops_manager):
    study.team.remove(ops_manager.user)
    with pytest.raises(PermissionDenied):
        orchestration.recruitment_start(membership=ops_manager, study_id=study.id,
                                        budget_id=budget.id)


@pytest.mark.parametrize("change", [
    {"status": Status.DRAFT}, {"participation_limit": None}, {"source": "rally_panel"},
    {"criteria": []},
])
def test_start_refuses_a_study_that_is_not_ready(study, budget, admin, change):
    for field, value in change.items():
        setattr(study, field, value)
    study.save()
    with pytest.raises(ValidationError):
        orchestration.recruitment_start(membership=admin, study_id=study.id,
                                        budget_id=budget.id)
    assert not Transfer.objects.filter(study_id=study.id).exists()


def test_another_workspaces_budget_is_refused(study, admin, outsider):
    foreign = BudgetFactory(workspace=outsider.workspace)
    funds_add(outsider, foreign, "5000.00")
    with pytest.raises(ValidationError):
        orchestration.recruitment_start(membership=admin, study_id=study.id,
                                        budget_id=foreign.id)
    assert _available(foreign) == Decimal("5000.00")


def test_a_failed_start_returns_the_money_at_once(study, budget, admin):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    recruitment_mark_failed(study_id=study.id, reason="UI said no", actor_label="task:test")
    assert _available(budget) == Decimal("2000.00")
    assert study_billing_for(study.id)["figures"]["hold"] == Decimal("0.00")
    # Recorded once: a second failure report moves nothing.
    recruitment_mark_failed(study_id=study.id, reason="UI said no", actor_label="task:test")
    assert _available(budget) == Decimal("2000.00")
    assert Transfer.objects.filter(study_id=study.id, kind="release").count() == 1


def test_pause_and_resume_move_no_money_and_reach_ui(study, budget, admin):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    Recruitment.objects.filter(study=study).update(state=Recruitment.State.RECRUITING)
    before = _available(budget)
    workflows.study_status_change(membership=admin, study=study, to=Status.PAUSED)
    workflows.study_status_change(membership=admin, study=study, to=Status.ACTIVE)
    workflows.study_status_change(membership=admin, study=study, to=Status.PAUSED)
    assert _available(budget) == before
    operations = list(OutboxOperation.objects.filter(study_id=study.id)
                      .order_by("created_at").values_list("operation", flat=True))
    assert operations[2:] == ["pause_recruit", "resume_recruit", "pause_recruit"]


def test_close_returns_the_unused_money_and_freezes_the_receipt(
        study, budget, admin, django_capture_on_commit_callbacks, mailoutbox):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    Recruitment.objects.filter(study=study).update(state=Recruitment.State.RECRUITING)
    with django_capture_on_commit_callbacks(execute=True):
        workflows.study_status_change(membership=admin, study=study, to=Status.CLOSED)
    assert _available(budget) == Decimal("2000.00")
    receipt = Receipt.objects.get(study_id=study.id)
    assert (receipt.reserved, receipt.total_spent, receipt.unused) == (
        ESTIMATE, Decimal("0.00"), ESTIMATE)
    assert OutboxOperation.objects.filter(study_id=study.id, operation="close_recruit").exists()
    assert mailoutbox == []  # a worker sends the receipt, never the request
    assert receipt_emails_deliver() == 1
    assert [message.to for message in mailoutbox] == [[admin.user.email]]
    with pytest.raises(ValidationError):
        workflows.study_status_change(membership=admin, study=study, to=Status.CLOSED)
    assert Receipt.objects.filter(study_id=study.id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_studies_racing_for_a_budget_that_covers_one(workspace, admin, researcher, catalog):
    budget = BudgetFactory(workspace=workspace, name="Tight")
    funds_add(admin, budget, "1500.00")
    studies = [StudyFactory(
        workspace=workspace, owner=researcher.user, name=f"Race {n}", study_type="interview",
        source="user_interviews", status=Status.ACTIVE, external_description="Race.",
        participation_limit=8, incentive_amount=Decimal("75.00"), audience_type="b2c",
        duration_minutes=30) for n in range(2)]
    assert _start_at_once(budget, [(admin, study) for study in studies]) == ["refused", "started"]
    # B2C moderated: 8 × ($39 + $75) = $912.00
    assert _available(budget) == Decimal("1500.00") - Decimal("912.00")


def test_review_and_start_is_hidden_and_refused_for_researchers(client_for, study, budget,
                                                                researcher):
    client = client_for(researcher)
    overview = client.get(reverse("studies:study_overview", args=[study.id])).content.decode()
    assert "Review &amp; Start" not in overview
    response = client.post(reverse("recruitment:start", args=[study.id]),
                           {"budget": str(budget.id)})
    assert response.status_code == 403
    assert not Transfer.objects.filter(study_id=study.id).exists()


def test_review_and_start_dialog_shows_both_cost_parts_and_starts(client_for, study, budget,
                                                                  ops_manager):
    client = client_for(ops_manager)
    overview = client.get(reverse("studies:study_overview", args=[study.id])).content.decode()
    assert "Review &amp; Start" in overview
    page = client.get(reverse("recruitment:start", args=[study.id])).content.decode()
    assert "8 × $65.00" in page and "8 × $75.00" in page and "$1,120.00" in page
    assert "$2,000.00 available" in page
    response = client.post(reverse("recruitment:start", args=[study.id]),
                           {"budget": str(budget.id)})
    assert response.status_code == 302
    assert _available(budget) == Decimal("2000.00") - ESTIMATE


def test_dialog_names_the_shortfall_and_offers_add_funds(client_for, study, workspace, admin):
    poor = BudgetFactory(workspace=workspace, name="Small")
    funds_add(admin, poor, "1000.00")
    page = client_for(admin).get(reverse("recruitment:start", args=[study.id]),
                                 {"budget": str(poor.id)}).content.decode()
    assert "Small is short by" in page and "$120.00" in page
    assert reverse("billing:funds_add", args=[poor.id]) in page


def test_lowering_the_limit_after_start_returns_the_seats_and_tells_ui(study, budget, admin):
    from studies.services import study_update_plan

    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    study_update_plan(membership=admin, study=study, changes={"participation_limit": "6"})
    # 2 seats × ($65 + $75) back to the budget.
    assert _available(budget) == Decimal("2000.00") - ESTIMATE + Decimal("280.00")
    update = OutboxOperation.objects.get(study_id=study.id, operation="update_recruit")
    assert update.payload["fields"] == ["num_participants"]
    with pytest.raises(ValidationError):
        study_update_plan(membership=admin, study=study, changes={"participation_limit": "7"})
    assert _available(budget) == Decimal("2000.00") - ESTIMATE + Decimal("280.00")


def test_overview_offers_the_application_link_once_ui_gives_one(client_for, study, budget,
                                                                  admin):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    Recruitment.objects.filter(study=study).update(
        state=Recruitment.State.RECRUITING,
        application_url="https://www.userinterviews.com/projects/abc/apply")
    page = client_for(admin).get(reverse("studies:study_overview", args=[study.id]))
    text = page.content.decode()
    assert "Copy application link" in text
    assert "https://www.userinterviews.com/projects/abc/apply" in text
    assert "chat" not in text.lower()  # SPEC R9: no chat control for UI studies


@pytest.mark.django_db(transaction=True)
def test_two_admins_starting_the_same_study_at_once_make_one_reservation(
        workspace, admin, ops_manager, researcher, catalog):
    budget = BudgetFactory(workspace=workspace, name="Big")
    funds_add(admin, budget, "10000.00")
    study = StudyFactory(
        workspace=workspace, owner=researcher.user, name="Double click", study_type="interview",
        source="user_interviews", status=Status.ACTIVE, external_description="Twice.",
        participation_limit=8, incentive_amount=Decimal("75.00"), audience_type="b2c",
        duration_minutes=30)
    study.team.add(ops_manager.user)
    outcomes = _start_at_once(budget, [(admin, study), (ops_manager, study)])
    assert outcomes == ["refused", "started"]
    assert Transfer.objects.filter(study_id=study.id, kind="reserve").count() == 1
    assert OutboxOperation.objects.filter(study_id=study.id,
                                          operation="create_recruit").count() == 1
    assert _available(budget) == Decimal("10000.00") - Decimal("912.00")


# Starting again after a declined or failed start (SPEC R2) -----------------------------------


def _run_outbox(study, client):
    """Run the study's outbox rows still to do against UI, oldest first (a create before
    its launch)."""
    rows = OutboxOperation.objects.filter(study_id=study.id, status="pending")
    return [outbox.outbox_execute(operation_id=row.pk, client=client)
            for row in rows.order_by("created_at", "operation")]


def _decline_at_ui(recruitment, client, reason):
    sandbox_control(client, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "decline", "reason": reason})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=client)
    recruitment.refresh_from_db()
    return recruitment


def test_declined_by_ui_funds_return_and_the_study_starts_again_as_a_second_recruit(
        study, budget, admin, ops_manager, sandbox_ui):


    # The sandbox knows UI's own characteristic ids.
    characteristics_replace(items=[*CATALOG, {
        "slug": "job_function", "name": "Job function", "category": "professional",
        "type": "single_select", "audience_types": ["b2b"], "range": None,
        "choices": [{"id": "engineering", "label": "Engineering"}]}])
    study.criteria = [{"characteristic": "job_function", "values": ["engineering"]}]
    study.save()
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    assert _run_outbox(study, sandbox_ui) == ["done", "done"]
    recruitment = Recruitment.objects.get(study=study)
    first_recruit = recruitment.ui_recruit_id
    assert sandbox_ui.recruit_get(first_recruit).external_id == str(study.id)
    recruitment = _decline_at_ui(recruitment, sandbox_ui, "Incentive too low")
    assert recruitment.state == Recruitment.State.DECLINED
    assert _available(budget) == Decimal("2000.00")

    orchestration.recruitment_start(membership=ops_manager, study_id=study.id,
                                    budget_id=budget.id)
    recruitment.refresh_from_db()
    assert (recruitment.state, recruitment.start_attempts) == (Recruitment.State.STARTING, 2)
    assert recruitment.declined_reason == ""
    assert _available(budget) == Decimal("2000.00") - ESTIMATE
    reservations = Reservation.objects.filter(study_id=study.id).order_by("attempt")
    assert [(r.attempt, r.is_open) for r in reservations] == [(1, False), (2, True)]
    rows = OutboxOperation.objects.filter(study_id=study.id)
    assert sorted((row.operation, row.payload["attempt"]) for row in rows) == [
        ("create_recruit", 1), ("create_recruit", 2), ("launch_recruit", 1),
        ("launch_recruit", 2)]
    assert len({row.idempotency_key for row in rows}) == 4
    # The new launch never acts on the declined recruit: it waits for the new one.
    assert recruitment.ui_recruit_id is None
    launch = rows.get(operation="launch_recruit", payload__attempt=2)
    assert outbox.outbox_execute(operation_id=launch.pk, client=sandbox_ui) == "pending"
    clock.advance(seconds=60)
    assert _run_outbox(study, sandbox_ui) == ["done", "done"]
    recruitment.refresh_from_db()
    assert recruitment.ui_recruit_id != first_recruit
    assert recruitment.state == Recruitment.State.PENDING_REVIEW
    assert sandbox_ui.recruit_get(recruitment.ui_recruit_id).external_id == f"{study.id}:2"
    assert study_billing_for(study.id)["figures"]["reserved"] == ESTIMATE
    assert ledger_problems() == []


def test_a_declined_study_offers_review_and_start_again_with_the_reason(
        study, budget, admin, ops_manager, client_for):

    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    sync.recruitment_apply_recruit(study_id=study.id, adopt=True, actor_label="task:poller",
                                   result={"recruit_id": "rec_1", "status": "declined",
                                           "application_url": "",
                                           "declined_reason": "Incentive too low",
                                           "updated_at": "2026-11-20T10:00:00+00:00"})
    assert _available(budget) == Decimal("2000.00")
    client = client_for(ops_manager)
    overview = client.get(reverse("studies:study_overview", args=[study.id])).content.decode()
    assert "Review &amp; Start" in overview and "Incentive too low" in overview
    assert "starts recruitment again with a new reservation" in overview
    assert "The reserved <span class=\"money\">$1,120.00</span> went back to Workspace Budget" \
        in overview
    dialog = client.get(reverse("recruitment:start", args=[study.id])).content.decode()
    assert "Last start:" in dialog and "Incentive too low" in dialog
    assert "$2,000.00 available" in dialog
    response = client.post(reverse("recruitment:start", args=[study.id]),
                           {"budget": str(budget.id)})
    assert response.status_code == 302
    assert _available(budget) == Decimal("2000.00") - ESTIMATE
    overview = client.get(reverse("studies:study_overview", args=[study.id])).content.decode()
    assert "Review &amp; Start" not in overview and "Waiting for User Interviews" in overview
    assert "The reserved funds went back" not in overview


def test_a_failed_launch_is_started_again_with_a_reservation_of_its_own(study, budget, admin):

    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    recruitment_mark_failed(study_id=study.id, reason="UI kept answering 503",
                            actor_label="task:outbox:launch_recruit")
    study.refresh_from_db()
    assert not study.is_recruitment_locked  # the audience can be fixed before the restart
    assert orchestration.start_problems(study) == []
    recruitment = orchestration.recruitment_start(membership=admin, study_id=study.id,
                                                  budget_id=budget.id)
    assert (recruitment.state, recruitment.failure_reason) == ("starting", "")
    assert Reservation.objects.filter(study_id=study.id).count() == 2
    assert _available(budget) == Decimal("2000.00") - ESTIMATE
    launches = OutboxOperation.objects.filter(study_id=study.id, operation="launch_recruit")
    assert sorted(row.payload["attempt"] for row in launches) == [1, 2]
    study.refresh_from_db()
    assert study.is_recruitment_locked
    entry = ActivityEntry.objects.filter(study_id=study.id, action="recruitment.started") \
        .order_by("-created_at").first()
    assert "again" in entry.summary and entry.data["attempt"] == 2
    # Starting the second start twice is starting it once.
    with pytest.raises(ValidationError, match="already started"):
        orchestration.recruitment_start(membership=admin, study_id=study.id,
                                        budget_id=budget.id)
    assert Reservation.objects.filter(study_id=study.id).count() == 2


def test_restart_is_refused_with_a_reason_while_the_last_funds_are_still_reserved(
        study, budget, admin, client_for):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    # UI's decline is recorded but its release has not happened (no hook ran).
    Recruitment.objects.filter(study=study).update(state=Recruitment.State.DECLINED,
                                                   declined_reason="Too vague")
    before = Transfer.objects.count()
    with pytest.raises(ValidationError, match="still being returned"):
        orchestration.recruitment_start(membership=admin, study_id=study.id,
                                        budget_id=budget.id)
    client = client_for(admin)
    response = client.post(reverse("recruitment:start", args=[study.id]),
                           {"budget": str(budget.id)})
    assert response.status_code == 400
    assert "still being returned" in response.content.decode()
    overview = client.get(reverse("studies:study_overview", args=[study.id])).content.decode()
    assert "still being returned" in overview
    assert Transfer.objects.count() == before
    assert Recruitment.objects.get(study=study).start_attempts == 1


def test_only_admins_and_ops_on_the_team_restart_a_declined_study(
        study, budget, admin, personas, client_for):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    recruitment_mark_failed(study_id=study.id, reason="Refused", actor_label="task:test")
    for persona in ("researcher", "observer"):
        client = client_for(personas[persona])
        overview = client.get(reverse("studies:study_overview", args=[study.id]))
        assert "Review &amp; Start" not in overview.content.decode()
        response = client.post(reverse("recruitment:start", args=[study.id]),
                               {"budget": str(budget.id)})
        assert response.status_code == 403
    assert Transfer.objects.filter(study_id=study.id, kind="reserve").count() == 1


def test_close_after_a_restart_freezes_the_figures_of_the_start_that_ran(
        study, budget, admin, django_capture_on_commit_callbacks, mailoutbox):


    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    recruitment_mark_failed(study_id=study.id, reason="Refused", actor_label="task:test")
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    Recruitment.objects.filter(study=study).update(state=Recruitment.State.RECRUITING)
    for _ in range(3):
        reservation_charge_participant(study_id=study.id, session_id=uuid.uuid4(),
                                       actor="task:test")
    with django_capture_on_commit_callbacks(execute=True):
        workflows.study_status_change(membership=admin, study=study, to=Status.CLOSED)
    receipt = Receipt.objects.get(study_id=study.id)
    spent = 3 * Decimal("140.00")  # 3 × ($65 + $75)
    assert (receipt.reserved, receipt.total_spent, receipt.unused) == (
        ESTIMATE, spent, ESTIMATE - spent)
    assert (receipt.recruitment_fees, receipt.incentives) == (
        Decimal("195.00"), Decimal("225.00"))
    figures = study_billing_for(study.id)["figures"]
    assert (figures["reserved"], figures["total_spent"], figures["unused"]) == (
        receipt.reserved, receipt.total_spent, receipt.unused)
    assert _available(budget) == Decimal("2000.00") - spent
    assert ledger_problems() == []
    receipt_emails_deliver()
    assert len(mailoutbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_admins_restarting_a_declined_study_at_once_make_one_new_start(
        workspace, admin, ops_manager, researcher, catalog):

    budget = BudgetFactory(workspace=workspace, name="Big")
    funds_add(admin, budget, "10000.00")
    study = StudyFactory(
        workspace=workspace, owner=researcher.user, name="Double restart",
        study_type="interview", source="user_interviews", status=Status.ACTIVE,
        external_description="Twice.", participation_limit=8,
        incentive_amount=Decimal("75.00"), audience_type="b2c", duration_minutes=30)
    study.team.add(ops_manager.user)
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    recruitment_mark_failed(study_id=study.id, reason="Refused", actor_label="task:test")
    outcomes = _start_at_once(budget, [(admin, study), (ops_manager, study)])
    assert outcomes == ["refused", "started"]
    assert Reservation.objects.filter(study_id=study.id).count() == 2
    assert OutboxOperation.objects.filter(study_id=study.id,
                                          operation="create_recruit").count() == 2
    assert _available(budget) == Decimal("10000.00") - Decimal("912.00")


def test_closing_a_declined_study_without_starting_again_spends_nothing(
        study, budget, admin, client_for, django_capture_on_commit_callbacks):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    recruitment_mark_failed(study_id=study.id, reason="Refused", actor_label="task:test")
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    recruitment_mark_failed(study_id=study.id, reason="Refused again", actor_label="task:test")
    before = Transfer.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        workflows.study_status_change(membership=admin, study=study, to=Status.CLOSED)
    assert Transfer.objects.count() == before
    receipt = Receipt.objects.get(study_id=study.id)
    # The receipt is the last start's alone: not the two reservations added up.
    assert (receipt.reserved, receipt.total_spent, receipt.unused) == (
        ESTIMATE, Decimal("0.00"), ESTIMATE)
    assert _available(budget) == Decimal("2000.00")
    assert ledger_problems() == []
    with pytest.raises(ValidationError):
        orchestration.recruitment_start(membership=admin, study_id=study.id,
                                        budget_id=budget.id)
    overview = client_for(admin).get(
        reverse("studies:study_overview", args=[study.id])).content.decode()
    assert "Final billing details" in overview and receipt.number in overview
    assert "Review &amp; Start" not in overview and "start recruitment again" not in overview
    assert "Publish the study first" not in overview


def test_an_earlier_starts_leftover_operations_never_act_for_the_new_start(
        study, budget, admin):
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    rows = OutboxOperation.objects.filter(study_id=study.id)
    create, launch = rows.get(operation="create_recruit"), rows.get(operation="launch_recruit")
    # UI refused the recruit for good; the launch is still waiting for it, in a worker.
    OutboxOperation.objects.filter(pk=create.pk).update(status="failed", last_error="422")
    recruitment_mark_failed(study_id=study.id, reason="UI answered 422",
                            actor_label="task:outbox:create_recruit")
    claimed = outbox.outbox_claim(launch.pk)
    assert claimed is not None

    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    create.refresh_from_db()
    launch.refresh_from_db()
    assert (create.status, launch.status) == ("done", "done")
    assert create.result == {"superseded_by_attempt": 2}
    assert "start 2 replaced" in launch.last_error
    waiting = outbox.outbox_operations_for_study(workspace=study.workspace, study_id=study.id)
    assert sorted((row.operation, row.payload["attempt"]) for row in waiting) == [
        ("create_recruit", 2), ("launch_recruit", 2)]
    # The old launch's worker gives up now: the new start is not failed, no money moves.
    before = Transfer.objects.count()
    assert outbox._record_failure(claimed, operations.HANDLERS["launch_recruit"],
                                  "Gave up after 10 attempts") is None
    assert Recruitment.objects.get(study=study).state == Recruitment.State.STARTING
    assert Transfer.objects.count() == before
    # "Retry now" on the old create does not bring the old recruit back.
    outbox.outbox_retry_now(membership=admin, operation_id=create.pk)
    create.refresh_from_db()
    assert create.status == "done"
    entry = ActivityEntry.objects.filter(study_id=study.id, action="recruitment.started") \
        .order_by("-created_at").first()
    assert entry.data["superseded"] == 2


def test_lowering_the_limit_in_a_later_start_reaches_that_starts_recruit(
        study, budget, admin, sandbox_ui):
    """Lowered to 6 in the first start, back to 8 after UI declined, lowered to 6 again in
    the second start: the second recruit gets 6 too (the first start's change is not taken
    for it)."""
    from studies.services import study_update_plan

    characteristics_replace(items=[*CATALOG, {
        "slug": "job_function", "name": "Job function", "category": "professional",
        "type": "single_select", "audience_types": ["b2b"], "range": None,
        "choices": [{"id": "engineering", "label": "Engineering"}]}])
    study.criteria = [{"characteristic": "job_function", "values": ["engineering"]}]
    study.save()
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    assert _run_outbox(study, sandbox_ui) == ["done", "done"]
    study_update_plan(membership=admin, study=study, changes={"participation_limit": "6"})
    assert _run_outbox(study, sandbox_ui) == ["done"]
    recruitment = Recruitment.objects.get(study=study)
    first_recruit = recruitment.ui_recruit_id
    assert sandbox_ui.recruit_get(first_recruit).num_participants == 6
    _decline_at_ui(recruitment, sandbox_ui, "Incentive too low")

    study.refresh_from_db()
    study_update_plan(membership=admin, study=study, changes={"participation_limit": "8"})
    orchestration.recruitment_start(membership=admin, study_id=study.id, budget_id=budget.id)
    clock.advance(seconds=60)
    assert _run_outbox(study, sandbox_ui) == ["done", "done"]
    recruitment.refresh_from_db()
    assert recruitment.ui_recruit_id != first_recruit
    assert sandbox_ui.recruit_get(recruitment.ui_recruit_id).num_participants == 8

    study.refresh_from_db()
    study_update_plan(membership=admin, study=study, changes={"participation_limit": "6"})
    assert _run_outbox(study, sandbox_ui) == ["done"]
    assert sandbox_ui.recruit_get(recruitment.ui_recruit_id).num_participants == 6
    assert OutboxOperation.objects.filter(study_id=study.id,
                                          operation="update_recruit").count() == 2
    # 6 seats × ($65 + $75) reserved for the second start, nothing else.
    assert _available(budget) == Decimal("2000.00") - Decimal("840.00")
    assert ledger_problems() == []
