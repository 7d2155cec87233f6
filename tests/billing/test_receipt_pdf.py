"""The receipt PDF as poppler reads it (`pdfinfo`, `pdffonts`, `pdftotext`, Debian's
poppler-utils): tagged PDF/UA with a title and a language, every font embedded, the figures in
the text, and one rendering — downloaded or emailed, the times in the reader's zone, named."""

import io
import shutil
import subprocess
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from billing import services
from tests.billing.factories import receipt_emails_deliver

pytestmark = pytest.mark.django_db

def poppler(tool, pdf, tmp_path, *args):
    """The tool's output for the PDF bytes; a missing tool fails loudly (never a skip)."""
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: apt-get install poppler-utils (.ci/run does it).",
                    pytrace=False)
    path = tmp_path / f"{uuid.uuid4()}.pdf"
    path.write_bytes(pdf)
    return subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                          capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.fixture
def receipt(funded_budget, reserve, admin, django_capture_on_commit_callbacks):
    _, study_id = reserve(funded_budget, limit=3, name="Pricing page interviews")
    for _ in range(2):
        services.reservation_charge_participant(study_id=study_id, session_id=uuid.uuid4(),
                                                actor=admin.user)
    admin.user.time_zone = "America/New_York"
    admin.user.save(update_fields=["time_zone"])
    with django_capture_on_commit_callbacks(execute=True):
        closed = services.reservation_close(study_id=study_id, actor=admin.user)
    assert receipt_emails_deliver() == 1  # what the worker does
    return closed


def issued_line(receipt, zone_name):
    """How the receipt names its issue time for a reader in `zone_name`."""
    local = receipt.issued_at.astimezone(ZoneInfo(zone_name))
    return f"{local.day} {local:%B %Y, %H:%M} {local.tzname()} ({zone_name})"


def downloaded(client, receipt):
    response = client.get(reverse("billing:receipt_pdf", args=[receipt.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    return response.content


def test_the_receipt_is_tagged_pdf_ua_with_title_language_and_embedded_fonts(
        client_for, admin, receipt, tmp_path):
    pdf = downloaded(client_for(admin), receipt)
    info = dict(line.split(":", 1) for line in poppler("pdfinfo", pdf, tmp_path).splitlines()
                if ":" in line)
    assert info["Tagged"].strip() == "yes"
    assert receipt.number in info["Title"] and "Pricing page interviews" in info["Title"]
    assert PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Lang"] == "en"
    fonts = poppler("pdffonts", pdf, tmp_path).splitlines()[2:]
    assert fonts, "no fonts"
    for line in fonts:
        # name type encoding emb sub uni object-id: "emb" is the fourth column from the end
        assert line.split()[-5] == "yes", f"not embedded: {line}"
    text = poppler("pdftotext", pdf, tmp_path, "-layout")
    for figure in ("Pricing page interviews", receipt.number, "Reserved", "$495.00",
                   "Recruitment Fees", "$130.00", "Incentives", "$200.00", "Total Spent",
                   "$330.00", "Unused", "$165.00", "Workspace Budget"):
        assert figure in text, figure


def test_downloaded_and_emailed_receipts_are_one_rendering_in_the_readers_zone(
        client_for, admin, receipt, tmp_path):
    [message] = [m for m in mail.outbox if m.attachments]
    [(_name, emailed, mimetype)] = message.attachments
    assert mimetype == "application/pdf"
    mine = downloaded(client_for(admin), receipt)
    emailed_text = poppler("pdftotext", emailed, tmp_path)
    assert emailed_text == poppler("pdftotext", mine, tmp_path)
    assert issued_line(receipt, "America/New_York") in emailed_text
    assert "UTC" not in emailed_text

    admin.user.time_zone = "Europe/Berlin"
    admin.user.save(update_fields=["time_zone"])
    in_berlin = poppler("pdftotext", downloaded(client_for(admin), receipt), tmp_path)
    assert issued_line(receipt, "Europe/Berlin") in in_berlin
