"""Unmoderated Test studies end to end through the sandbox in-process (SPEC T2, I1, I2, B1,
B4): the recruit and the invitation carry the test link, a submission comes back by poll or
webhook as one completion, its incentive is due 24 hours later (never before), and "Complete
& Send payment" pays it once."""
# ruff: noqa: F811 - the sandbox fixtures are imported from sync_support by name

import json
import uuid
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from billing.models import Payout
from billing.payouts import payouts_sweep
from billing.pricing import recruitment_fee
from participants.models import Application
from rally import clock
from rally.models import ActivityEntry, OutboxOperation
from rally.services import outbox_enqueue
from recruitment import operations, outbox, sync
from recruitment.models import Recruitment
from recruitment.unmoderated import unmoderated_completions_sync
from scheduling.models import Session
from scheduling.services import session_complete_and_pay
from scheduling.unmoderated import completion_profile_panel, unmoderated_completion_record
from studies.models import StudyType, TestTask
from tests.billing.payouts_support import charges, funded_ui_study
from tests.recruitment.factories import RecruitmentFactory
from tests.recruitment.sync_support import (  # noqa: F401 - fixtures
    sandbox_control,
    sandbox_transport,
    sandbox_ui,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch, settings):
    from rally.celery import app

    settings.SANDBOX_PAYMENT_FAILURE_RATE = 0
    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)


def run(row, client):
    return outbox.outbox_execute(operation_id=row.pk, client=client)


def _enqueue(study, operation, subject=None, **payload):
    with transaction.atomic():
        return outbox_enqueue(workspace=study.workspace, operation=operation,
                              subject=subject or study.pk, study_id=study.pk,
                              payload={"study_id": str(study.pk), **payload})


@pytest.fixture
def live_test(admin, sandbox_ui):
    """An Unmoderated Test recruiting at the sandbox, with one invited applicant and one
    who only applied. Returns (study, recruitment, invited application)."""
    study = funded_ui_study(admin, limit=3, fee="26.00", incentive="40.00",
                            study_type=StudyType.UNMODERATED_TEST, duration_minutes=20)
    now = clock.now()
    TestTask.objects.create(study=study, position=0, title="Find the returns policy",
                            created_at=now, updated_at=now)
    RecruitmentFactory(study=study)
    assert run(_enqueue(study, "create_recruit"), sandbox_ui) == "done"
    assert run(_enqueue(study, "launch_recruit"), sandbox_ui) == "done"
    recruitment = Recruitment.objects.select_related("study").get(study=study)
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/review",
                    {"outcome": "approve"})
    sandbox_control(sandbox_ui, f"recruits/{recruitment.ui_recruit_id}/applicants",
                    {"count": 2, "seed": 5})
    sync.recruitment_poll(recruitment_id=recruitment.pk, client=sandbox_ui)
    application = Application.objects.filter(study=study).order_by("applied_at").first()
    approve = _enqueue(study, "approve_applicant", subject=application.pk,
                       application_id=str(application.pk))
    assert run(approve, sandbox_ui) == "done"
    application.refresh_from_db()
    assert application.status == Application.Status.INVITED
    return study, recruitment, application


def _submit(client, application):
    sandbox_control(client, f"applicants/{application.ui_applicant_id}/submit")


def _ui_sessions(client, recruitment):
    return [s for page in client.sessions_pages(recruitment.ui_recruit_id) for s in page.items]


def _poll(recruitment, client):
    assert sync.recruitment_poll(recruitment_id=recruitment.pk, client=client)


def test_pricing_uses_the_unmoderated_rates():
    assert recruitment_fee(audience_type="b2b", study_type="unmoderated_test") == Decimal("43.00")
    assert recruitment_fee(audience_type="b2c", study_type="unmoderated_test") == Decimal("26.00")


def test_the_recruit_and_the_invitation_carry_the_test_link(live_test, sandbox_transport):
    study, _, _ = live_test
    page = reverse("studies:test_take", args=[study.id])
    [(create, _)] = sandbox_transport.requests("POST", "/recruits")
    attributes = json.loads(create.content)["data"]["attributes"]
    assert attributes["studyType"] == "unmoderated_task"
    assert attributes["taskUrl"].endswith(page) and "schedulingUrl" not in attributes
    [(approval, _)] = sandbox_transport.requests("POST", "/approvals")
    assert json.loads(approval.content)["taskUrl"].endswith(page)


