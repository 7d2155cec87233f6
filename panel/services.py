"""Panel writes: the contact rules, invitations by email, opt-outs, applications from the
hosted screener and panel incentives. Each use case is one durable transaction; emails
leave after commit (a worker sends them, the sweeper re-sends a lost one)."""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from billing import panel_incentives
from billing.models import Budget, Reservation
from billing.money import money_format
from billing.services import budget_default_ensure
from panel import links
from panel.models import EMAIL_MAX_ATTEMPTS, PanelInvitation, PanelRules
from panel.selectors import candidates_for
from participants.consent import consent_agree, consent_asked, consent_version_parse
from participants.directory import (
    contact_record,
    contacts_record,
    participant_properties_update,
    property_values_clean,
)
from participants.models import Application, ConsentAgreement, Contact, Participant
from participants.selectors import study_has_free_seat
from rally import clock
from rally.models import PropertyDefinition, PropertyType
from rally.numbers import count_parse
from rally.permissions import Permission, Role
from rally.services import activity_record
from scheduling.models import Session
from scheduling.services import booking_url_for
from studies.lifecycle import study_on_team
from studies.models import CHOICE_TYPES, Source, Status, Study, StudyType
from studies.screeners.answers import answer_check, answers_as_responses
from studies.screeners.logic import answers_shown
from studies.screeners.qualification import Qualification, QualificationResult, qualification_decide
from studies.screeners.versions import screener_draft, screener_version_create, snapshot_for_ui

logger = logging.getLogger(__name__)

#: The most people one invitation batch takes.
INVITE_BATCH_MAX = 500
EMAIL_SEND_TASK = "panel.invitation_email_send"
BOOKING_EMAIL_TASK = "panel.booking_email_send"


# The contact rules -------------------------------------------------------------------------


def _rule_value(value, *, field_name, maximum, words):
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        return count_parse(text, label=words, minimum=1, maximum=maximum)
    except ValidationError as error:
        raise ValidationError({field_name: f"{error.messages[0]} Leave it empty to turn the "
                                           f"rule off."}) from None


@transaction.atomic(durable=True)
def panel_rules_update(*, membership, recent_contact_days, max_studies_per_90_days):
    """Change the workspace's contact rules (Admins only). Empty turns a rule off."""
    if membership is None or membership.role_enum != Role.ADMIN:
        raise PermissionDenied
    days = _rule_value(recent_contact_days, field_name="recent_contact_days", maximum=365,
                       words="the number of days")
    studies = _rule_value(max_studies_per_90_days, field_name="max_studies_per_90_days",
                          maximum=100, words="the number of studies")
    PanelRules.objects.get_or_create(workspace=membership.workspace)
    rules = PanelRules.objects.select_for_update().get(workspace=membership.workspace)
    if (rules.recent_contact_days, rules.max_studies_per_90_days) == (days, studies) \
            and rules.updated_at is not None:
        return rules
    rules.recent_contact_days, rules.max_studies_per_90_days = days, studies
    rules.updated_by, rules.updated_at = membership.user, clock.now()
    rules.save()
    activity_record(
        workspace=membership.workspace, actor=membership.user, action="panel.rules_changed",
        summary=(f"Changed the panel contact rules: "
                 f"{f'no contact within {days} days' if days else 'no recent-contact rule'}, "
                 f"{f'at most {studies} studies per 90 days' if studies else 'no study limit'}"),
        data={"recent_contact_days": days, "max_studies_per_90_days": studies})
    return rules


# Invitations -------------------------------------------------------------------------------


@dataclass
class InviteResult:
    invited: list = field(default_factory=list)  # PanelInvitations
    skipped: list = field(default_factory=list)  # (name, [reasons])


def panel_invites_allowed(membership, study):
    return (membership is not None and membership.workspace_id == study.workspace_id
            and membership.allows(Permission.REVIEW_APPLICANTS,
                                  on_team=study_on_team(study, membership.user)))


def panel_override_allowed(membership):
    return membership is not None and membership.allows(Permission.MANAGE_PANEL)


