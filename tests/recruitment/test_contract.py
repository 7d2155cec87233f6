"""The adapter against the sandbox, in-process over real HTTP semantics (UI_API.md).

One test per endpoint and per error code; the client is the production `UIClient`, its
transport httpx's WSGI transport into Rally's own WSGI app (which serves the sandbox).
"""

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.core import signals
from django.db import close_old_connections

from rally import clock
from recruitment.user_interviews import errors
from recruitment.user_interviews.client import MEDIA_TYPE, UIClient, idempotency_key
from recruitment.user_interviews.resources import (
    ApplicantStatus,
    CharacteristicType,
    Feasibility,
    PaymentStatus,
    RecruitStatus,
    SessionStatus,
)
from tests.recruitment import jsonapi_schema

BASE_URL = "http://testserver/sandbox/ui/api"
API_KEY = "rally-dev-key"
PROFESSIONAL = {"characteristic": "industry", "values": ["healthcare"]}
SCREENER = {"version": 1, "questions": [
    {"uid": "q_tools", "type": "multiple_choice", "text": "Which tools?", "required": True,
     "options": [{"uid": "o_a", "label": "Sheets"}, {"uid": "o_b", "label": "Excel"}]},
    {"uid": "q_often", "type": "single_choice", "text": "How often?", "required": True,
     "options": [{"uid": "o_w", "label": "Weekly"}, {"uid": "o_n", "label": "Never",
                                                        "disqualify": True}]},
    {"uid": "q_scale", "type": "scale", "text": "How hard?", "required": True,
     "min": 1, "max": 5},
    {"uid": "q_since", "type": "date", "text": "Since when?", "required": True},
    {"uid": "q_story", "type": "long_text", "text": "Tell us more", "required": True},
]}


class Recorder(httpx.BaseTransport):
    """Passes requests to the sandbox, remembering each request and response."""

    def __init__(self, inner):
        self.inner = inner
        self.exchanges = []

    def handle_request(self, request):
        exchange = [request, None]  # the response stays None when the request timed out
        self.exchanges.append(exchange)
        exchange[1] = self.inner.handle_request(request)
        return exchange[1]

    def documents(self):
        """(method path, JSON document) of every answer with a body that was read."""
        for request, response in self.exchanges:
            if response is None:
                continue
            try:
                content = response.content
            except httpx.ResponseNotRead:
                continue
            if content:
                yield f"{request.method} {request.url.path}", json.loads(content)

    def keys(self, path_end):
        return [r.headers.get("Idempotency-Key") for r, _ in self.exchanges
                if r.url.path.endswith(path_end)]


@pytest.fixture
def sandbox(db, settings):
    """The sandbox served in-process, with limits out of the way of functional tests."""
    from rally.wsgi import application

    settings.SANDBOX_API_KEYS = [API_KEY]
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 100_000
    settings.SANDBOX_RATE_LIMIT_BURST = 100_000
    settings.SANDBOX_FAULT_TIMEOUT_SECONDS = 0
    settings.SANDBOX_REVIEW_DELAY_SECONDS = 3600  # reviews only when a test asks
    # Like Django's test client: a request's end must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    recorder = Recorder(httpx.WSGITransport(app=application))
    yield recorder
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    # Every document the sandbox answered in the test is valid JSON:API.
    invalid = {f"{where} #{index}": found for index, (where, document)
               in enumerate(recorder.documents()) if (found := jsonapi_schema.problems(document))}
    assert not invalid, "Not valid JSON:API:\n" + "\n".join(
        f"{where}: {lines}" for where, lines in invalid.items())


@pytest.fixture
def naps():
    return []


@pytest.fixture
def ui(sandbox, naps):
    with UIClient(base_url=BASE_URL, api_key=API_KEY, transport=sandbox,
                  sleep=naps.append) as client:
        yield client


def control(ui, path, body=None):
    """A sandbox-only control (`_sandbox/...`)."""
    response = ui.http.post(f"_sandbox/{path}", content=json.dumps(body or {}),
                            headers={"Content-Type": MEDIA_TYPE})
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def inject(ui, path, *, count=1, status=None, timeout=None, method=None):
    body = {"path": path, "count": count}
    if status:
        body["status"] = status
    if timeout:
        body["timeout"] = timeout
    if method:
        body["method"] = method
    control(ui, "faults", body)


