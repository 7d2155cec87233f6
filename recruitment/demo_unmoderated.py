"""Demo: the paused Unmoderated Test ("Checkout usability test") recruited through User
Interviews before it was paused. Three participants submitted the test: one was paid, one's
payment is on its way, and one finished a few hours ago, so its incentive is due tomorrow
("Complete & Send payment" sends it now). One more is invited and has not taken it yet.

Idempotent like recruitment.demo (whose helpers it uses): a study that already has its
reservation is left as it is. Money moves through the real services at past times.
"""

from datetime import timedelta

from rally import clock

UNMODERATED_STUDY = "Checkout usability test"
BUDGET = "Workspace Budget"

#: (UI id, first name, initial, submitted hours ago or None (invited only), payout story)
TEST_PARTICIPANTS = [
    ("demo-test-1", "Quinn", "R", 70, "paid"),
    ("demo-test-2", "Rosa", "M", 30, "sent"),
    ("demo-test-3", "Sam", "K", 5, "not_sent"),
    ("demo-test-4", "Tara", "N", None, None),
]


def unmoderated_test_seed(context):
    from recruitment.demo import _application, _as_of, _invited, _payout_story, _start
    from studies.models import Status, Study, StudyType

    study = (Study.objects.filter(workspace=context.workspace, is_template=False,
                                  name=UNMODERATED_STUDY, study_type=StudyType.UNMODERATED_TEST,
                                  status=Status.PAUSED)
             .select_related("workspace", "owner").first())
    if study is None:
        return
    now = clock.now()
    started = (study.published_at or now - timedelta(days=10)) + timedelta(hours=2)
    if _start(context, study, budget_name=BUDGET, when=started, state="paused") is None:
        return
    researcher = study.owner
    for index, (ui_id, first, initial, hours_ago, story) in enumerate(TEST_PARTICIPANTS):
        applied = started + timedelta(hours=1, minutes=25 * index)
        application = _application(study, ui_id, first, initial,
                                   status="completed" if story else "invited",
                                   applied=applied)
        _invited(study, application, actor=researcher, when=applied + timedelta(hours=2))
        if story is None:
            continue
        submitted = now - timedelta(hours=hours_ago)
        session = _completion(study, application, submitted=submitted)
        with _as_of(submitted):
            from rally.services import activity_record

            activity_record(workspace=study.workspace, actor_label="webhook:demo",
                            action="session.test_completed", study_id=study.pk,
                            summary=f"{application.participant.display_name} completed the "
                                    f"test (incentive due 24 hours later)",
                            data={"session": str(session.pk)})
        if story == "not_sent":
            from scheduling.services import session_payout_schedule

            with _as_of(submitted):
                session_payout_schedule(session=session, actor="webhook:demo")
            continue
        _payout_story(session, story, actor=researcher,
                      when=min(submitted + timedelta(hours=24, minutes=1),
                               now - timedelta(minutes=10)))


def _completion(study, application, *, submitted):
    """The test completion as the sync records it: Completed, no host, no booking."""
    from scheduling.models import Session
    from scheduling.unmoderated import unmoderated_completion_of

    existing = unmoderated_completion_of(application.pk)
    if existing is not None:
        return existing
    return Session.objects.create(
        workspace=study.workspace, study=study, application=application, host=None,
        starts_at=submitted - timedelta(minutes=study.duration_minutes), ends_at=submitted,
        status=Session.Status.COMPLETED, sequence=0, invite_sequence_sent=0,
        status_changed_at=submitted, created_at=submitted, updated_at=submitted)