def test_a_submission_synced_by_the_poll_is_completed_and_paid_24_hours_later_not_before(
        live_test, sandbox_ui):
    study, recruitment, application = live_test
    _submit(sandbox_ui, application)
    [ui_session] = _ui_sessions(sandbox_ui, recruitment)
    _poll(recruitment, sandbox_ui)

    application.refresh_from_db()
    assert application.status == Application.Status.COMPLETED
    session = Session.objects.get(application=application)
    assert session.host_id is None and session.status == Session.Status.COMPLETED
    assert (session.starts_at, session.ends_at) == (ui_session.starts_at, ui_session.ends_at)
    payout = Payout.objects.get(session_id=session.pk)
    assert payout.state == Payout.State.NOT_SENT and payout.amount == Decimal("40.00")
    assert payout.due_at == ui_session.ends_at + timedelta(hours=24)
    assert payout.ui_session_id == ui_session.id
    assert ActivityEntry.objects.filter(action="session.test_completed").count() == 1

    # Rally completes UI's session: submitted → completed there too.
    completion = OutboxOperation.objects.get(operation="complete_test_session")
    assert run(completion, sandbox_ui) == "done"
    [ui_session] = _ui_sessions(sandbox_ui, recruitment)
    assert ui_session.status == "completed"
    _poll(recruitment, sandbox_ui)  # the applicant is now completed at UI: nothing new
    assert Session.objects.filter(application=application).count() == 1

    assert payouts_sweep() == 0
    clock.advance(hours=23, seconds=3500)
    assert payouts_sweep() == 0
    assert charges(study) == (0, 0, 0)
    clock.advance(seconds=200)
    assert payouts_sweep() == 1
    assert run(OutboxOperation.objects.get(operation="create_payment"), sandbox_ui) == "done"
    payout.refresh_from_db()
    assert payout.state == Payout.State.SENT and payout.trigger == Payout.Trigger.AUTO_24H
    assert charges(study) == (1, 1, 0)
    assert payouts_sweep() == 0


def test_duplicate_webhooks_and_the_poll_record_one_completion(live_test, sandbox_ui):
    _, recruitment, application = live_test
    _submit(sandbox_ui, application)

    class Event:
        event_id = "evt_submitted"
        type = "applicant.status_changed"
        payload = {"createdAt": clock.now().isoformat(),
                   "data": {"resource": {"type": "applicants",
                                         "id": application.ui_applicant_id,
                                         "recruitId": recruitment.ui_recruit_id}}}

    for _ in range(3):
        sync.applicant_event_process(Event, sandbox_ui)
    _poll(recruitment, sandbox_ui)
    assert Session.objects.filter(application=application).count() == 1
    assert Payout.objects.filter(application_id=application.pk).count() == 1
    assert OutboxOperation.objects.filter(operation="complete_test_session").count() == 1
    assert ActivityEntry.objects.filter(action="session.test_completed",
                                        actor_label="webhook:evt_submitted").count() == 1


def test_recording_the_same_completion_again_changes_nothing(live_test, sandbox_ui):
    _, recruitment, application = live_test
    _submit(sandbox_ui, application)
    _poll(recruitment, sandbox_ui)
    session = Session.objects.get(application=application)
    again = unmoderated_completion_record(application_id=application.pk,
                                   completed_at=session.ends_at + timedelta(hours=2),
                                   actor_label="test")
    assert again.pk == session.pk
    assert Payout.objects.get(session_id=session.pk).due_at == (
        session.ends_at + timedelta(hours=24))
    # nothing waiting: the sync does not even ask UI
    assert unmoderated_completions_sync(study=application.study, recruit_id="unused", client=None,
                                 actor_label="test") == 0


def test_an_applicant_who_did_not_submit_gets_no_completion(live_test, sandbox_ui):
    study, recruitment, application = live_test
    _poll(recruitment, sandbox_ui)
    assert not Session.objects.filter(study=study).exists()
    other = Application.objects.filter(study=study).exclude(pk=application.pk).get()
    assert unmoderated_completion_record(application_id=other.pk, completed_at=clock.now(),
                                  actor_label="test") is None
    assert not Payout.objects.exists()


def test_complete_and_send_payment_pays_an_unmoderated_completion_once(
        live_test, sandbox_ui, admin):
    study, recruitment, application = live_test
    _submit(sandbox_ui, application)
    _poll(recruitment, sandbox_ui)
    session = Session.objects.get(application=application)
    for _ in range(2):
        _, payout = session_complete_and_pay(membership=admin, session_id=session.pk)
        assert payout.state == Payout.State.SENDING and payout.trigger == Payout.Trigger.MANUAL
    assert OutboxOperation.objects.filter(operation="create_payment").count() == 1
    assert charges(study) == (1, 1, 0)
    clock.advance(hours=25)
    assert payouts_sweep() == 0  # the sweeper finds nothing left to pay
    assert run(OutboxOperation.objects.get(operation="create_payment"), sandbox_ui) == "done"
    assert len([p for page in sandbox_ui.payments_pages(recruitment.ui_recruit_id)
                for p in page.items]) == 1