def audience(**overrides):
    return {"type": "b2c", "countries": ["US"], "usStates": [], "criteria": [], **overrides}


def new_recruit(ui, *, subject=None, study_type="interview", num_participants=5,
                **overrides):
    subject = subject or uuid.uuid4()
    fields = {"external_id": subject, "internal_name": "Invoices study",
              "public_title": "Talk to us about invoices",
              "public_description": "A 45-minute video call.", "study_type": study_type,
              "num_participants": num_participants, "duration_minutes": 45,
              "compensation": Decimal("75.00"), "timezone": "America/New_York",
              "audience": audience(), "screener": SCREENER,
              "scheduling_url": "http://127.0.0.1:8000/book/entry"}
    fields.update(overrides)
    return ui.recruit_create(key=idempotency_key("create_recruit", subject), **fields)


def live_recruit(ui, **kwargs):
    recruit = new_recruit(ui, **kwargs)
    ui.recruit_launch(recruit.id, key=idempotency_key("launch_recruit", recruit.id))
    control(ui, f"recruits/{recruit.id}/review", {"outcome": "approve"})
    return ui.recruit_get(recruit.id)


def applicants_of(ui, recruit, count=3, **options):
    control(ui, f"recruits/{recruit.id}/applicants", {"count": count, "seed": 7, **options})
    return [a for page in ui.applicants_pages(recruit.id) for a in page.items]


def booked_session(ui, recruit=None):
    recruit = recruit or live_recruit(ui)
    applicant = applicants_of(ui, recruit, count=1)[0]
    ui.applicant_approve(applicant.id, key=idempotency_key("approve", applicant.id))
    starts = clock.now().replace(microsecond=0) + timedelta(days=2)
    session = ui.session_create(recruit.id, key=idempotency_key("session", applicant.id),
                                applicant_id=applicant.id, starts_at=starts,
                                ends_at=starts + timedelta(minutes=45))
    return recruit, applicant, session


# Characteristics and estimates -------------------------------------------------------


def test_characteristics_list_reads_the_whole_catalog(ui):
    catalog = ui.characteristics_list()
    slugs = {c.slug for c in catalog}
    assert {"industry", "gender"} <= slugs
    assert all(c.range or c.choices for c in catalog)
    assert any(c.type is CharacteristicType.RANGE for c in catalog)


def test_estimate_create_answers_reach_and_feasibility(ui):
    estimate = ui.estimate_create(audience=audience(), study_type="interview",
                                  num_participants=5, duration_minutes=45)
    assert estimate.reach >= 25 and not estimate.reach_below_threshold
    assert estimate.feasibility in set(Feasibility)


def test_estimate_for_a_tiny_audience_is_below_threshold(ui):
    catalog = {c.slug: c for c in ui.characteristics_list()}
    narrow = [{"characteristic": slug, "values": [catalog[slug].choices[-1].id]}
              for slug, item in catalog.items()
              if item.type is CharacteristicType.SINGLE_SELECT and "b2c" in item.audience_types]
    estimate = ui.estimate_create(audience=audience(criteria=narrow[:10]),
                                  study_type="interview", num_participants=5,
                                  duration_minutes=45)
    assert estimate.reach_below_threshold and estimate.reach == 0


# Recruits ----------------------------------------------------------------------------


def test_recruit_create_starts_in_draft_with_rallys_fields(ui):
    subject = uuid.uuid4()
    recruit = new_recruit(ui, subject=subject)
    assert recruit.status is RecruitStatus.DRAFT
    assert recruit.external_id == str(subject)
    assert recruit.compensation == Decimal("75.00")
    assert recruit.application_url is None


def test_recruit_create_twice_with_the_same_key_is_replayed(ui, sandbox):
    subject = uuid.uuid4()
    first, second = new_recruit(ui, subject=subject), new_recruit(ui, subject=subject)
    assert first.id == second.id
    assert sandbox.exchanges[-1][1].headers.get("Idempotent-Replayed") == "true"


def test_recruit_with_a_used_external_id_returns_the_first(ui):
    subject = uuid.uuid4()
    first = new_recruit(ui, subject=subject)
    again = ui.recruit_create(
        key=idempotency_key("create_recruit_again", subject), external_id=subject,
        internal_name="Invoices study", public_title="Other title", public_description="",
        study_type="interview", num_participants=5, duration_minutes=45,
        compensation=Decimal("75.00"), timezone="UTC", audience=audience(),
        screener={"version": 1, "questions": []})
    assert again.id == first.id


