"""Panel incentives: recorded against a budget once, no recruitment fee, refused when short."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from billing.models import Transfer
from billing.reconciliation import ledger_problems
from billing.selectors import budget_figures_for
from billing.services import FundsShortError, budget_add_funds, budget_default_ensure
from panel import services
from participants.models import Application
from rally import clock
from scheduling.models import Session
from tests.panel.factories import PanelPersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def budget(workspace, admin):
    budget = budget_default_ensure(workspace=workspace)
    budget_add_funds(membership=admin, budget=budget, amount=Decimal("150.00"),
                     reference="PO-7", key=uuid.uuid4())
    return budget


@pytest.fixture
def completed(study):
    """A panel application whose session was completed."""
    person = PanelPersonFactory(workspace=study.workspace)
    now = clock.now()
    application = Application.objects.create(
        study=study, participant=person, status="completed", source="rally_panel",
        applied_at=now, created_at=now, updated_at=now)
    Session.objects.create(workspace=study.workspace, study=study, application=application,
                           host=study.owner, starts_at=now - timedelta(hours=2),
                           ends_at=now - timedelta(hours=1), status="completed",
                           created_at=now, updated_at=now, status_changed_at=now)
    return application


def _record(membership, study, application, amount="100.00", **kwargs):
    return services.panel_incentive_record(
        membership=membership, study=study, application_id=application.pk, amount=amount,
        method=kwargs.pop("method", "gift_card"), reference=kwargs.pop("reference", "GC-1"),
        **kwargs)


def test_recording_twice_moves_the_money_once(researcher, study, budget, completed):
    transfer, created = _record(researcher, study, completed)
    again, created_again = _record(researcher, study, completed)
    assert created and not created_again and again.pk == transfer.pk
    assert transfer.key == f"panel-incentive:{completed.pk}"
    assert Transfer.objects.filter(study_id=study.pk).count() == 1  # no recruitment fee
    figures = budget_figures_for([budget])[budget.pk]
    assert figures.available == Decimal("50.00")
    assert figures.spent == Decimal("100.00")
    completed.refresh_from_db()
    assert completed.status == "paid"
    assert "Gift card" in transfer.description and "GC-1" in transfer.description
    assert ledger_problems() == []


def test_a_short_budget_is_refused_and_nothing_moves(researcher, study, budget, completed):
    with pytest.raises(FundsShortError, match=r"short by \$50\.00"):
        _record(researcher, study, completed, amount="200.00")
    assert not Transfer.objects.filter(study_id=study.pk).exists()
    completed.refresh_from_db()
    assert completed.status == "completed"
    assert ledger_problems() == []


@pytest.mark.parametrize(("amount", "method"), [("0", "gift_card"), ("-5", "gift_card"),
                                                ("abc", "gift_card"), ("10.001", "gift_card"),
                                                ("10", "crypto")])
def test_bad_input_records_nothing(researcher, study, budget, completed, amount, method):
    with pytest.raises(ValidationError):
        _record(researcher, study, completed, amount=amount, method=method)
    assert not Transfer.objects.filter(study_id=study.pk).exists()


def test_no_incentive_before_the_session_is_completed(researcher, study, budget, completed):
    Session.objects.filter(application=completed).update(status="upcoming")
    with pytest.raises(ValidationError, match="Completed"):
        _record(researcher, study, completed)


def test_observers_may_not_record(observer, study, budget, completed):
    with pytest.raises(PermissionDenied):
        _record(observer, study, completed)


def test_user_interviews_studies_are_refused(researcher, study, budget, completed):
    study.source = "user_interviews"
    study.save()
    with pytest.raises(ValidationError, match="Only Rally-panel"):
        _record(researcher, study, completed)


def test_record_page_and_payments_list(client_for, researcher, admin, study, budget,
                                       completed):
    url = reverse("panel:incentive_record", kwargs={"study_id": study.id,
                                                   "application_id": completed.pk})
    page = client_for(researcher).get(url)
    assert page.status_code == 200 and b'value="100.00"' in page.content
    response = client_for(researcher).post(url, {"amount": "500", "method": "gift_card",
                                                 "reference": "", "budget": budget.pk})
    assert response.status_code == 400 and b"short by $350.00" in response.content
    response = client_for(researcher).post(url, {"amount": "75.00", "method": "bank_transfer",
                                                 "reference": "TX-9", "budget": budget.pk})
    assert response.status_code == 302
    payments = client_for(admin).get(reverse("billing:payments"))
    assert b"Panel incentives" in payments.content and b"$75.00" in payments.content
    assert b"Bank transfer" in payments.content


def test_another_workspace_gets_404(client_for, outsider, study, completed):
    url = reverse("panel:incentive_record", kwargs={"study_id": study.id,
                                                   "application_id": completed.pk})
    assert client_for(outsider).get(url).status_code == 404
