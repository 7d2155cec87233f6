"""The demo workspace's applicants: the active B2B interview study gets applicants in every
review status (demo.sessions adds the scheduled and completed ones), with screener answers
to the version they saw, matched and unmet criteria, and one returning participant.

Idempotent: nothing is added once the demo applicants exist. Applicants arrive the way UI's
would (`applications_upsert_from_ui`); the reviewers' decisions are then written directly
(their use cases tell User Interviews, and the seed sends nothing there), with their activity
entries as of when they happened (demo.story).
"""

from datetime import timedelta

from demo.story import activity_recorded_at
from demo.studies import ACTIVE_STUDY
from demo.workspace import demo_applicant_id
from participants.models import Application, Participant
from participants.services import ApplicantRecord, applications_upsert_from_ui
from rally import clock
from rally.permissions import Role
from studies.models import Status, Study, StudyType
from studies.screeners.versions import screener_version_create

S = Application.Status

#: (UI id, first name, initial, status, source, hours ago, rejection reason)
APPLICANTS = [
    ("demo-review-1", "Amara", "O", S.APPLIED, "user_interviews", 3, ""),
    ("demo-review-2", "Ben", "W", S.APPLIED, "user_interviews", 7, ""),
    ("demo-review-3", "Chen", "L", S.APPLIED, "user_interviews", 20, ""),
    ("demo-review-4", "Dara", "K", S.APPLIED, "direct_link", 26, ""),
    ("demo-review-5", "Elif", "Y", S.UNQUALIFIED, "direct_link", 30, ""),
    ("demo-review-6", "Femi", "A", S.UNQUALIFIED, "direct_link", 50, ""),
    ("demo-review-7", "Gwen", "H", S.REJECTED, "user_interviews", 70,
     "Works on a two-person team; we need larger teams."),
    ("demo-review-8", "Hugo", "M", S.NO_SHOW, "user_interviews", 100, ""),
    ("demo-review-9", "Ines", "F", S.CANCELED, "user_interviews", 110, ""),
    ("demo-review-10", "Jonah", "B", S.PAID, "user_interviews", 120, ""),
]

TITLES = ["Engineering manager", "Staff engineer", "Developer advocate", "CTO",
          "Frontend developer", "QA lead", "Platform engineer", "Tech lead", "SRE",
          "Backend developer"]


def seed(context):
    workspace = context.workspace
    study = Study.objects.filter(workspace=workspace, is_template=False, status=Status.ACTIVE,
                                 study_type=StudyType.INTERVIEW,
                                 name=ACTIVE_STUDY).first()
    if study is None or Participant.objects.filter(
            workspace=workspace, ui_participant_id__startswith="demo-review-").exists():
        return
    version = (study.screener_versions.order_by("-number").first()
               or screener_version_create(study=study, reason="start"))
    questions = version.questions if version else []
    now = clock.now()
    criteria = study.criteria or []
    records = []
    for index, (ui_id, first, initial, status, source, hours, _reason) in enumerate(APPLICANTS):
        applied = now - timedelta(hours=hours)
        unqualified = status == S.UNQUALIFIED
        records.append(ApplicantRecord(
            ui_applicant_id=demo_applicant_id(workspace, ui_id), ui_participant_id=ui_id,
            first_name=first, last_initial=initial, status=status, source=source,
            qualification="unqualified" if unqualified else "manual_review",
            applied_at=applied, ui_updated_at=applied,
            screener_version=version.number if version else None,
            screener_responses=_answers(questions, index),
            matched_criteria=criteria[:1] if unqualified else criteria,
            unmet_criteria=criteria[1:] if unqualified else []))
    applications_upsert_from_ui(study=study, items=records)
    researcher = context.users[Role.RESEARCHER]
    for ui_id, first, initial, status, _source, hours, reason in APPLICANTS:
        if status not in (S.REJECTED, S.PAID, S.NO_SHOW, S.CANCELED):
            continue
        application = Application.objects.get(ui_applicant_id=demo_applicant_id(workspace, ui_id))
        if reason:
            application.rejection_reason = reason
            application.save(update_fields=["rejection_reason"])
        activity_recorded_at(
            now - timedelta(hours=hours - 2), workspace=workspace, actor=researcher,
            action=f"participants.applicant_{'rejected' if status == S.REJECTED else 'invited'}",
            summary=(f"Rejected {first} {initial}. for “{study.name}”: {reason}"
                     if status == S.REJECTED else
                     f"Invited {first} {initial}. for “{study.name}”"),
            study_id=study.id, data={"application_id": str(application.id)})
    _returning_participant(workspace, now)


def _answers(questions, index):
    """Plausible answers to each question of the version, varied by applicant."""
    answers = []
    for number, question in enumerate(questions):
        uid = question.get("uid")
        options = question.get("options") or []
        kind = question.get("type")
        if kind == "single_choice" and options:
            answers.append({"questionUid": uid, "answerUids": [options[index % 2]["uid"]]})
        elif kind == "multiple_choice" and options:
            picked = [options[(index + offset) % len(options)]["uid"] for offset in (0, 2)]
            answers.append({"questionUid": uid, "answerUids": picked})
        elif kind == "number":
            answers.append({"questionUid": uid, "number": 4 + (index * 7) % 40})
        elif kind == "scale":
            answers.append({"questionUid": uid, "number": 1 + (index + number) % 5})
        else:
            answers.append({"questionUid": uid, "text": TITLES[index % len(TITLES)]})
    return answers


def _returning_participant(workspace, now):
    """Amara also took part in the closed clinician study: her profile shows that history."""
    closed = Study.objects.filter(workspace=workspace, status=Status.CLOSED,
                                  is_template=False).first()
    person = Participant.objects.filter(workspace=workspace,
                                        ui_participant_id="demo-review-1").first()
    if closed is None or person is None:
        return
    Application.objects.get_or_create(
        study=closed, participant=person,
        defaults={"status": S.PAID,
                  "ui_applicant_id": demo_applicant_id(workspace, "demo-review-1", "earlier"),
                  "applied_at": now - timedelta(days=35), "screener_version": None,
                  "created_at": now, "updated_at": now})