def study_invite_problem(study):
    """Why this study can't invite from the panel now ("" when it can)."""
    if study.source != Source.RALLY_PANEL:
        return "Only Rally-panel studies invite people from the panel."
    if study.is_template:
        return "A template does not recruit."
    if study.status == Status.DRAFT:
        return "Publish the study before inviting people."
    if study.status == Status.PAUSED:
        return "The study is paused: change its status to Active to invite people."
    if study.status == Status.CLOSED:
        return "The study is closed: it no longer invites anyone."
    if study.consent_required and not study.consent_form:
        return ("The study requires consent but has no consent form: write it on the Plan "
                "tab before inviting people.")
    return ""


def _ids(values):
    ids = set()
    for value in values:
        try:
            ids.add(uuid.UUID(str(value)))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValidationError("Some of the selected people are not in this workspace's "
                                  "panel. Nothing was sent.") from exc
    return ids


def invitation_subject(study):
    return f"You're invited: {study.participant_title}"[:200]


@transaction.atomic(durable=True)
def panel_invite(*, membership, study, participant_ids, override=False, override_reason=""):
    """Invite panel people to a Rally-panel study by email: all the invitable ones, once.

    Opted-out people, people already invited or applying, and people without an email are
    always skipped. People the workspace's contact rules flag are skipped too, unless an
    Admin or Ops Manager overrides with a reason (recorded on each contact and logged).
    Refuses (ValidationError, nothing sent) when nobody can be invited.
    """
    if not panel_invites_allowed(membership, study):
        raise PermissionDenied
    reason = " ".join(str(override_reason or "").replace("\x00", "").split())
    if override:
        if not panel_override_allowed(membership):
            raise PermissionDenied
        if not reason:
            raise ValidationError({"override_reason": "Give a reason for overriding the "
                                                      "contact rules."})
        if len(reason) > 500:
            raise ValidationError({"override_reason": "Keep the reason under 500 "
                                                      "characters."})
    ids = _ids(participant_ids)
    if not ids:
        raise ValidationError("Select at least one person to invite.")
    if len(ids) > INVITE_BATCH_MAX:
        raise ValidationError(f"Invite at most {INVITE_BATCH_MAX} people at a time: narrow "
                              f"the filter.")
    study = (Study.objects.select_for_update(of=("self",)).select_related("workspace")
             .filter(pk=study.pk, workspace_id=membership.workspace_id).first())
    if study is None:
        raise PermissionDenied
    problem = study_invite_problem(study)
    if problem:
        raise ValidationError(problem)
    # Locked, so an unsubscribe racing this batch either lands first (and is skipped) or after.
    people = list(Participant.objects.select_for_update()
                  .filter(pk__in=ids, workspace_id=study.workspace_id,
                          kind=Participant.Kind.PANEL).order_by("pk"))
    if len(people) != len(ids):
        raise ValidationError("Some of the selected people are not in this workspace's panel. "
                              "Nothing was sent.")
    result = InviteResult()
    chosen = []
    for candidate in candidates_for(study=study, participants=people):
        name = candidate.participant.display_name
        if candidate.blocked:
            result.skipped.append((name, candidate.blocked))
        elif candidate.flags and not override:
            result.skipped.append((name, candidate.flags))
        else:
            chosen.append(candidate)
    if not chosen:
        raise ValidationError("None of the selected people can be invited: " + "; ".join(
            f"{name} ({', '.join(reasons)})" for name, reasons in result.skipped[:10])
            + ("…" if len(result.skipped) > 10 else "") + ". Nothing was sent.")
    # Applicants answer the screener as it is now (SPEC Q4: they keep that version).
    screener_version_create(study=study, actor=membership.user)
    now = clock.now()
    subject = invitation_subject(study)
    overridden = []
    recipients = []
    for candidate in sorted(chosen, key=lambda c: c.participant.display_name.casefold()):
        person = candidate.participant
        used_override = reason if candidate.flags else ""
        result.invited.append(PanelInvitation(
            workspace_id=study.workspace_id, study=study, participant=person,
            invited_by=membership.user, override_reason=used_override,
            email_subject=subject, created_at=now))
        recipients.append((person, used_override))
        if candidate.flags:
            overridden.append((person, candidate.flags))
    PanelInvitation.objects.bulk_create(result.invited)
    contacts_record(recipients=recipients, study=study, kind=Contact.Kind.INVITATION,
                    subject=subject, sent_by=membership.user)
    count = len(result.invited)
    activity_record(
        workspace=study.workspace, actor=membership.user, action="panel.invited",
        study_id=study.id,
        summary=(f"Invited {count} panel participant{'s' if count != 1 else ''} to "
                 f"“{study.name}” by email"
                 + (f"; skipped {len(result.skipped)}" if result.skipped else "")),
        data={"invitations": [str(invitation.pk) for invitation in result.invited],
              "skipped": len(result.skipped)})
    for person, flags in overridden:
        activity_record(
            workspace=study.workspace, actor=membership.user,
            action="panel.governance_overridden", study_id=study.id,
            summary=(f"Overrode the contact rules to invite {person.display_name} to "
                     f"“{study.name}”: {reason}"),
            data={"participant_id": str(person.pk), "rules": flags, "reason": reason})
    invitation_ids = [str(invitation.pk) for invitation in result.invited]
    transaction.on_commit(lambda: invitation_emails_dispatch(invitation_ids))
    return result


