"""A receipt as a page, a PDF and an email to the person who closed the study (SPEC B7).

All three are rendered from `receipt_document`: the frozen figures of the Receipt row and
its itemised lines (each participant charged: display name, session date, fee, incentive,
paid at, UI payment id), read from the ledger and the payouts, so they agree to the cent.
A Rally-panel study's receipt lists the incentives the team paid itself instead (method,
reference, who marked it paid) and those due but not paid when it closed (issue 21).
Times are shown in the reader's time zone (their account's), named.

The email is a `ReceiptEmail` row written with the receipt; a worker sends it after commit
(`billing.receipt_email_send`, retried with back-off on mail errors) and a sweeper re-sends
what a lost dispatch or a mail outage left unsent (`billing.receipt_emails_sweep`).
"""

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse

from billing.models import ZERO, Payout, ReceiptEmail, Transfer, TransferKind
from billing.panel_incentives import KEY_PREFIX as TEAM_PAID_PREFIX
from rally import clock

logger = logging.getLogger(__name__)

RECEIPT_EMAIL_TASK = "billing.receipt_email_send"
#: How long a worker may hold an email it is sending before another may try.
CLAIM = timedelta(minutes=5)
#: The prompt send's head start before the sweeper re-sends a row.
SWEEP_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class ReceiptLine:
    participant: str
    session_ended_at: datetime | None
    fee: Decimal
    incentive: Decimal
    paid_at: datetime | None
    ui_payment_id: str
    status: str  # how the incentive stands: "Paid", "On its way", "Failed, returned"
    # An incentive the team paid itself (a Rally-panel participant's, issue 21): how, its
    # reference and who marked it paid; or, not paid when the study closed, what was due.
    paid_by_team: bool = False
    method: str = ""
    reference: str = ""
    paid_by: str = ""
    due: Decimal = ZERO


def _session_of(key):
    return uuid.UUID(key.split(":")[1])


def receipt_lines(receipt):
    """The receipt's participants, one line each (three queries): their fee, their incentive
    net of a failed payout given back (SPEC B9), and their payout as it stands now. The
    lines add up to the receipt's Recruitment Fees and Incentives."""
    fees, incentives, returned, team_paid = {}, {}, {}, {}
    for key, kind, amount, created_at, actor_label, description in (Transfer.objects.filter(
            Q(kind__in=[TransferKind.FEE, TransferKind.INCENTIVE, TransferKind.UNPAID])
            | Q(kind=TransferKind.PAID, key__startswith=TEAM_PAID_PREFIX),
            study_id=receipt.study_id)
            .values_list("key", "kind", "amount", "created_at", "actor_label", "description")):
        if kind == TransferKind.FEE:
            fees[_session_of(key)] = amount
        elif kind == TransferKind.INCENTIVE:
            session = _session_of(key)
            incentives[session] = incentives.get(session, ZERO) + amount
        elif kind == TransferKind.PAID:
            # Paid by the team; one recorded after the receipt is not on its figures.
            if created_at <= receipt.issued_at:
                application = uuid.UUID(key.split(":")[1])
                team_paid[application] = (amount, created_at, actor_label, description)
        else:
            payout = uuid.UUID(key.split(":")[1])
            returned[payout] = returned.get(payout, ZERO) + amount
    payouts = {payout.session_id: payout for payout in Payout.objects.filter(
        Q(session_id__in=list(fees))
        | Q(study_id=receipt.study_id, paid_by_team=True)).only(
        "session_id", "application_id", "participant_label", "amount", "due_at", "state",
        "confirmed_at", "ui_payment_id", "paid_by_team", "paid_method", "paid_reference",
        "paid_by_label")}
    lines = _team_paid_lines(receipt, team_paid, [
        payout for payout in payouts.values() if payout.paid_by_team])
    for session_id, fee in fees.items():
        payout = payouts.get(session_id)
        incentive = incentives.get(session_id, ZERO) - (
            returned.get(payout.pk, ZERO) if payout else ZERO)
        if payout is None:
            status = ""
        elif payout.state == Payout.State.PAID:
            status = "Paid"
        elif incentive == ZERO:
            status = "Failed, returned to the budget"
        elif payout.state == Payout.State.FAILED:
            status = "Failed"
        else:
            status = "On its way"
        lines.append(ReceiptLine(
            participant=payout.participant_label if payout else "Participant",
            session_ended_at=payout.session_ended_at if payout else None,
            fee=fee, incentive=incentive,
            paid_at=payout.confirmed_at if payout and payout.state == Payout.State.PAID
            else None,
            ui_payment_id=payout.ui_payment_id if payout else "", status=status))
    far_past = datetime.min.replace(tzinfo=ZoneInfo("UTC"))
    lines.sort(key=lambda line: (line.session_ended_at or far_past, line.participant))
    return lines