def test_recruit_get_and_find_by_external_id(ui):
    subject = uuid.uuid4()
    created = new_recruit(ui, subject=subject)
    assert ui.recruit_get(created.id).id == created.id
    assert ui.recruit_find(external_id=subject).id == created.id
    assert ui.recruit_find(external_id=uuid.uuid4()) is None


def test_recruits_pages_lists_every_recruit(ui):
    made = {new_recruit(ui).id for _ in range(3)}
    listed = {r.id for page in ui.recruits_pages(page_size=2) for r in page.items}
    assert made <= listed


def test_recruit_update_in_draft_changes_anything(ui):
    recruit = new_recruit(ui)
    updated = ui.recruit_update(recruit.id, key=idempotency_key("update", recruit.id),
                                num_participants=9, compensation=Decimal("90.00"),
                                audience=audience(countries=["US", "CA"]))
    assert (updated.num_participants, updated.compensation) == (9, Decimal("90.00"))


def test_recruit_lifecycle_launch_review_pause_resume_close(ui):
    recruit = new_recruit(ui)
    launched = ui.recruit_launch(recruit.id, key=idempotency_key("launch", recruit.id))
    assert launched.status is RecruitStatus.PENDING_REVIEW
    control(ui, f"recruits/{recruit.id}/review", {"outcome": "approve"})
    assert ui.recruit_get(recruit.id).status is RecruitStatus.RECRUITING
    paused = ui.recruit_pause(recruit.id, key=idempotency_key("pause", recruit.id))
    assert paused.status is RecruitStatus.PAUSED
    resumed = ui.recruit_resume(recruit.id, key=idempotency_key("resume", recruit.id))
    assert resumed.status is RecruitStatus.RECRUITING
    assert resumed.application_url
    closed = ui.recruit_close(recruit.id, key=idempotency_key("close", recruit.id))
    assert closed.status is RecruitStatus.CLOSED
    assert closed.billing is not None and closed.billing.completed_sessions == 0


def test_declined_review_carries_the_reason(ui):
    recruit = new_recruit(ui)
    ui.recruit_launch(recruit.id, key=idempotency_key("launch", recruit.id))
    control(ui, f"recruits/{recruit.id}/review",
            {"outcome": "decline", "reason": "Incentive too low"})
    declined = ui.recruit_get(recruit.id)
    assert declined.status is RecruitStatus.DECLINED
    assert declined.declined_reason == "Incentive too low"


# Applicants --------------------------------------------------------------------------


def test_applicants_stream_page_by_page_with_every_attribute(ui, sandbox):
    recruit = live_recruit(ui)
    control(ui, f"recruits/{recruit.id}/applicants", {"count": 5, "seed": 3})
    pages = list(ui.applicants_pages(recruit.id, page_size=2))
    assert [len(p.items) for p in pages] == [2, 2, 1]
    assert pages[0].total_count == 5
    applicant = pages[0].items[0]
    assert applicant.status is ApplicantStatus.APPLIED
    assert applicant.participant.first_name and applicant.participant.last_initial
    assert applicant.applied_at <= applicant.updated_at
    answers = {r.question_uid: r for r in applicant.screener_responses}
    assert set(answers) == {"q_tools", "q_often", "q_scale", "q_since", "q_story"}
    assert answers["q_often"].answer_uids == ("o_w",)  # qualifying applicants avoid "Never"
    assert 1 <= answers["q_scale"].number <= 5
    assert answers["q_since"].date is not None and answers["q_story"].text
    assert applicant.screener_version == 1


def test_applicants_filter_by_status_and_updated_since(ui):
    recruit = live_recruit(ui)
    first, *_ = applicants_of(ui, recruit, count=3)
    ui.applicant_reject(first.id, key=idempotency_key("reject", first.id), reason="Not a fit")
    rejected = ui.applicants_page(recruit.id, statuses=["rejected"])
    assert [a.id for a in rejected.items] == [first.id]
    later = clock.now() + timedelta(hours=1)
    assert ui.applicants_page(recruit.id, updated_since=later).items == ()


