"""Receipts a finance person can use (SPEC B7, W6): itemised lines; the page, the PDF and the
email agree to the cent; the email is sent by a worker with retries and reads as plain text;
times carry their zone."""
# ruff: noqa: F811 - the dispatched fixture is imported from payouts_support by name

import io
import re
import smtplib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from billing import payouts, receipts
from billing.models import Receipt, ReceiptEmail
from billing.money import money_format
from rally import clock
from recruitment.workflows import study_status_change
from scheduling.services import session_complete_and_pay
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    dispatched,
    ended_session,
    funded_ui_study,
)
from tests.participants.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

FEE, INCENTIVE = Decimal("65.00"), Decimal("100.00")
NAME = 'Checkout <beta> & "friends"'


def _paid(admin, study, name, payment_id, *, paid=True):
    application = ApplicationFactory(study=study, status="scheduled")
    participant = application.participant
    participant.first_name, participant.last_initial = name.split(" ", 1)
    participant.save()
    session = ended_session(study, application=application)
    _, payout = session_complete_and_pay(membership=admin, session_id=session.pk)
    payouts.payout_record_sent(payout_id=payout.pk, ui_payment_id=payment_id,
                               ui_status="paid" if paid else "pending", actor="webhook:evt")
    if not paid:
        payouts.payout_record_status(payout_id=payout.pk, ui_payment_id=payment_id,
                                     ui_status="failed", reason="Recipient refused",
                                     actor="webhook:evt_f")
    payout.refresh_from_db()
    return payout


@pytest.fixture
def closed(admin, dispatched, django_capture_on_commit_callbacks):
    """A study closed with two incentives paid and one failed for good (given back)."""
    admin.user.time_zone = "Europe/Berlin"
    admin.user.save()
    study = funded_ui_study(admin, limit=4, name=NAME)
    paid = [_paid(admin, study, "D'Arcy N", "pay_ana"), _paid(admin, study, "Ben O", "pay_ben")]
    failed = _paid(admin, study, "Cleo P", "pay_cleo", paid=False)
    with django_capture_on_commit_callbacks(execute=True):
        study_status_change(membership=admin, study=study, to="closed")
    return Receipt.objects.get(study_id=study.pk), paid, failed


def _money_in(text):
    return re.findall(r"\$[0-9,]+\.[0-9]{2}", text)


def test_a_receipt_is_itemised_and_its_lines_add_up(closed):
    receipt, paid, failed = closed
    lines = receipts.receipt_lines(receipt)
    assert [line.participant for line in lines] == ["D'Arcy N.", "Ben O.", "Cleo P."]
    assert [line.session_ended_at for line in lines] == sorted(
        line.session_ended_at for line in lines)  # in the order the sessions took place
    by_name = {line.participant: line for line in lines}
    for payout in paid:
        line = by_name[payout.participant_label]
        assert (line.fee, line.incentive) == (FEE, INCENTIVE)
        assert line.paid_at == payout.confirmed_at and line.ui_payment_id == payout.ui_payment_id
        assert line.session_ended_at == payout.due_at - timedelta(hours=24)
    assert by_name[failed.participant_label].incentive == Decimal("0.00")
    assert by_name[failed.participant_label].paid_at is None
    assert sum(line.fee for line in lines) == receipt.recruitment_fees == 3 * FEE
    assert sum(line.incentive for line in lines) == receipt.incentives == 2 * INCENTIVE