def test_the_participants_menu_offers_complete_and_send_payment_until_it_is_sent(
        live_test, sandbox_ui, admin, observer, client_for):
    study, recruitment, application = live_test
    _submit(sandbox_ui, application)
    _poll(recruitment, sandbox_ui)
    session = Session.objects.get(application=application)
    tab = reverse("participants:study_participants", args=[study.id])
    pay = reverse("scheduling:session_complete_and_pay", args=[session.pk])

    html = client_for(observer).get(tab).content.decode()
    assert "Complete &amp; Send payment" not in html  # observers cannot pay
    assert client_for(observer).post(pay).status_code == 403
    assert Payout.objects.get(session_id=session.pk).state == Payout.State.NOT_SENT

    client = client_for(admin)
    html = client.get(tab).content.decode()
    assert html.count(">Complete &amp; Send payment<") == 1 and pay in html
    responses = [client.post(pay) for _ in range(2)]  # clicked twice
    assert all(r.status_code == 302 and r["Location"] == tab for r in responses)
    assert Payout.objects.get(session_id=session.pk).state == Payout.State.SENDING
    assert charges(study) == (1, 1, 0)
    assert "Complete &amp; Send payment" not in client.get(tab).content.decode()


def test_a_ui_session_already_completed_needs_no_completion_call(live_test, sandbox_ui):
    _, recruitment, application = live_test
    _submit(sandbox_ui, application)
    [ui_session] = _ui_sessions(sandbox_ui, recruitment)
    sandbox_ui.session_complete(ui_session.id, key=str(uuid.uuid4()))
    _poll(recruitment, sandbox_ui)
    assert Session.objects.filter(application=application).count() == 1
    assert not OutboxOperation.objects.filter(operation="complete_test_session").exists()


def test_the_sandboxs_submit_reaches_rally_by_signed_webhook_and_is_recorded_once(
        live_test, sandbox_ui, monkeypatch):
    import httpx

    from rally.wsgi import application as rally_app
    from recruitment.models import WebhookEvent
    from recruitment.webhooks import webhook_endpoint_ensure
    from sandbox import webhooks as sandbox_webhooks

    _, _, application = live_test
    webhook_endpoint_ensure(client=sandbox_ui, url="http://testserver/webhooks/user-interviews/")
    monkeypatch.setattr(sandbox_webhooks, "http_client", lambda: httpx.Client(
        transport=httpx.WSGITransport(app=rally_app)))
    monkeypatch.setattr("recruitment.webhooks.webhook_event_dispatch", lambda pk: (
        operations.webhook_event_process(event_pk=pk, client=sandbox_ui)))
    sandbox_webhooks.deliveries_send_due()  # what happened before the subscription: nothing

    _submit(sandbox_ui, application)
    assert sandbox_webhooks.deliveries_send_due() > 0
    application.refresh_from_db()
    assert application.status == Application.Status.COMPLETED
    session = Session.objects.get(application=application)
    assert Payout.objects.get(session_id=session.pk).due_at == session.ends_at + timedelta(
        hours=24)
    assert WebhookEvent.objects.filter(type="applicant.status_changed").exists()
    assert all(event.processed_at for event in WebhookEvent.objects.all())
    assert ActivityEntry.objects.filter(action="session.test_completed").count() == 1


def test_the_applicant_profile_shows_the_completion_and_its_payout(
        live_test, sandbox_ui, admin, client_for, django_assert_max_num_queries):
    study, recruitment, application = live_test
    # Invited, not submitted yet (the panel as the profile renders it: a page request here
    # would close the sandbox's connection before the submission below).
    template, context = completion_profile_panel(None, study, application)
    html = render_to_string(template, context)
    assert "Test completion" in html and "Not submitted yet." in html

    _submit(sandbox_ui, application)
    _poll(recruitment, sandbox_ui)
    profile = reverse("participants:applicant_profile", args=[study.id, application.pk])
    client = client_for(admin)
    session = Session.objects.get(application=application)
    payout = Payout.objects.get(session_id=session.pk)
    with django_assert_max_num_queries(40):
        html = client.get(profile).content.decode()
    assert "Not submitted yet." not in html
    zone = ZoneInfo(admin.user.time_zone)  # the page shows the reader's own time zone
    assert "Submitted" in html and f"{session.ends_at.astimezone(zone):%b %-d, %Y}" in html
    assert "$40.00" in html and "badge--not_sent" in html
    assert f"Due {payout.due_at.astimezone(zone):%b %-d, %Y}" in html

    session_complete_and_pay(membership=admin, session_id=session.pk)
    html = client.get(profile).content.decode()
    assert "badge--sending" in html and ">Sending<" in html

    # Someone who only applied, and applicants of other study types, get no such panel.
    other = Application.objects.filter(study=study).exclude(pk=application.pk).get()
    html = client.get(reverse("participants:applicant_profile",
                              args=[study.id, other.pk])).content.decode()
    assert "Test completion" not in html
