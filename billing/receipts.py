"""A receipt as a PDF and as an email to the person who closed the study (SPEC B7)."""

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import Receipt

logger = logging.getLogger(__name__)


def reader_zone(reader):
    """The reader's time zone (their profile's), UTC when they have none or an unknown one."""
    try:
        return ZoneInfo(getattr(reader, "time_zone", "") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def receipt_pdf(receipt, *, reader):
    """The receipt as PDF bytes, its times in the reader's time zone, named — the same
    rendering whether it is downloaded or emailed. Tagged PDF/UA-1 (weasyprint) with the
    document's title and language; the fonts are local and embedded."""
    from weasyprint import HTML

    zone = reader_zone(reader)
    with timezone.override(zone):
        html = render_to_string("billing/receipt_pdf.html", {"receipt": receipt,
                                                             "zone_name": zone.key})
    return HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")


def receipt_filename(receipt):
    return f"rally-receipt-{receipt.number}.pdf"


def receipt_email_send(*, receipt_id):
    """Email the receipt, PDF attached. Runs after the commit that issued it; a failure is
    logged and the receipt stays readable on the Receipts page."""
    receipt = Receipt.objects.select_related("issued_to", "budget").get(pk=receipt_id)
    if receipt.issued_to is None:
        return False
    context = {"receipt": receipt, "person": receipt.issued_to}
    message = EmailMultiAlternatives(
        subject=f"Receipt for {receipt.study_name} — {receipt.number}",
        body=render_to_string("billing/receipt_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[receipt.issued_to.email],
    )
    message.attach_alternative(render_to_string("billing/receipt_email.html", context),
                               "text/html")
    try:
        message.attach(receipt_filename(receipt), receipt_pdf(receipt, reader=receipt.issued_to),
                       "application/pdf")
        message.send()
    except Exception:
        logger.exception("receipt %s could not be emailed", receipt.number)
        return False
    return True
