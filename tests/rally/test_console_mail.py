"""In development, emails print to the terminal with their attachments named, not as base64
(the demo seed's receipt PDF used to fill the screen)."""

import io

from django.core.mail import EmailMultiAlternatives

from rally.mail import ConsoleEmailBackend


def test_console_mail_names_attachments_instead_of_printing_them():
    stream = io.StringIO()
    message = EmailMultiAlternatives(subject="Receipt R-1", body="Your receipt is attached.",
                                     from_email="rally@example.com", to=["ops@example.com"])
    message.attach("rally-receipt-R-1.pdf", b"%PDF-1.7 " + b"x" * 40_000, "application/pdf")
    ConsoleEmailBackend(stream=stream).send_messages([message])
    printed = stream.getvalue()
    assert "Your receipt is attached." in printed and "Subject: Receipt R-1" in printed
    assert "[attachment not shown: rally-receipt-R-1.pdf (application/pdf, 40,009 bytes)]" in (
        printed)
    assert len(printed) < 2_000
    assert message.attachments  # the message itself is left whole

