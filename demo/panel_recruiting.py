"""The demo workspace's panel recruiting: a Rally-panel interview study with a screener that
qualifies automatically, five people invited by email, two applications from the hosted
screener (one qualified and booked, one waiting for review) and the contact history; its
consent form in two versions (the booked person agreed to the first), and the booked
session's reminders waiting for their moment (SPEC P7, P8).

Idempotent: everything hangs off the study, created once. The seed runs inside one
transaction, so rows are written directly rather than through the durable use cases; the
activity log is written through `activity_record` (demo.story).
"""

import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction

from demo.story import activity_recorded_at
from panel.models import PanelInvitation
from participants.models import Application, ConsentAgreement, Contact, Participant
from rally import clock
from rally.models import PropertyDefinition
from rally.permissions import Role
from scheduling.models import Session
from scheduling.reminders import session_reminders_plan
from scheduling.services import scheduling_settings_ensure
from studies.models import (
    ConsentVersion,
    ScreenerQuestion,
    Source,
    Status,
    Study,
    StudyType,
)
from studies.screeners.versions import screener_version_create

STUDY_NAME = "Customer onboarding interviews (panel)"
_NAMESPACE = uuid.UUID("6c1e0f4a-8d2b-4f47-a1d3-2b9a7c55e901")


def _uid(name):
    return str(uuid.uuid5(_NAMESPACE, name))


CONSENT_V1 = ("I agree to take part in this research interview with Acme Research. The "
              "session is recorded so the research team can review it; recordings and notes "
              "are used only to improve Acme's product and are never shared outside Acme. I "
              "can stop at any time, and I can ask Acme to delete my recording.")
CONSENT_V2 = CONSENT_V1 + " Recordings are deleted 12 months after the session."


def seed(context):
    workspace = context.workspace
    existing = Study.objects.filter(workspace=workspace, name=STUDY_NAME).first()
    if existing is not None:
        _consent(existing, clock.now())  # an older seed lacks consent: add it once
        return
    people = list(Participant.objects.filter(workspace=workspace, kind=Participant.Kind.PANEL,
                                             opted_out_at__isnull=True)
                  .order_by("first_name", "last_name")[:5])
    researcher = context.users[Role.RESEARCHER]
    now = clock.now()
    study = Study.objects.create(
        workspace=workspace, name=STUDY_NAME, study_type=StudyType.INTERVIEW,
        source=Source.RALLY_PANEL, status=Status.ACTIVE, owner=researcher,
        external_description=("We'd like to hear how your team got started with Acme: what "
                              "helped, what got in the way. A 45-minute video call."),
        participation_limit=5, incentive_amount=Decimal("75.00"), duration_minutes=45,
        published_at=now - timedelta(days=3), created_at=now - timedelta(days=4),
        updated_at=now - timedelta(days=3))
    study.team.add(context.users[Role.OPS_MANAGER])
    _screener(study)
    version = screener_version_create(study=study, actor=researcher)
    _log(study, researcher, "study.published", f"Published “{STUDY_NAME}”", now - timedelta(days=3))
    if not people:
        return
    invited_at = now - timedelta(days=2)
    subject = f"You're invited: {STUDY_NAME}"
    invitations = []
    for person in people:
        invitations.append(PanelInvitation.objects.create(
            workspace=workspace, study=study, participant=person, invited_by=researcher,
            email_subject=subject, email_sent_at=invited_at, email_attempts=1,
            created_at=invited_at))
        Contact.objects.create(participant=person, study=study, kind=Contact.Kind.INVITATION,
                               subject=subject, sent_at=invited_at, sent_by=researcher,
                               created_at=invited_at)
    _log(study, researcher, "panel.invited",
         f"Invited {len(people)} panel participants to “{STUDY_NAME}” by email", invited_at)
    plan = _uid("plan")
    answers = [({plan: [_uid("plan:Enterprise")], _uid("size"): 12}, "qualified"),
               ({plan: [_uid("plan:Team")], _uid("size"): 6}, "review")]
    for invitation, (given, outcome) in zip(invitations, answers, strict=False):
        _application(study, invitation, given, outcome, version.number, now)
    _consent(study, now)


