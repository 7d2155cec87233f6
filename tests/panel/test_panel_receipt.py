"""Closing a Rally-panel study freezes its receipt (issue 21): the incentives the team paid
are its lines — participant, amount, paid on, method and reference, who marked it paid —
and one due but not paid at close is stated as such. The page, the PDF and the email all
read it from billing.receipts.receipt_document."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from billing.models import Payout, Receipt
from billing.panel_incentives import receipt_issue_for_team_paid
from billing.receipts import receipt_document
from panel import services as panel_services
from participants.models import Application
from rally.models import ActivityEntry
from recruitment.workflows import study_close
from scheduling import services as scheduling
from tests.billing.factories import receipt_emails_deliver
from tests.conftest import MONDAY_MORNING
from tests.panel.factories import PanelInvitationFactory, PanelStudyFactory

pytestmark = pytest.mark.django_db

#: Sessions at 10:00 and 11:00 New York on Monday 1 June 2026 (the clock: 08:00).
TEN_NY = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
ELEVEN_NY = TEN_NY + timedelta(hours=1)



def _booked(study, first_name, last_name, starts_at):
    invitation = PanelInvitationFactory(study=study, participant__first_name=first_name,
                                        participant__last_name=last_name)
    application = Application.objects.create(
        study=study, participant=invitation.participant, status="invited",
        source="rally_panel", applied_at=MONDAY_MORNING, created_at=MONDAY_MORNING,
        updated_at=MONDAY_MORNING)
    link = scheduling.invitation_from_token(scheduling.booking_token_make(application))
    return application, scheduling.session_book(invitation=link, starts_at=starts_at)


@pytest.fixture
def closed(panel_study, researcher, admin, funded, frozen_clock,
           django_capture_on_commit_callbacks):
    """Dana was paid by gift card (marked by the researcher); Eli's incentive was due and
    not paid when the Admin closed the study."""
    dana, dana_session = _booked(panel_study, "Dana", "Wells", TEN_NY)
    eli, eli_session = _booked(panel_study, "Eli", "Moss", ELEVEN_NY)
    frozen_clock.move_to(ELEVEN_NY + timedelta(hours=1, minutes=5))
    for session in (dana_session, eli_session):
        scheduling.session_mark(membership=researcher, session_id=session.pk,
                                status="completed")
    panel_services.panel_incentive_record(
        membership=researcher, study=panel_study, application_id=dana.pk, amount="40.00",
        method="gift_card", reference="GC-778")
    frozen_clock.move_to(ELEVEN_NY + timedelta(days=2))
    with django_capture_on_commit_callbacks(execute=False):
        study_close(membership=admin, study=panel_study)
    return panel_study, dana, eli


def test_closing_a_panel_study_freezes_what_the_team_paid(closed, funded):
    study, _dana, _eli = closed
    receipt = Receipt.objects.get(study_id=study.pk)
    assert (receipt.participants, receipt.incentives, receipt.recruitment_fees) == (
        1, Decimal("40.00"), Decimal("0.00"))
    assert (receipt.reserved, receipt.total_spent, receipt.unused) == (
        Decimal("40.00"), Decimal("40.00"), Decimal("0.00"))
    assert (receipt.budget_id, receipt.budget_name) == (funded.pk, "Workspace Budget")
    assert ActivityEntry.objects.filter(action="billing.receipt_issued",
                                        study_id=study.pk).count() == 1


def test_its_lines_say_how_each_was_paid_and_which_is_still_due(closed, researcher):
    study, _dana, _eli = closed
    document = receipt_document(Receipt.objects.get(study_id=study.pk))
    assert document["paid_by_team"]
    paid, due = document["lines"]
    assert (paid.participant, paid.incentive, paid.method, paid.reference, paid.paid_by) == (
        "Dana Wells", Decimal("40.00"), "Gift card", "GC-778", researcher.user.display_name)
    assert paid.paid_at == ELEVEN_NY + timedelta(hours=1, minutes=5)
    assert (due.participant, due.incentive, due.due, due.status, due.paid_at) == (
        "Eli Moss", Decimal("0.00"), Decimal("40.00"), "Due, not paid", None)
    assert (document["line_incentives"], document["unpaid_count"],
            document["unpaid_total"]) == (Decimal("40.00"), 1, Decimal("40.00"))


def test_the_page_the_pdf_and_the_email_show_the_same_lines(closed, admin, researcher,
                                                            client_for):
    study, _dana, _eli = closed
    receipt = Receipt.objects.get(study_id=study.pk)
    client = client_for(admin)
    page = client.get(reverse("billing:receipt_detail", args=[receipt.pk])).content.decode()
    pdf = client.get(reverse("billing:receipt_pdf", args=[receipt.pk]))
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert receipt_emails_deliver() == 1
    [message] = mail.outbox
    html = message.alternatives[0][0]
    for rendering in (page, pdf_text, html, message.body):
        for words in ("Dana Wells", "GC-778", researcher.user.display_name, "Eli Moss",
                      "Due, not paid", "$40.00"):
            assert words in rendering, (words, rendering[:200])
        assert "UI payment" not in rendering and "Unused" not in rendering
    assert "Gift card · GC-778" in page
    assert "1 incentive ($40.00) was not paid when the study closed" in page


def test_issuing_again_changes_nothing_and_a_later_payment_keeps_the_figures(
        closed, researcher, admin, frozen_clock):
    study, _dana, eli = closed
    receipt = Receipt.objects.get(study_id=study.pk)
    again, created = receipt_issue_for_team_paid(study_id=study.pk, study_name=study.name,
                                                 actor=admin.user)
    assert (again.pk, created) == (receipt.pk, False)
    # Eli is paid after the close: "Mark as paid" still works; the receipt does not move.
    frozen_clock.shift(timedelta(hours=1))
    panel_services.panel_incentive_record(
        membership=researcher, study=study, application_id=eli.pk, amount="40.00",
        method="cash", reference="")
    assert Payout.objects.get(application_id=eli.pk).state == Payout.State.PAID
    document = receipt_document(Receipt.objects.get(pk=receipt.pk))
    assert document["line_incentives"] == receipt.incentives == Decimal("40.00")
    assert document["lines"][1].status == "Paid after this receipt was issued"


def test_a_panel_study_closed_without_any_session_has_no_receipt(workspace, researcher,
                                                                 admin, frozen_clock):
    study = PanelStudyFactory(workspace=workspace, owner=researcher.user,
                              incentive_amount=Decimal("40.00"))
    study_close(membership=admin, study=study)
    assert not Receipt.objects.filter(study_id=study.pk).exists()