def test_applicant_approve_with_the_scheduling_link(ui):
    recruit = live_recruit(ui)
    applicant = applicants_of(ui, recruit, count=1)[0]
    approved = ui.applicant_approve(applicant.id, key=idempotency_key("approve", applicant.id),
                                    scheduling_url="http://127.0.0.1:8000/book/signed-token")
    assert approved.status is ApplicantStatus.APPROVED


def test_applicant_reject_with_a_reason(ui):
    recruit = live_recruit(ui)
    applicant = applicants_of(ui, recruit, count=1)[0]
    rejected = ui.applicant_reject(applicant.id, key=idempotency_key("reject", applicant.id),
                                   reason="Not a fit")
    assert rejected.status is ApplicantStatus.REJECTED


def test_direct_link_applicants_who_miss_criteria_are_unqualified(ui):
    recruit = live_recruit(ui)
    applicant = applicants_of(ui, recruit, count=1, viaDirectLink=True, meetsCriteria=False)[0]
    assert applicant.source.value == "direct_link"
    assert applicant.qualification.value in {"unqualified", "manual_review"}


# Sessions ----------------------------------------------------------------------------


def test_session_create_and_list(ui):
    recruit, applicant, session = booked_session(ui)
    assert (session.applicant_id, session.status) == (applicant.id, SessionStatus.SCHEDULED)
    listed = [s.id for page in ui.sessions_pages(recruit.id) for s in page.items]
    assert listed == [session.id]


@pytest.mark.parametrize(("action", "status"), [
    ("session_complete", SessionStatus.COMPLETED),
    ("session_no_show", SessionStatus.NO_SHOW),
    ("session_cancel", SessionStatus.CANCELED),
])
def test_session_outcomes(ui, action, status):
    _, _, session = booked_session(ui)
    changed = getattr(ui, action)(session.id, key=idempotency_key(action, session.id))
    assert changed.status is status


def test_session_reschedule_moves_the_times(ui):
    _, _, session = booked_session(ui)
    starts = session.starts_at + timedelta(days=1)
    moved = ui.session_reschedule(session.id, key=idempotency_key("reschedule", session.id),
                                  starts_at=starts, ends_at=starts + timedelta(minutes=45))
    assert moved.starts_at == starts and moved.status is SessionStatus.SCHEDULED


# Payments ----------------------------------------------------------------------------


def completed_session(ui):
    recruit, _applicant, session = booked_session(ui)
    ui.session_complete(session.id, key=idempotency_key("complete", session.id))
    return recruit, session


def test_payment_create_pays_the_compensation_once_per_external_id(ui):
    recruit, session = completed_session(ui)
    payout = uuid.uuid4()
    payment = ui.payment_create(session.id, key=idempotency_key("pay", payout),
                                external_id=payout, trigger="manual")
    again = ui.payment_create(session.id, key=idempotency_key("pay-again", payout),
                              external_id=payout, trigger="manual")
    assert again.id == payment.id
    assert payment.amount == Decimal("75.00")
    assert payment.status in {PaymentStatus.PENDING, PaymentStatus.PROCESSING,
                              PaymentStatus.PAID}
    listed = [p.id for page in ui.payments_pages(recruit.id) for p in page.items]
    assert listed == [payment.id]
    assert ui.payment_find(recruit.id, external_id=payout).id == payment.id


def test_paying_a_no_show_is_a_conflict(ui):
    _, _, session = booked_session(ui)
    ui.session_no_show(session.id, key=idempotency_key("no_show", session.id))
    with pytest.raises(errors.Conflict):
        ui.payment_create(session.id, key=idempotency_key("pay", session.id),
                          external_id=uuid.uuid4(), trigger="auto_24h")


# Webhook subscriptions ---------------------------------------------------------------