def _team_paid_lines(receipt, paid, payouts):
    """Lines of the incentives a team paid itself (`paid`: application -> the recorded
    transfer's amount, time, who and description), with what was due and not paid when the
    receipt was issued (a payout of the team's without a recorded payment by then)."""
    by_application = {payout.application_id: payout for payout in payouts}
    lines = []
    for application_id, (amount, recorded_at, actor_label, description) in paid.items():
        payout = by_application.pop(application_id, None)
        # Recorded by hand before payouts tracked them: "<name> · <method> · <reference>".
        named, _, how = description.partition(" · ")
        method_label, _, reference = how.partition(" · ")
        if payout is not None and payout.paid_method:
            method_label, reference = payout.paid_method_label, payout.paid_reference
        lines.append(ReceiptLine(
            participant=payout.participant_label if payout else named or "Participant",
            session_ended_at=payout.session_ended_at if payout else None, fee=ZERO,
            incentive=amount, paid_at=(payout.confirmed_at if payout and payout.confirmed_at
                                       else recorded_at),
            ui_payment_id="", status="Paid", paid_by_team=True, method=method_label,
            reference=reference, paid_by=(payout.paid_by_label if payout and
                                          payout.paid_by_label else actor_label)))
    for payout in by_application.values():
        if payout.state == Payout.State.CANCELED:
            continue  # a no-show: nothing is owed
        if payout.state == Payout.State.PAID:
            status = "Paid after this receipt was issued"
        elif payout.due_at <= receipt.issued_at:
            status = "Due, not paid"
        else:
            status = "Not due yet, not paid"
        lines.append(ReceiptLine(
            participant=payout.participant_label, session_ended_at=payout.session_ended_at,
            fee=ZERO, incentive=ZERO, paid_at=None, ui_payment_id="", status=status,
            paid_by_team=True, due=payout.amount))
    return lines


def reader_zone(receipt, reader=None):
    """The zone a reader sees the receipt's times in: their own (account settings), else
    the one who closed the study's, else the site's."""
    names = (lambda: getattr(reader, "time_zone", ""),
             lambda: getattr(receipt.issued_to, "time_zone", ""),
             lambda: settings.TIME_ZONE)
    for named in names:
        name = named()
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def receipt_url(receipt):
    """The receipt's page, absolute (emails and PDFs link back to it)."""
    return settings.RALLY_BASE_URL.rstrip("/") + reverse("billing:receipt_detail",
                                                         args=[receipt.pk])


def receipt_document(receipt, *, reader=None):
    """What every rendering of a receipt shows: page, PDF and email alike."""
    lines = receipt_lines(receipt)
    line_fees = sum((line.fee for line in lines), ZERO)
    line_incentives = sum((line.incentive for line in lines), ZERO)
    if (line_fees, line_incentives) != (receipt.recruitment_fees, receipt.incentives):
        logger.error("receipt %s: lines add up to %s + %s, the receipt says %s + %s",
                     receipt.number, line_fees, line_incentives, receipt.recruitment_fees,
                     receipt.incentives)
    unpaid = [line for line in lines if line.due]
    return {"receipt": receipt, "lines": lines, "zone": reader_zone(receipt, reader),
            "receipt_url": receipt_url(receipt), "line_fees": line_fees,
            "line_incentives": line_incentives,
            # A Rally-panel study's receipt: the team paid, nothing was reserved (issue 21).
            "paid_by_team": any(line.paid_by_team for line in lines),
            "unpaid_count": len(unpaid),
            "unpaid_total": sum((line.due for line in unpaid), ZERO)}


