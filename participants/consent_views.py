"""Consent records as files (SPEC P7): the study's agreements as CSV, and one person's signed
consent as a PDF (the text they agreed to, with who, which version and when)."""

from datetime import UTC

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET

from participants import consent
from rally.exports import csv_response
from rally.permissions import Permission
from rally.selectors import require_permission
from studies.selectors import get_study_for_user


@login_required
@require_GET
def consent_csv(request, study_id):
    study = get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    zone = timezone.get_current_timezone()
    rows = ([agreement.participant_name, agreement.participant_email, agreement.version_number,
             agreement.agreed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
             agreement.agreed_at.astimezone(UTC).isoformat(), agreement.get_channel_display(),
             agreement.pk]
            for agreement in consent.consent_agreements_for_study(study).iterator(chunk_size=500))
    return csv_response(
        filename=f"consent-{study.pk}.csv", rows=rows,
        header=["Participant", "Email", "Consent version",
                f"Agreed at ({getattr(zone, 'key', zone)})", "Agreed at (UTC)", "Where",
                "Agreement ID"])


def consent_pdf_bytes(agreement):
    """The signed consent rendered to PDF (weasyprint; fonts are local, no network)."""
    from weasyprint import HTML

    html = render_to_string("participants/consent_pdf.html", {"agreement": agreement})
    return HTML(string=html).write_pdf(pdf_variant="pdf/ua-1")


@login_required
@require_GET
def consent_pdf(request, agreement_id):
    membership = require_permission(request.membership, Permission.VIEW)
    agreement = consent.consent_agreement_get(workspace=membership.workspace,
                                              agreement_id=agreement_id)
    if agreement is None:
        raise Http404
    # The study must be one the member may see (404 like every other page otherwise).
    get_study_for_user(membership, agreement.study_id, permission=Permission.VIEW)
    response = HttpResponse(consent_pdf_bytes(agreement), content_type="application/pdf")
    name = f"consent-v{agreement.version_number}-{agreement.pk}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
