"""Demo: the paused Unmoderated Test ("Checkout usability test") recruited through User
Interviews before it was paused. Three participants submitted the test: one was paid, one's
payment is on its way, and one finished a few hours ago, so its incentive is due tomorrow
("Complete & Send payment" sends it now). One more is invited and has not taken it yet.

Idempotent like demo.recruitment_history (built from the same steps, demo.recruiting): a
study that already has its reservation is left as it is. Money moves through the real
services at past times.
"""

from datetime import timedelta

from demo.recruiting import (
    applicant_invited,
    application_from_ui,
    payout_story,
    recruitment_started,
)
from demo.story import as_of
from demo.studies import UNMODERATED_STUDY
from rally import clock
from rally.services import activity_record
from scheduling.models import Session
from scheduling.services import session_payout_schedule
from scheduling.unmoderated import unmoderated_completion_of
from studies.models import Status, Study, StudyType

BUDGET = "Workspace Budget"

#: (UI id, first name, initial, submitted hours ago or None (invited only), payout story)
TEST_PARTICIPANTS = [
    ("demo-test-1", "Quinn", "R", 70, "paid"),
    ("demo-test-2", "Rosa", "M", 30, "sent"),
    ("demo-test-3", "Sam", "K", 5, "not_sent"),
    ("demo-test-4", "Tara", "N", None, None),
]


def seed(context):
    study = (Study.objects.filter(workspace=context.workspace, is_template=False,
                                  name=UNMODERATED_STUDY, study_type=StudyType.UNMODERATED_TEST,
                                  status=Status.PAUSED)
             .select_related("workspace", "owner").first())
    if study is None:
        return
    now = clock.now()
    started = (study.published_at or now - timedelta(days=10)) + timedelta(hours=2)
    if recruitment_started(context, study, budget_name=BUDGET, when=started,
                           state="paused") is None:
        return
    researcher = study.owner
    for index, (ui_id, first, initial, hours_ago, story) in enumerate(TEST_PARTICIPANTS):
        applied = started + timedelta(hours=1, minutes=25 * index)
        application = application_from_ui(study, ui_id, first, initial,
                                          status="completed" if story else "invited",
                                          applied=applied)
        applicant_invited(study, application, actor=researcher,
                          when=applied + timedelta(hours=2))
        if story is None:
            continue
        submitted = now - timedelta(hours=hours_ago)
        session = _completion(study, application, submitted=submitted)
        with as_of(submitted):
            activity_record(workspace=study.workspace, actor_label="webhook:demo",
                            action="session.test_completed", study_id=study.pk,
                            summary=f"{application.participant.display_name} completed the "
                                    f"test (incentive due 24 hours later)",
                            data={"session": str(session.pk)})
        if story == "not_sent":
            with as_of(submitted):
                session_payout_schedule(session=session, actor="webhook:demo")
            continue
        payout_story(session, story, actor=researcher,
                     when=min(submitted + timedelta(hours=24, minutes=1),
                              now - timedelta(minutes=10)))


def _completion(study, application, *, submitted):
    """The test completion as the sync records it: Completed, no host, no booking."""
    existing = unmoderated_completion_of(application.pk)
    if existing is not None:
        return existing
    return Session.objects.create(
        workspace=study.workspace, study=study, application=application, host=None,
        starts_at=submitted - timedelta(minutes=study.duration_minutes), ends_at=submitted,
        status=Session.Status.COMPLETED, sequence=0, invite_sequence_sent=0,
        status_changed_at=submitted, created_at=submitted, updated_at=submitted)
