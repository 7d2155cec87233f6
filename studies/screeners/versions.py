"""The draft screener and its versions: once recruitment has started, each change is kept as
a version, and the version at the start is the one the recruit is created with (SPEC Q4).
"""

from rally import clock
from rally.services import activity_record
from studies.models import ScreenerVersion
from studies.screeners.questions import question_from_row


def screener_draft(study):
    questions = [question_from_row(row) for row in study.screener_questions.order_by("position")]
    if study.is_user_interviews:
        # Qualification rules left from when the study recruited from the panel never reach
        # User Interviews, its versions or its applicants (SPEC Q4).
        for question in questions:
            question.pop("rules", None)
    return questions


def snapshot_for_ui(questions):
    """The questions as User Interviews shows them to applicants (no property mapping)."""
    return [{key: value for key, value in question.items() if key != "property"}
            for question in questions]


def _latest_version(study):
    return study.screener_versions.order_by("-number").first()


def screener_version_create(*, study, actor=None, reason="changed"):
    """Keep the draft as a new version when it differs from the latest one (else None).

    Call with the study row locked. Returns the new ScreenerVersion.
    """
    # A version keeps the property mapping with the questions (Rally's record of what each
    # answer fills); what User Interviews is sent leaves it out (selectors.
    # study_screener_payload).
    questions = screener_draft(study)
    latest = _latest_version(study)
    if latest is not None and latest.questions == questions:
        return None
    number = (latest.number if latest else 0) + 1
    version = ScreenerVersion.objects.create(study=study, number=number, questions=questions,
                                             created_by=actor, created_at=clock.now())
    summary = (f"Screener version {number} of “{study.name}” will be sent with the recruit"
               if reason == "start" else
               f"Screener version {number} of “{study.name}”: only new applicants see it")
    activity_record(workspace=study.workspace, actor=actor,
                    actor_label="" if actor else "Rally", action="screener.version_created",
                    summary=summary, study_id=study.id, data={"version": number})
    return version


def screener_version_at_start(*, study):
    """"Start Recruitment" keeps the draft as the version the recruit is created with.

    Runs inside the start transaction (studies.services.study_mark_recruitment_started).
    """
    return screener_version_create(study=study, reason="start")