def invitation_emails_dispatch(invitation_ids):
    """Ask a worker to send each invitation email (the sweeper covers a lost message)."""
    for invitation_id in invitation_ids:
        _dispatch(EMAIL_SEND_TASK, invitation_id)


def _dispatch(task, invitation_id):
    from rally.celery import app

    try:
        app.send_task(task, args=[invitation_id])
    except Exception:
        logger.warning("%s dispatch failed for %s", task, invitation_id)


def _invitation_email(invitation):
    study, person = invitation.study, invitation.participant
    context = {
        "study": study, "person": person,
        "screener_url": links.screener_url_for(invitation),
        "unsubscribe_url": links.unsubscribe_url_for(person),
        "incentive": money_format(study.incentive_amount) if study.incentive_amount else "",
        "workspace": study.workspace,
    }
    message = EmailMultiAlternatives(
        subject=invitation.email_subject,
        body=render_to_string("panel/invitation_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[person.email],
        headers={"List-Unsubscribe": f"<{context['unsubscribe_url']}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    message.attach_alternative(render_to_string("panel/invitation_email.html", context),
                               "text/html")
    return message


def invitation_email_send(*, invitation_id):
    """Send one invitation's email, once. Sent first and recorded after, so a crash in
    between re-sends rather than loses it. Someone who unsubscribed meanwhile gets nothing.
    Returns True when an email left."""
    invitation = (PanelInvitation.objects
                  .select_related("study", "study__workspace", "participant")
                  .filter(pk=invitation_id).first())
    if invitation is None or invitation.email_sent_at is not None:
        return False
    if invitation.participant.opted_out_at is not None:
        PanelInvitation.objects.filter(pk=invitation.pk, email_sent_at__isnull=True).update(
            email_error="Not sent: the person unsubscribed.", email_attempts=EMAIL_MAX_ATTEMPTS)
        return False
    try:
        _invitation_email(invitation).send()
    except OSError as error:
        PanelInvitation.objects.filter(pk=invitation.pk).update(
            email_attempts=invitation.email_attempts + 1, email_error=str(error)[:500])
        raise
    PanelInvitation.objects.filter(pk=invitation.pk, email_sent_at__isnull=True).update(
        email_sent_at=clock.now(), email_attempts=invitation.email_attempts + 1,
        email_error="")
    return True


def invitation_emails_due(*, now, grace_seconds=120, limit=200):
    """Invitations whose email is still unsent a while after the commit (lost sends)."""
    return [str(pk) for pk in PanelInvitation.objects.filter(
        email_sent_at__isnull=True, email_attempts__lt=EMAIL_MAX_ATTEMPTS,
        created_at__lte=now - timedelta(seconds=grace_seconds))
        .order_by("created_at").values_list("pk", flat=True)[:limit]]


# The booking link -------------------------------------------------------------------------


def _booking_email(invitation, application):
    study, person = invitation.study, invitation.participant
    context = {"study": study, "person": person, "workspace": study.workspace,
               "booking_url": booking_url_for(application),
               "unsubscribe_url": links.unsubscribe_url_for(person)}
    return EmailMultiAlternatives(
        subject=booking_subject(study), body=render_to_string("panel/booking_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[person.email],
        headers={"List-Unsubscribe": f"<{context['unsubscribe_url']}>"})


def booking_subject(study):
    return f"Choose a time: {study.participant_title}"[:200]


def booking_email_send(*, invitation_id):
    """Email a panel applicant invited to book (by the screener rules or by a reviewer) their
    booking link, once; recorded as a contact. Returns True when an email left."""
    invitation = (PanelInvitation.objects
                  .select_related("study", "study__workspace", "participant", "application")
                  .filter(pk=invitation_id).first())
    if invitation is None or invitation.booking_email_sent_at is not None:
        return False
    application = invitation.application
    if (application is None or application.status != Application.Status.INVITED
            or invitation.participant.opted_out_at is not None
            or not invitation.study.is_moderated):
        return False
    _booking_email(invitation, application).send()
    with transaction.atomic():
        claimed = PanelInvitation.objects.filter(
            pk=invitation.pk, booking_email_sent_at__isnull=True).update(
            booking_email_sent_at=clock.now())
        if claimed:
            contact_record(participant=invitation.participant, study=invitation.study,
                           kind=Contact.Kind.BOOKING_LINK,
                           subject=booking_subject(invitation.study), sent_by=None)
    return True


def booking_emails_due(*, now, grace_seconds=60, limit=200):
    """Invitations whose application is invited to book and has no booking email yet: people
    a reviewer invited on the Participants tab, and lost sends."""
    return [str(pk) for pk in PanelInvitation.objects.filter(
        booking_email_sent_at__isnull=True, application__status=Application.Status.INVITED,
        application__updated_at__lte=now - timedelta(seconds=grace_seconds),
        participant__opted_out_at__isnull=True,
        study__study_type__in=[StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW])
        .order_by("created_at").values_list("pk", flat=True)[:limit]]


# Opt-out -----------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def participant_opt_out(*, participant_id):
    """The person unsubscribed from the workspace's panel emails (their own link). Doing it
    twice keeps the first time. Returns the participant."""
    person = (Participant.objects.select_for_update(of=("self",)).select_related("workspace")
              .filter(pk=participant_id, kind=Participant.Kind.PANEL).first())
    if person is None:
        raise links.LinkInvalid("This unsubscribe link is not valid any more.")
    if person.opted_out_at is not None:
        return person
    now = clock.now()
    person.opted_out_at, person.updated_at = now, now
    person.save(update_fields=["opted_out_at", "updated_at"])
    activity_record(workspace=person.workspace, actor_label=f"participant:{person.display_name}",
                    action="panel.participant_opted_out",
                    summary=f"{person.display_name} unsubscribed from panel emails",
                    data={"participant_id": str(person.pk)})
    return person


# The hosted screener -----------------------------------------------------------------------


class AlreadyApplied(Exception):
    """The person has already applied to this study (one submission per person and study)."""


class ApplicationRefused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def invitation_for_token(token):
    """The invitation a screener link names (with its study and person), or LinkInvalid."""
    target = links.screener_token_read(token)
    invitation = (PanelInvitation.objects
                  .select_related("study", "study__workspace", "participant", "application")
                  .filter(pk=target.id).first() if _is_uuid(target.id) else None)
    if invitation is None:
        raise links.LinkInvalid("This screener link is not valid any more.")
    return invitation


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def invitation_questions(invitation):
    """(version number, questions) the person answers: the study's latest screener version
    (kept when they were invited), or the draft when none was kept."""
    version = invitation.study.screener_versions.order_by("-number").first()
    if version is not None:
        return version.number, version.questions
    return None, snapshot_for_ui(screener_draft(invitation.study))


def invitation_refusal(invitation):
    """Why the hosted screener won't take an application now ("" when it will)."""
    if invitation.participant.opted_out_at is not None:
        return ("You unsubscribed from this research team's emails, so this invitation no "
                "longer applies.")
    if invitation.study.status != Status.ACTIVE:
        return "This study is not taking applications at the moment."
    if invitation.study.consent_required and not invitation.study.consent_form:
        return "This study is not taking applications at the moment."
    return ""


def answers_validate(questions, answers):
    """Check every answer along the walk again: (the answers as checked, {uid: message} for
    what is wrong). Answers to questions the walk does not show are dropped."""
    cleaned, errors = {}, {}
    for question in answers_shown(questions, answers):
        value = answers.get(question["uid"])
        values = value if isinstance(value, list) else ([] if value is None else [value])
        try:
            checked = answer_check(question, values)
        except ValidationError as error:
            errors[question["uid"]] = error.messages[0]
        else:
            if checked is not None:
                cleaned[question["uid"]] = checked
    return cleaned, errors


@dataclass
class Submitted:
    application: Application
    outcome: Qualification
    booking_url: str = ""


STATUS_BY_OUTCOME = {
    Qualification.QUALIFIED: Application.Status.INVITED,
    Qualification.UNQUALIFIED: Application.Status.UNQUALIFIED,
    Qualification.REVIEW: Application.Status.APPLIED,
}


@transaction.atomic(durable=True)
def panel_application_submit(*, invitation_id, answers, consent_version=None):
    """Create the person's application to the study from their screener answers, once.

    Answers are checked again along the screener's logic. For Rally-panel studies the
    question rules decide: qualified people are invited at once (while a seat is free) and
    may book; disqualified ones are Unqualified; the rest wait for review. Mapped answers
    update the person's properties. When the study asks for consent, `consent_version` is
    the number of the version the person read and agreed to; the agreement is recorded with
    the application (SPEC P7). Raises AlreadyApplied, ApplicationRefused or
    ValidationError ({question uid or "consent": message}).
    """
    invitation = (PanelInvitation.objects.select_for_update(of=("self",))
                  .select_related("participant").filter(pk=invitation_id).first())
    if invitation is None:
        raise ApplicationRefused("This screener link is not valid any more.")
    study = Study.objects.select_for_update(of=("self",)).select_related("workspace").get(
        pk=invitation.study_id)
    invitation.study = study
    person = invitation.participant
    if invitation.application_id is not None or Application.objects.filter(
            study=study, participant=person).exists():
        raise AlreadyApplied
    refusal = invitation_refusal(invitation)
    if refusal:
        raise ApplicationRefused(refusal)
    consent = None
    if consent_asked(study) is not None:
        consent = consent_version_parse(study=study, value=consent_version)
    number, questions = invitation_questions(invitation)
    answers, errors = answers_validate(questions, answers)
    if errors:
        raise ValidationError(errors)
    decision = (qualification_decide(questions, answers)
                if study.source == Source.RALLY_PANEL else
                QualificationResult(Qualification.REVIEW))
    outcome = decision.outcome
    if outcome == Qualification.QUALIFIED and not study_has_free_seat(study=study):
        outcome = Qualification.REVIEW  # no seat left: a person decides
    now = clock.now()
    try:
        with transaction.atomic():
            application = Application.objects.create(
                study=study, participant=person, status=STATUS_BY_OUTCOME[outcome],
                source=Application.Source.RALLY_PANEL,
                qualification=(Application.Qualification.UNQUALIFIED
                               if outcome == Qualification.UNQUALIFIED
                               else Application.Qualification.MANUAL_REVIEW),
                screener_version=number,
                screener_responses=answers_as_responses(questions, answers),
                applied_at=now, created_at=now, updated_at=now)
    except IntegrityError:
        raise AlreadyApplied from None
    invitation.application = application
    invitation.save(update_fields=["application"])
    if consent is not None:
        consent_agree(study=study, participant=person, version=consent, application=application,
                      channel=ConsentAgreement.Channel.SCREENER)
    words = {Qualification.QUALIFIED: "qualified automatically and was invited",
             Qualification.UNQUALIFIED: "was disqualified by the screener rules",
             Qualification.REVIEW: "needs review"}[outcome]
    activity_record(
        workspace=study.workspace, actor_label=f"participant:{person.display_name}",
        action="panel.applied", study_id=study.id,
        summary=f"{person.display_name} applied to “{study.name}” from the Rally panel and "
                f"{words}",
        data={"application_id": str(application.pk), "outcome": str(outcome),
              "reasons": list(decision.reasons)})
    _properties_from_answers(person, study, questions, answers)
    booking_url = ""
    if application.status == Application.Status.INVITED and study.study_type in (
            StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW):
        booking_url = booking_url_for(application)
        invitation_id = str(invitation.pk)
        transaction.on_commit(lambda: _dispatch(BOOKING_EMAIL_TASK, invitation_id))
    return Submitted(application=application, outcome=outcome, booking_url=booking_url)


def _mapped_value(question, value, definition):
    """An answer as the raw value its property takes (select answers by option label)."""
    if question["type"] in CHOICE_TYPES:
        labels = {option["uid"]: option["label"] for option in question["options"]}
        chosen = [labels[uid] for uid in value if uid in labels]
        if definition.type == PropertyType.MULTI_SELECT:
            return chosen
        return chosen[0] if chosen else None
    return value


def _properties_from_answers(person, study, questions, answers):
    """Answers of questions mapped to a property update the person's profile (SPEC Q3).

    The mapping is read from the study's screener as it is now. A value that does not fit
    its property (an option the property lacks) is left out; the application stands."""
    mapping = dict(study.screener_questions.exclude(property_key="")
                   .values_list("uid", "property_key"))
    mapping = {str(uid): key for uid, key in mapping.items()}
    if not mapping:
        return
    definitions = {d.key: d for d in PropertyDefinition.objects.filter(
        workspace_id=study.workspace_id, key__in=set(mapping.values()))}
    values = {}
    for question in answers_shown(questions, answers):
        key = mapping.get(question["uid"])
        value = answers.get(question["uid"])
        if key in definitions and value is not None:
            values[key] = _mapped_value(question, value, definitions[key])
    cleaned, problems = property_values_clean(definitions=definitions, values=values)
    usable = {key: value for key, value in values.items() if key not in problems
              and cleaned.get(key) is not None}
    if usable:
        participant_properties_update(participant=person, values=usable,
                                      actor_label=f"participant:{person.display_name}")


# Panel incentives --------------------------------------------------------------------------


@transaction.atomic(durable=True)
def panel_incentive_record(*, membership, study, application_id, amount, method, reference,
                           budget_id=None):
    """"Record incentive" for a panel participant whose session was completed: the amount
    leaves the budget's Available as an incentive paid (no recruitment fee), once; the
    application becomes Paid. The study's reserved budget is used when it has one,
    otherwise the chosen budget (Workspace Budget by default)."""
    if not panel_invites_allowed(membership, study):
        raise PermissionDenied
    if study.source != Source.RALLY_PANEL:
        raise ValidationError("Only Rally-panel studies record incentives here; User "
                              "Interviews pays its participants.")
    application = (Application.objects.select_for_update(of=("self",))
                   .select_related("participant")
                   .filter(pk=application_id, study=study).first())
    if application is None:
        raise ValidationError("That participant is not part of this study.")
    existing = panel_incentives.panel_incentive_for(application.pk)
    if existing is not None:
        return existing, False
    if not Session.objects.filter(application=application,
                                  status=Session.Status.COMPLETED).exists():
        raise ValidationError("Record the incentive once the participant's session is "
                              "Completed.")
    reservation = Reservation.objects.filter(study_id=study.pk).select_related("budget").first()
    if reservation is not None:
        budget = reservation.budget
    elif budget_id:
        budget = Budget.objects.filter(pk=budget_id, workspace_id=study.workspace_id).first()
        if budget is None:
            raise ValidationError({"budget": "Choose one of this workspace's budgets."})
    else:
        budget = budget_default_ensure(workspace=study.workspace)
    transfer, created = panel_incentives.panel_incentive_record(
        budget=budget, study_id=study.pk, study_name=study.name,
        application_id=application.pk, participant_label=application.participant.display_name,
        amount=amount, method=method, reference=reference, actor=membership.user)
    if created and application.status == Application.Status.COMPLETED:
        application.status = Application.Status.PAID
        application.updated_at = clock.now()
        application.save(update_fields=["status", "updated_at"])
    return transfer, created
