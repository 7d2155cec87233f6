"""A receipt as a PDF and as an email to the person who closed the study (SPEC B7)."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import Receipt
from rally.timezones import zone_or_default

logger = logging.getLogger(__name__)


def receipt_pdf(receipt):
    """The receipt rendered to PDF bytes (weasyprint; no network: fonts are local)."""
    from weasyprint import HTML

    html = render_to_string("billing/receipt_pdf.html", {"receipt": receipt})
    return HTML(string=html).write_pdf()


def receipt_filename(receipt):
    return f"rally-receipt-{receipt.number}.pdf"


def receipt_email_send(*, receipt_id):
    """Email the receipt, PDF attached. Runs after the commit that issued it; a failure is
    logged and the receipt stays readable on the Receipts page."""
    receipt = Receipt.objects.select_related("issued_to", "budget").get(pk=receipt_id)
    if receipt.issued_to is None:
        return False
    # The PDF's times are in the recipient's own zone, named (SPEC W6).
    with timezone.override(zone_or_default(receipt.issued_to.time_zone)):
        return _receipt_email(receipt)


def _receipt_email(receipt):
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
        message.attach(receipt_filename(receipt), receipt_pdf(receipt), "application/pdf")
        message.send()
    except Exception:
        logger.exception("receipt %s could not be emailed", receipt.number)
        return False
    return True