def receipt_pdf(receipt, *, reader=None):
    """The receipt as PDF bytes, the same rendering downloaded or emailed (times in the
    reader's zone, named). Tagged PDF/UA-1 (weasyprint) with the document's title and
    language; the fonts are local and embedded."""
    from weasyprint import HTML

    html = render_to_string("billing/receipt_pdf.html", receipt_document(receipt, reader=reader))
    return HTML(string=html).write_pdf(pdf_variant="pdf/ua-1", font_config=_font_config())


_fonts = threading.local()


def _font_config():
    """The fonts weasyprint found, kept for the thread's next receipt: finding them again for
    each one was about a fifth of a receipt's CPU (115 ms against 90 ms a receipt)."""
    if not hasattr(_fonts, "config"):
        from weasyprint.text.fonts import FontConfiguration

        _fonts.config = FontConfiguration()
    return _fonts.config


def receipt_filename(receipt):
    return f"rally-receipt-{receipt.number}.pdf"


# The email ---------------------------------------------------------------------------------


def receipt_email_queue(*, receipt):
    """Write the receipt's email row (inside the issuing transaction) and ask a worker to
    send it once that commits. Returns the row, or None when nobody is to receive it."""
    if receipt.issued_to_id is None:
        return None
    email = ReceiptEmail.objects.create(receipt=receipt, to_id=receipt.issued_to_id,
                                        created_at=clock.now())
    email_id = str(email.pk)
    transaction.on_commit(lambda: _dispatch(email_id))
    return email


def _dispatch(email_id):
    from rally.celery import app

    try:
        app.send_task(RECEIPT_EMAIL_TASK, args=[email_id])
    except Exception:  # the broker is down: the sweeper sends it later
        logger.warning("receipt email %s dispatch failed; the sweeper sends it", email_id)


def _message(email):
    receipt, person = email.receipt, email.to
    context = {**receipt_document(receipt, reader=person), "person": person}
    message = EmailMultiAlternatives(
        subject=f"Receipt for {receipt.study_name} — {receipt.number}",
        body=render_to_string("billing/receipt_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[person.email])
    message.attach_alternative(render_to_string("billing/receipt_email.html", context),
                               "text/html")
    message.attach(receipt_filename(receipt), receipt_pdf(receipt, reader=person),
                   "application/pdf")
    return message


def receipt_email_send(*, receipt_email_id):
    """Send one receipt email, at most one worker at a time and once it succeeded.

    Claims the row (compare-and-swap), renders and sends outside any transaction, then
    records the outcome. A mail error (OSError, which smtplib's errors are) is recorded and
    raised again so the task retries with back-off. Returns True when it was sent now.
    """
    now = clock.now()
    claimed = ReceiptEmail.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=receipt_email_id,
        sent_at__isnull=True, attempts__lt=ReceiptEmail.MAX_ATTEMPTS,
    ).update(claimed_until=now + CLAIM, attempts=F("attempts") + 1)
    if not claimed:
        return False
    email = ReceiptEmail.objects.select_related("receipt__workspace", "to").get(
        pk=receipt_email_id)
    try:
        _message(email).send()
    except Exception as error:
        ReceiptEmail.objects.filter(pk=email.pk).update(
            claimed_until=None, last_error=f"{type(error).__name__}: {error}"[:500])
        logger.warning("receipt %s could not be emailed (attempt %s): %s",
                       email.receipt.number, email.attempts, error)
        if isinstance(error, OSError):
            raise
        return False
    ReceiptEmail.objects.filter(pk=email.pk).update(sent_at=clock.now(), claimed_until=None,
                                                    last_error="")
    return True


def receipt_emails_due(*, now=None, limit=100):
    """Receipt emails still unsent after the prompt send's head start (lost dispatch, mail
    server down), oldest first."""
    now = now or clock.now()
    return list(ReceiptEmail.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), sent_at__isnull=True,
        attempts__lt=ReceiptEmail.MAX_ATTEMPTS, created_at__lte=now - SWEEP_GRACE,
    ).order_by("created_at").values_list("pk", flat=True)[:limit])


def receipt_emails_sweep():
    """Send what is due; one that fails again waits for the next sweep. Returns how many
    were sent."""
    sent = 0
    for email_id in receipt_emails_due():
        try:
            sent += receipt_email_send(receipt_email_id=email_id)
        except OSError:
            continue
    return sent