def test_webhook_subscription_lifecycle(ui, monkeypatch):
    import sandbox.webhooks

    delivered = []
    monkeypatch.setattr(sandbox.webhooks, "http_client", lambda: httpx.Client(
        transport=httpx.MockTransport(lambda r: delivered.append(r) or httpx.Response(200))))
    created = ui.webhook_subscription_create(
        key=idempotency_key("subscribe", "demo"), url="http://127.0.0.1:8000/webhooks/ui/",
        event_types=["recruit.status_changed", "ping"])
    assert created.secret and created.active and created.disabled_at is None
    assert [s.id for s in ui.webhook_subscriptions_list()] == [created.id]
    rotated = ui.webhook_subscription_rotate_secret(
        created.id, key=idempotency_key("rotate", created.id))
    assert rotated.secret and rotated.secret != created.secret
    ui.webhook_subscription_test(created.id, key=idempotency_key("ping", created.id))
    deliveries = [d for page in ui.webhook_deliveries_pages(created.id) for d in page.items]
    assert [d.event_type for d in deliveries] == ["ping"]
    ui.webhook_subscription_delete(created.id, key=idempotency_key("unsubscribe", created.id))
    assert ui.webhook_subscriptions_list() == []


# Error codes -------------------------------------------------------------------------


def test_401_unknown_key_is_an_auth_error(sandbox):
    with UIClient(base_url=BASE_URL, api_key="wrong", transport=sandbox) as client, \
            pytest.raises(errors.AuthError) as caught:
        client.characteristics_list()
    assert caught.value.status == 401


def test_404_unknown_recruit_is_not_found(ui):
    with pytest.raises(errors.NotFound):
        ui.recruit_get("rec_does_not_exist")


def test_406_other_version_is_permanent(ui):
    response = ui.http.get("characteristics",
                           headers={"Accept": "application/vnd.user-interviews.v1+json"})
    assert response.status_code == 406


def test_400_missing_idempotency_key_and_bad_paging(ui):
    assert ui.http.post("estimates", content=b"{}",
                        headers={"Content-Type": MEDIA_TYPE}).status_code == 400
    with pytest.raises(ValueError, match="page_size"):
        next(ui.recruits_pages(page_size=201))
    assert ui.http.get("recruits", params={"page[size]": 201}).status_code == 400


def test_409_invalid_transition_names_the_allowed_actions(ui):
    recruit = new_recruit(ui)
    with pytest.raises(errors.InvalidTransition) as caught:
        ui.recruit_pause(recruit.id, key=idempotency_key("pause", recruit.id))
    assert caught.value.allowed_actions
    assert "launches" in caught.value.allowed_actions or "launch" in str(
        caught.value.allowed_actions)


def test_409_idempotency_conflict_is_retried_then_raised(ui, naps):
    from sandbox.gateway import _request_hash
    from sandbox.models import IdempotencyRecord

    recruit = new_recruit(ui)
    key = idempotency_key("pause-busy", recruit.id)
    # The first request with this key is still running at UI.
    IdempotencyRecord.objects.create(
        api_key=API_KEY, key=key, created_at=clock.now(),
        request_hash=_request_hash("POST", f"/recruits/{recruit.id}/pauses", None))
    with pytest.raises(errors.IdempotencyInProgress):
        ui.recruit_pause(recruit.id, key=key)
    assert len(naps) == ui.max_attempts - 1


def test_422_validation_failed_points_at_the_attribute(ui):
    with pytest.raises(errors.ValidationFailed) as caught:
        new_recruit(ui, audience=audience(type="b2b"))
    assert "audience" in caught.value.pointer


def test_422_locked_after_launch(ui):
    recruit = live_recruit(ui)
    with pytest.raises(errors.LockedAfterLaunch):
        ui.recruit_update(recruit.id, key=idempotency_key("relocate", recruit.id),
                          audience=audience(countries=["CA"]))
    with pytest.raises(errors.ValidationFailed):
        ui.recruit_update(recruit.id, key=idempotency_key("grow", recruit.id),
                          num_participants=50)
    smaller = ui.recruit_update(recruit.id, key=idempotency_key("shrink", recruit.id),
                                num_participants=3)
    assert smaller.num_participants == 3


def test_422_idempotency_key_reused_with_another_body(ui):
    recruit = new_recruit(ui)
    key = idempotency_key("update", recruit.id)
    ui.recruit_update(recruit.id, key=key, num_participants=6)
    with pytest.raises(errors.IdempotencyKeyReused):
        ui.recruit_update(recruit.id, key=key, num_participants=7)


def test_429_from_the_rate_limit_is_waited_out_or_raised(ui, settings, naps):
    settings.SANDBOX_RATE_LIMIT_BURST = 1
    settings.SANDBOX_RATE_LIMIT_PER_MINUTE = 1
    ui.characteristics_list()
    with pytest.raises(errors.RateLimited) as caught:
        ui.characteristics_list()
    assert caught.value.retry_after > 0
    assert sum(naps) <= ui.rate_limit_budget_seconds


