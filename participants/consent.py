"""Consent agreements of panel people (SPEC P7): the rule for when a Rally-panel study asks
for consent, the append-only agreement row, and the reads the profile, the Participants tab
and the exports share.

A Rally-panel study with a consent form asks every applicant to agree to its current version
before they can book; "Require consent" keeps booking closed while the study has no form.
User Interviews studies never ask (UI collects consent from its own participants, S4).
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from participants.models import ConsentAgreement, Participant
from rally import clock
from rally.services import activity_record
from studies.models import ConsentVersion, Source
from studies.selectors import consent_version_current

NOT_OPEN = ("This study is not open for booking yet: its consent form is not ready. Please "
            "try again later.")
AGREE_FIRST = "Read and agree to the consent form before you book a time."


def consent_asked(study):
    """The consent version a participant of `study` must agree to now, or None."""
    if study.source != Source.RALLY_PANEL:
        return None
    return consent_version_current(study)


def consent_booking_problem(*, study, participant):
    """Why `participant` may not book a session of `study` for consent's sake ("" if they
    may). Past agreements keep their version: agreeing to any version of the study's form
    is enough, so editing the form does not lock out people who already agreed."""
    if study.source != Source.RALLY_PANEL:
        return ""
    current = consent_version_current(study)
    if current is None:
        return NOT_OPEN if study.consent_required else ""
    if ConsentAgreement.objects.filter(study=study, participant=participant).exists():
        return ""
    return AGREE_FIRST


def consent_version_parse(*, study, value):
    """The study's consent version a posted number names, or a ValidationError."""
    text = str(value or "").strip()
    version = None
    if text.isdigit() and len(text) < 9:
        version = ConsentVersion.objects.filter(study=study, number=int(text)).first()
    if version is None:
        raise ValidationError({"consent": "Read the consent form and tick “I agree” to go on."})
    return version


@transaction.atomic
def consent_agree(*, study, participant, version, channel, application=None):
    """Record that `participant` agreed to `version` of the study's consent form, once (the
    same person and version again is the row already there). Runs inside the caller's
    transaction. Returns (agreement, created)."""
    if version.study_id != study.pk or participant.workspace_id != study.workspace_id:
        raise ValidationError("That consent form does not belong to this study.")
    if participant.kind != Participant.Kind.PANEL:
        raise ValidationError("Only Rally-panel participants agree to consent in Rally.")
    now = clock.now()
    created = ConsentAgreement.objects.bulk_create([ConsentAgreement(
        workspace_id=study.workspace_id, study=study, participant=participant,
        application=application, consent_version=version, version_number=version.number,
        participant_name=participant.display_name[:300], participant_email=participant.email,
        channel=channel, agreed_at=now)], ignore_conflicts=True)
    agreement = ConsentAgreement.objects.get(participant=participant, consent_version=version)
    if created and created[0].pk == agreement.pk:
        activity_record(
            workspace=study.workspace, actor_label=f"participant:{participant.display_name}",
            action="consent.agreed", study_id=study.pk,
            summary=f"{participant.display_name} agreed to version {version.number} of the "
                    f"consent form of “{study.name}”",
            data={"agreement": str(agreement.pk), "participant_id": str(participant.pk),
                  "version": version.number})
        return agreement, True
    return agreement, False


# Reads -----------------------------------------------------------------------------------


def consent_agreements_for_study(study):
    """Every agreement of the study, oldest first (the CSV export)."""
    return (ConsentAgreement.objects.filter(study=study).select_related("participant")
            .order_by("agreed_at", "participant_name", "pk"))


def consent_agreements_for_participant(participant):
    """A person's agreements across the workspace's studies, newest first (the profile)."""
    return (ConsentAgreement.objects.filter(participant=participant)
            .select_related("study").order_by("-agreed_at", "-pk"))


def consent_latest_by_participant(*, study, participant_ids):
    """{participant id: their latest agreement to this study's form} for one page of rows."""
    latest = {}
    for agreement in (ConsentAgreement.objects
                      .filter(study=study, participant_id__in=list(participant_ids))
                      .order_by("participant_id", "-agreed_at")):
        latest.setdefault(agreement.participant_id, agreement)
    return latest


def consent_agreement_get(*, workspace, agreement_id):
    """One agreement of the workspace (with its version's text), or None."""
    return (ConsentAgreement.objects.select_related("consent_version", "study", "participant")
            .filter(pk=agreement_id, workspace=workspace).first())
