"""Ended sessions nobody marks (SPEC C5, I2): they count as completed at their end time and
their incentive goes out 24 hours later; No-show holds it, with Undo until it is sent; the
rule of what is due when lives in billing.incentive_due."""

from datetime import timedelta

import pytest

from billing import payouts
from billing.incentive_due import incentive_due_at
from billing.models import Payout
from participants import services as participant_services
from rally import clock
from rally.models import ActivityEntry, OutboxOperation
from scheduling import services
from scheduling.models import Session
from tests.billing.payouts_support import (  # noqa: F401 - dispatched is a fixture
    charges,
    dispatched,
    ended_session,
    funded_ui_study,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(admin):
    return funded_ui_study(admin)


def test_an_unmarked_session_completes_at_its_end_and_is_paid_24_hours_later(study):
    session = ended_session(study, ended=timedelta(minutes=1))
    later = ended_session(study, ended=-timedelta(hours=2))  # not over yet
    assert services.sessions_sweep() == 1
    session.refresh_from_db()
    session.application.refresh_from_db()
    assert (session.status, session.completed_automatically) == ("completed", True)
    assert session.application.status == "completed"
    assert Session.objects.get(pk=later.pk).status == "upcoming"
    payout = Payout.objects.get(session_id=session.pk)
    assert (payout.state, payout.due_at) == ("not_sent", incentive_due_at(session.ends_at))
    assert OutboxOperation.objects.filter(operation="complete_session",
                                          payload__session_id=str(session.pk)).count() == 1
    entry = ActivityEntry.objects.get(action="session.completed_automatically")
    assert "unless it is marked No-show" in entry.summary
    # Nothing is sent before end + 24 h; at that moment the payout sweeper sends it, once.
    clock.advance(hours=23, seconds=58 * 60)
    assert payouts.payouts_sweep() == 0
    clock.advance(seconds=2 * 60)
    assert services.sessions_sweep() == 1  # `later` has ended meanwhile
    assert payouts.payouts_sweep() == 1
    assert payouts.payouts_sweep() == 0
    payout.refresh_from_db()
    assert (payout.state, payout.trigger) == ("sending", "auto_24h")
    assert charges(study) == (1, 1, 0)
    assert services.sessions_sweep() == 0


def test_marking_completed_confirms_an_automatic_completion(study, admin):
    session = ended_session(study)
    services.sessions_sweep()
    services.session_mark(membership=admin, session_id=session.pk, status="completed")
    session.refresh_from_db()
    assert (session.status, session.completed_automatically) == ("completed", False)
    assert OutboxOperation.objects.filter(operation="complete_session").count() == 1
    assert ActivityEntry.objects.filter(action="session.confirmed").count() == 1
    assert Payout.objects.get(session_id=session.pk).state == "not_sent"


def test_no_show_holds_the_incentive_and_undo_makes_it_due_again(study, admin):
    session = ended_session(study, ended=timedelta(minutes=5))
    services.sessions_sweep()
    due_at = Payout.objects.get(session_id=session.pk).due_at
    services.session_mark(membership=admin, session_id=session.pk, status="no_show")
    session.refresh_from_db()
    session.application.refresh_from_db()
    payout = Payout.objects.get(session_id=session.pk)
    assert (session.status, session.application.status) == ("no_show", "no_show")
    assert payout.state == "canceled"
    clock.advance(hours=25)
    assert payouts.payouts_sweep() == 0
    assert charges(study) == (0, 0, 0)
    # Undo: Completed again, due at the same time as before (passed: the next sweep pays).
    services.session_mark(membership=admin, session_id=session.pk, status="completed")
    session.refresh_from_db()
    session.application.refresh_from_db()
    payout.refresh_from_db()
    assert (session.status, session.application.status) == ("completed", "completed")
    assert (payout.state, payout.due_at) == ("not_sent", due_at)
    assert ActivityEntry.objects.filter(action="session.no_show_undone").count() == 1
    # UI hears each change as a new request: completed, no-show, completed again.
    keys = list(OutboxOperation.objects.filter(payload__session_id=str(session.pk))
                .order_by("created_at", "id").values_list("operation", flat=True))
    assert keys == ["complete_session", "no_show_session", "complete_session"]
    assert payouts.payouts_sweep() == 1
    assert charges(study) == (1, 1, 0)
    # Once sent, a No-show can no longer stop it: refused, nothing changes.
    with pytest.raises(services.BookingRefused, match="already been sent"):
        services.session_mark(membership=admin, session_id=session.pk, status="no_show")
    session.refresh_from_db()
    assert session.status == "completed"
    assert Payout.objects.get(session_id=session.pk).state == "sending"


def test_a_no_show_marked_before_the_sweep_is_never_paid_and_undo_schedules_it(study, admin):
    session = ended_session(study)
    services.session_mark(membership=admin, session_id=session.pk, status="no_show")
    assert services.sessions_sweep() == 0
    assert not Payout.objects.exists()
    services.session_mark(membership=admin, session_id=session.pk, status="completed")
    payout = Payout.objects.get(session_id=session.pk)
    assert (payout.state, payout.due_at) == ("not_sent", incentive_due_at(session.ends_at))


def test_complete_and_send_payment_does_not_undo_a_no_show(study, admin):
    session = ended_session(study)
    services.session_mark(membership=admin, session_id=session.pk, status="no_show")
    with pytest.raises(services.BookingRefused, match="undo that first"):
        services.session_complete_and_pay(membership=admin, session_id=session.pk)
    assert Session.objects.get(pk=session.pk).status == "no_show"
    assert charges(study) == (0, 0, 0)


def test_a_participant_rejected_after_the_automatic_completion_is_not_paid(study, admin):
    session = ended_session(study)
    services.sessions_sweep()
    participant_services.applicant_reject(membership=admin, study=study,
                                          application_id=session.application_id,
                                          reason="Not the person who applied")
    clock.advance(hours=25)
    assert payouts.payouts_sweep() == 0
    assert Payout.objects.get(session_id=session.pk).state == "canceled"
    # Undoing a No-show never reopens a payout canceled for a rejection.
    assert payouts.payout_reopen(session_id=session.pk, actor="test").state == "canceled"
    assert charges(study) == (0, 0, 0)


def test_the_session_sweep_is_a_beat_task():
    from django.conf import settings

    from rally.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["scheduling-sessions-sweep"]
    assert entry == {"task": "scheduling.sessions_sweep", "schedule": 30.0}
    app.loader.import_default_modules()
    assert "scheduling.sessions_sweep" in app.tasks


def _row(client, study, session):
    from django.urls import reverse

    html = client.get(reverse("scheduling:study_scheduling", args=[study.pk])).content.decode()
    name = session.application.participant.display_name.replace("'", "&#x27;")
    start = html.index(name)
    return html[html.rindex("<tr>", 0, start):html.index("</tr>", start)]


def test_the_sessions_list_says_when_the_incentive_goes_out_and_offers_no_show(study, admin,
                                                                              client_for):
    session = ended_session(study)
    client = client_for(admin)
    name = session.application.participant.display_name.replace("'", "&#x27;")
    row = _row(client, study, session)
    assert "Ended — incentive sent automatically on" in row
    assert "unless marked No-show" in row
    assert f'data-confirm="Mark {name} as No-show?"' in row
    assert "incentive of $100.00 will not be sent" in row
    assert "Undo" not in row
    services.sessions_sweep()
    row = _row(client, study, session)
    assert "Ended — incentive sent automatically on" in row  # completed at its end, not sent
    services.session_mark(membership=admin, session_id=session.pk, status="no_show")
    row = _row(client, study, session)
    assert "Ended — incentive sent automatically" not in row
    assert f"Undo the No-show of {name}" in row
    services.session_mark(membership=admin, session_id=session.pk, status="completed")
    clock.advance(hours=25)
    payouts.payouts_sweep()
    row = _row(client, study, session)
    assert "Ended — incentive sent automatically" not in row
    assert "No-show</button>" not in row and "Undo" not in row  # sent: nothing to stop


def test_observers_see_the_line_but_cannot_mark(study, admin, observer, client_for):
    session = ended_session(study)
    row = _row(client_for(observer), study, session)
    assert "unless marked No-show" in row
    assert "No-show</button>" not in row