# Faults ------------------------------------------------------------------------------


def test_injected_429_honours_retry_after(ui, naps):
    recruit = new_recruit(ui)
    inject(ui, f"/recruits/{recruit.id}", status=429, count=2)
    assert ui.recruit_get(recruit.id).id == recruit.id
    assert naps == [1.0, 1.0]


def test_500s_then_success_reuse_one_idempotency_key(ui, sandbox, naps):
    from sandbox.models import IdempotencyRecord

    recruit = new_recruit(ui)
    inject(ui, f"/recruits/{recruit.id}/launches", status=500, count=2)
    launched = ui.recruit_launch(recruit.id, key=idempotency_key("launch", recruit.id))
    assert launched.status is RecruitStatus.PENDING_REVIEW
    keys = sandbox.keys("/launches")
    assert len(keys) == 3 and set(keys) == {idempotency_key("launch", recruit.id)}
    assert IdempotencyRecord.objects.filter(key=keys[0], state="done").count() == 1
    assert len(naps) == 2


def test_503s_beyond_the_attempts_raise_retryable(ui):
    inject(ui, "/characteristics", status=503, count=5)
    with pytest.raises(errors.Retryable):
        ui.characteristics_list()


def test_timeout_is_retryable(ui):
    inject(ui, "/characteristics", timeout="before", count=3)
    with pytest.raises(errors.Retryable):
        ui.characteristics_list()


def test_payment_timeout_after_applying_is_replayed_by_the_retry(ui, sandbox):
    recruit, session = completed_session(ui)
    payout = uuid.uuid4()
    inject(ui, f"/sessions/{session.id}/payments", timeout="after", count=1)
    payment = ui.payment_create(session.id, key=idempotency_key("pay", payout),
                                external_id=payout, trigger="auto_24h")
    attempts = [response for request, response in sandbox.exchanges
                if request.url.path.endswith("/payments") and request.method == "POST"]
    assert len(attempts) == 2 and attempts[0] is None
    assert attempts[1].headers.get("Idempotent-Replayed") == "true"
    assert [p.id for page in ui.payments_pages(recruit.id) for p in page.items] == [payment.id]


def test_payment_timeout_after_applying_is_looked_up_not_paid_twice(sandbox, naps):
    with UIClient(base_url=BASE_URL, api_key=API_KEY, transport=sandbox, max_attempts=1,
                  sleep=naps.append) as ui:
        recruit, session = completed_session(ui)
        payout = uuid.uuid4()
        key = idempotency_key("pay", payout)
        inject(ui, f"/sessions/{session.id}/payments", timeout="after", count=1)
        with pytest.raises(errors.OutcomeUnknown):
            ui.payment_create(session.id, key=key, external_id=payout, trigger="auto_24h")
        found = ui.payment_find(recruit.id, external_id=payout)
        assert found is not None  # UI has it: the caller records it and sends nothing
        resent = ui.payment_create(session.id, key=key, external_id=payout,
                                   trigger="auto_24h")
        assert resent.id == found.id
        assert len([p for page in ui.payments_pages(recruit.id) for p in page.items]) == 1


def test_payment_timeout_before_applying_is_resent_with_the_same_key(ui, sandbox):
    recruit, session = completed_session(ui)
    payout = uuid.uuid4()
    inject(ui, f"/sessions/{session.id}/payments", timeout="before", count=1)
    payment = ui.payment_create(session.id, key=idempotency_key("pay", payout),
                                external_id=payout, trigger="auto_24h")
    assert set(sandbox.keys("/payments")) == {idempotency_key("pay", payout)}
    assert [p.id for page in ui.payments_pages(recruit.id) for p in page.items] == [payment.id]