def _consent(study, now):
    """The consent form (version 1 at publishing, version 2 a day later), "Require consent",
    the booked person's agreement to version 1 and their session's reminders. Once."""
    if study.consent_versions.exists():
        return
    owner = study.owner
    Study.objects.filter(pk=study.pk).update(consent_form=CONSENT_V2, consent_required=True)
    first = ConsentVersion.objects.create(study=study, number=1, text=CONSENT_V1,
                                          created_by=owner, created_at=now - timedelta(days=3))
    ConsentVersion.objects.create(study=study, number=2, text=CONSENT_V2, created_by=owner,
                                  created_at=now - timedelta(hours=20))
    _log(study, owner, "study.plan_updated",
         f"Updated the plan of “{study.name}”: consent form is now version 2",
         now - timedelta(hours=20))
    scheduling = scheduling_settings_ensure(study=study)
    if not scheduling.meeting_url:  # reminders and invites carry a join link
        scheduling.meeting_url = "https://meet.example.com/acme-onboarding"
        scheduling.save(update_fields=["meeting_url"])
    for application in study.applications.filter(source=Application.Source.RALLY_PANEL) \
            .select_related("participant"):
        person = application.participant
        ConsentAgreement.objects.create(
            workspace=study.workspace, study=study, participant=person,
            application=application, consent_version=first, version_number=1,
            participant_name=person.display_name, participant_email=person.email,
            channel=ConsentAgreement.Channel.SCREENER, agreed_at=application.applied_at)
        activity_recorded_at(
            application.applied_at, workspace=study.workspace,
            actor_label=f"participant:{person.display_name}", action="consent.agreed",
            study_id=study.id,
            summary=f"{person.display_name} agreed to version 1 of the consent form of "
                    f"“{study.name}”", data={"participant_id": str(person.pk), "version": 1})
        for session in application.sessions.filter(status=Session.Status.UPCOMING):
            session_reminders_plan(session=session, study=study, scheduling=scheduling,
                                   now=now)


def _screener(study):
    plans = PropertyDefinition.objects.filter(workspace=study.workspace, key="plan").first()
    size = PropertyDefinition.objects.filter(workspace=study.workspace, key="team_size",
                                             type="number").first()
    ScreenerQuestion.objects.create(
        study=study, uid=_uid("plan"), position=0, type="single_choice",
        text="Which Acme plan is your team on?",
        options=[{"uid": _uid(f"plan:{label}"), "label": label}
                 for label in ("Free", "Team", "Enterprise")],
        skip_logic={_uid("plan:Free"): "end"},
        auto_rules={"qualify": [_uid("plan:Enterprise")], "disqualify": [_uid("plan:Free")]},
        property_key="plan" if plans and plans.type == "single_select" else "")
    ScreenerQuestion.objects.create(
        study=study, uid=_uid("size"), position=1, type="number",
        text="How many people are on your team?", help="An estimate is fine.",
        auto_rules={"min": 3}, property_key="team_size" if size else "")


def _application(study, invitation, given, outcome, version, now):
    person = invitation.participant
    applied_at = now - timedelta(days=1, hours=3)
    qualified = outcome == "qualified"
    application = Application.objects.create(
        study=study, participant=person, source=Application.Source.RALLY_PANEL,
        status=Application.Status.SCHEDULED if qualified else Application.Status.APPLIED,
        screener_version=version,
        screener_responses=[{"questionUid": _uid("plan"), "answerUids": given[_uid("plan")]},
                            {"questionUid": _uid("size"), "number": given[_uid("size")]}],
        applied_at=applied_at, created_at=applied_at, updated_at=applied_at)
    invitation.application = application
    invitation.booking_email_sent_at = applied_at if qualified else None
    invitation.save(update_fields=["application", "booking_email_sent_at"])
    words = "qualified automatically and was invited" if qualified else "needs review"
    activity_recorded_at(
        applied_at, workspace=study.workspace, actor_label=f"participant:{person.display_name}",
        action="panel.applied", study_id=study.id,
        summary=f"{person.display_name} applied to “{study.name}” from the Rally panel and "
                f"{words}", data={"application_id": str(application.pk), "outcome": outcome})
    if qualified:
        _booked(study, application, now)


def _booked(study, application, now):
    scheduling = scheduling_settings_ensure(study=study)
    zone = ZoneInfo(scheduling.time_zone)
    day = now.astimezone(zone).date() + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    starts_at = datetime.combine(day, time(15), tzinfo=zone)
    session = Session(
        workspace=study.workspace, study=study, application=application, host=study.owner,
        starts_at=starts_at, ends_at=starts_at + timedelta(minutes=study.duration_minutes),
        meeting_url="https://meet.example.com/acme-onboarding",
        participant_time_zone=application.participant.time_zone, created_at=now,
        updated_at=now, status_changed_at=now)
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError:
        Application.objects.filter(pk=application.pk).update(status=Application.Status.INVITED)


def _log(study, actor, action, summary, when):
    activity_recorded_at(when, workspace=study.workspace, actor=actor, action=action,
                         summary=summary, study_id=study.id)