def test_the_page_the_pdf_and_the_email_agree_to_the_cent(closed, admin, client_for,
                                                          dispatched):
    receipt, paid, _ = closed
    [(_, [email_id])] = [call for call in dispatched
                            if call[0] == receipts.RECEIPT_EMAIL_TASK]
    assert receipts.receipt_email_send(receipt_email_id=email_id)
    [message] = mail.outbox
    html = next(body for body, kind in message.alternatives if kind == "text/html")
    page = client_for(admin).get(reverse("billing:receipt_detail", args=[receipt.pk]))
    page_html = page.content.decode()
    pdf = client_for(admin).get(reverse("billing:receipt_pdf", args=[receipt.pk]))
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for payout in paid:
        for rendering in (page_html, pdf_text, html, message.body):
            assert payout.ui_payment_id in rendering
    # The same amounts, in the same order, in every rendering's lines.
    lines_html = page_html[page_html.index("receipt-lines"):]
    expected = []
    for line in receipts.receipt_lines(receipt):
        expected += [money_format(line.fee), money_format(line.incentive)]
    assert _money_in(lines_html)[:len(expected)] == expected
    assert _money_in(html[html.index("Participants paid for"):])[:len(expected)] == expected
    assert _money_in(message.body[message.body.index("Participants paid for"):]) == expected
    assert _money_in(pdf_text[pdf_text.index("Participants paid for"):])[:len(expected)] \
        == expected
    for figure in (receipt.reserved, receipt.total_spent, receipt.unused):
        for rendering in (page_html, pdf_text, html, message.body):
            assert money_format(figure) in rendering


def test_the_email_is_sent_by_a_worker_once_reads_as_text_and_links_back(closed, dispatched):
    receipt, paid, _ = closed
    assert mail.outbox == []  # not inside the request that closed the study
    email = ReceiptEmail.objects.get(receipt=receipt)
    assert (email.to_id, email.sent_at) == (receipt.issued_to_id, None)
    assert receipts.receipt_email_send(receipt_email_id=email.pk)
    assert not receipts.receipt_email_send(receipt_email_id=email.pk)  # a redelivered task
    [message] = mail.outbox
    body = message.body
    assert NAME in body and paid[0].participant_label == "D'Arcy N." in body
    assert not re.search(r"&(lt|gt|amp|quot|#x?[0-9a-f]+);", body)
    assert receipts.receipt_url(receipt) in body
    assert f'href="{receipts.receipt_url(receipt)}"' in message.alternatives[0][0]
    assert message.attachments[0][2] == "application/pdf"


def test_a_mail_outage_is_retried_and_the_sweeper_sends_it_later(closed, monkeypatch):
    receipt, _, _ = closed
    email = ReceiptEmail.objects.get(receipt=receipt)

    def down(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", down)
    with pytest.raises(OSError):  # the task retries it with back-off
        receipts.receipt_email_send(receipt_email_id=email.pk)
    email.refresh_from_db()
    assert email.attempts == 1 and "SMTPServerDisconnected" in email.last_error
    assert email.sent_at is None
    monkeypatch.undo()
    assert receipts.receipt_emails_due() == []  # the prompt retry gets its head start
    clock.advance(seconds=int(receipts.SWEEP_GRACE.total_seconds()) + 1)
    assert receipts.receipt_emails_sweep() == 1
    email.refresh_from_db()
    assert email.sent_at is not None and len(mail.outbox) == 1
    assert receipts.receipt_emails_sweep() == 0


def test_times_carry_the_readers_zone_named(closed, admin, client_for):
    receipt, paid, _ = closed
    page = client_for(admin).get(reverse("billing:receipt_detail", args=[receipt.pk]))
    html = page.content.decode()
    assert "times in Europe/Berlin" in html and "(Europe/Berlin)" in html
    paid_at = paid[0].confirmed_at.astimezone(receipts.reader_zone(receipt, admin.user))
    assert paid_at.strftime("%H:%M") + " CET" in html or paid_at.strftime("%H:%M") + " CEST" \
        in html


def test_the_receipt_page_reads_in_a_pinned_number_of_queries(closed, admin, client_for,
                                                              django_assert_max_num_queries):
    receipt, _, _ = closed
    client = client_for(admin)
    client.get(reverse("billing:receipt_detail", args=[receipt.pk]))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("billing:receipt_detail",
                                  args=[receipt.pk])).status_code == 200