def test_malformed_2xx_is_outcome_unknown_and_looked_up(sandbox, naps):
    """A body mangled on the way back (UI applied it): no retry, the lookup finds it."""

    class Mangle(httpx.BaseTransport):
        def handle_request(self, request):
            response = sandbox.handle_request(request)
            if request.method == "POST" and request.url.path.endswith("/payments"):
                response.read()
                return httpx.Response(201, content=b'{"data": {"type": "payments"}}')
            return response

    with UIClient(base_url=BASE_URL, api_key=API_KEY, transport=Mangle(),
                  sleep=naps.append) as ui:
        recruit, session = completed_session(ui)
        payout = uuid.uuid4()
        with pytest.raises(errors.OutcomeUnknown):
            ui.payment_create(session.id, key=idempotency_key("pay", payout),
                              external_id=payout, trigger="manual")
        assert len(sandbox.keys("/payments")) == 1
        assert ui.payment_find(recruit.id, external_id=payout) is not None


def test_definite_4xx_is_not_retried(ui, sandbox, naps):
    recruit = new_recruit(ui)
    before = len(sandbox.exchanges)
    with pytest.raises(errors.InvalidTransition):
        ui.recruit_resume(recruit.id, key=idempotency_key("resume", recruit.id))
    assert len(sandbox.exchanges) == before + 1 and naps == []


# Audience Reach over the sandbox -----------------------------------------------------


def test_reach_panel_over_the_sandbox_keeps_the_last_estimate_when_ui_fails(ui, sandbox,
                                                                          researcher):
    from recruitment.reach import UNREACHABLE_STALE, audience_reach
    from tests.studies.factories import StudyFactory

    study = StudyFactory(
        workspace=researcher.workspace, owner=researcher.user, name="Invoices",
        participation_limit=8, countries=["US"], duration_minutes=45)
    fresh = audience_reach(study=study, client=ui)
    assert fresh.reach > 0 and not fresh.stale
    study.countries = ["US", "CA"]
    inject(ui, "/estimates", status=503, count=5)
    with UIClient(base_url=BASE_URL, api_key=API_KEY, transport=sandbox,
                  max_attempts=1) as one_shot:
        stale = audience_reach(study=study, client=one_shot)
    assert (stale.reach, stale.stale, stale.message) == (fresh.reach, True, UNREACHABLE_STALE)


def test_reach_for_an_audience_ui_refuses_says_why_without_a_number(ui, researcher):
    from recruitment.reach import audience_reach
    from tests.studies.factories import StudyFactory

    study = StudyFactory(
        workspace=researcher.workspace, owner=researcher.user, name="B2B without criteria",
        audience_type="b2b", countries=["US"])
    refused = audience_reach(study=study, client=ui)
    assert refused.reach is None and not refused.stale
    assert refused.message.startswith("No estimate for this audience yet")


# JSON:API: every answer above is checked against the official schema (the `sandbox` fixture);
# these pin what the schema holds the sandbox to.


def test_the_schema_refuses_what_json_api_forbids_and_allows_null_links():
    characteristic = {"id": "age", "type": "characteristics",
                      "attributes": {"name": "Age", "valueType": "range"}}
    assert jsonapi_schema.problems({"data": characteristic,
                                    "links": {"next": None, "prev": None}}) == []
    reserved = {**characteristic, "attributes": {"name": "Age", "type": "range"}}
    assert jsonapi_schema.problems({"data": reserved})
    assert jsonapi_schema.problems({"data": {**characteristic, "relationships": {
        "applicant": {"data": "app_1"}}}})
    assert jsonapi_schema.problems({"data": characteristic, "errors": []})


def test_every_kind_of_sandbox_document_is_valid_json_api(ui, sandbox):
    recruit, session = completed_session(ui)
    payout = uuid.uuid4()
    payment = ui.payment_create(session.id, key=idempotency_key("pay", payout),
                                external_id=payout, trigger="manual")
    assert (payment.session_id, payment.applicant_id) == (session.id, session.applicant_id)
    for kind in ("characteristics", f"recruits/{recruit.id}/applicants",
                 f"recruits/{recruit.id}/sessions", f"recruits/{recruit.id}/payments"):
        first = ui.http.get(kind, params={"page[size]": 1}).json()
        assert jsonapi_schema.problems(first) == [], kind
        assert first["links"]["prev"] is None
    characteristics = ui.http.get("characteristics").json()["data"]
    assert all("type" not in c["attributes"] and c["attributes"]["valueType"]
               for c in characteristics)
    checked = {document["data"]["type"] if isinstance(document.get("data"), dict)
               else "list" if "data" in document else "errors"
               for _, document in sandbox.documents()}
    assert {"recruits", "sessions", "payments", "list"} <= checked
