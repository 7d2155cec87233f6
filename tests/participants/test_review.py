"""Applicant review (SPEC P1–P3, R6): invite and reject, one at a time and in bulk, the
participation limit, who may do it, and what bad input gets."""

import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from participants import services
from participants.models import Application
from rally.models import ActivityEntry, OutboxOperation
from rally.services import outbox_key
from tests.participants.factories import ApplicationFactory, ParticipantFactory, StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(workspace, researcher):
    study = StudyFactory(workspace=workspace, participation_limit=2, owner=researcher.user)
    return study


def _applicant(study, status="applied", first_name="Jordan", **extra):
    return ApplicationFactory(study=study, status=status, participant=ParticipantFactory(
        workspace=study.workspace, first_name=first_name), **extra)


def _invite(membership, study, application):
    return services.applicant_invite(membership=membership, study=study,
                                     application_id=application.pk)


def _reject(membership, study, application, reason=""):
    return services.applicant_reject(membership=membership, study=study,
                                     application_id=application.pk, reason=reason)


# Services ---------------------------------------------------------------------------------


def test_invite_sets_status_records_activity_and_enqueues_approval(study, researcher):
    application = _applicant(study)
    _invite(researcher, study, application)
    application.refresh_from_db()
    assert application.status == "invited"
    operation = OutboxOperation.objects.get(
        idempotency_key=outbox_key("approve_applicant", application.pk))
    assert operation.payload == {"application_id": str(application.pk),
                                 "study_id": str(study.pk), "reason": ""}
    assert operation.study_id == study.pk
    entry = ActivityEntry.objects.get(action="participants.applicant_invited")
    assert entry.actor == researcher.user and entry.study_id == study.pk


def test_reject_keeps_the_reason_for_ui_and_the_team(study, researcher):
    application = _applicant(study)
    _reject(researcher, study, application, reason="  Not a developer  ")
    application.refresh_from_db()
    assert application.status == "rejected"
    assert application.rejection_reason == "Not a developer"
    operation = OutboxOperation.objects.get(operation="reject_applicant")
    assert operation.payload["reason"] == "Not a developer"
    assert "Not a developer" in ActivityEntry.objects.get(
        action="participants.applicant_rejected").summary


def test_rally_panel_applicants_are_not_sent_to_user_interviews(study, researcher):
    application = _applicant(study, source="rally_panel", ui_applicant_id=None)
    _invite(researcher, study, application)
    application.refresh_from_db()
    assert application.status == "invited"
    assert not OutboxOperation.objects.exists()


def test_inviting_twice_says_so_and_changes_nothing(study, researcher):
    application = _applicant(study)
    _invite(researcher, study, application)
    with pytest.raises(ValidationError, match=r"Jordan P\. is already invited\."):
        _invite(researcher, study, application)
    assert OutboxOperation.objects.count() == 1
    assert ActivityEntry.objects.filter(action="participants.applicant_invited").count() == 1


def test_inviting_past_the_limit_is_refused(study, researcher):
    _applicant(study, "scheduled")
    _applicant(study, "completed")
    waiting = _applicant(study)
    with pytest.raises(ValidationError, match="Participation limit reached"):
        _invite(researcher, study, waiting)
    waiting.refresh_from_db()
    assert waiting.status == "applied"
    assert not OutboxOperation.objects.exists()


def test_a_freed_seat_reopens_invitations(study, researcher):
    invited = _applicant(study, "invited", "Ada")
    _applicant(study, "scheduled")
    waiting = _applicant(study, first_name="Alan")
    with pytest.raises(ValidationError):
        _invite(researcher, study, waiting)
    _reject(researcher, study, invited)
    _invite(researcher, study, waiting)
    waiting.refresh_from_db()
    assert waiting.status == "invited"


@pytest.mark.parametrize("status", ["no_show", "canceled", "rejected", "unqualified"])
def test_seats_are_not_held_by(study, researcher, status):
    _applicant(study, status)
    _applicant(study, status)
    waiting = _applicant(study)
    _invite(researcher, study, waiting)
    waiting.refresh_from_db()
    assert waiting.status == "invited"


# (A completed participant may still be rejected: tests/participants/test_reject_payout.py.)
@pytest.mark.parametrize("status", ["scheduled", "paid", "no_show", "canceled", "rejected"])
def test_rejecting_a_participant_past_review_is_refused(study, researcher, status):
    application = _applicant(study, status)
    with pytest.raises(ValidationError):
        _reject(researcher, study, application)
    application.refresh_from_db()
    assert application.status == status
    assert not ActivityEntry.objects.exists()


def test_an_unqualified_direct_link_applicant_can_still_be_invited(study, researcher):
    application = _applicant(study, "unqualified", source="direct_link")
    _invite(researcher, study, application)
    application.refresh_from_db()
    assert application.status == "invited"


def test_bulk_review_with_a_foreign_id_changes_nothing(study, researcher, workspace):
    mine = _applicant(study)
    foreign = _applicant(StudyFactory(workspace=workspace))
    with pytest.raises(ValidationError, match="not applicants of this study"):
        services.applicants_bulk_review(membership=researcher, study=study,
                                        application_ids=[mine.pk, foreign.pk],
                                        decision="reject")
    with pytest.raises(ValidationError):
        services.applicants_bulk_review(membership=researcher, study=study,
                                        application_ids=[str(mine.pk), "not-a-uuid"],
                                        decision="reject")
    assert set(Application.objects.values_list("status", flat=True)) == {"applied"}
    assert not OutboxOperation.objects.exists()


def test_bulk_invite_beyond_the_free_seats_changes_nothing(study, researcher):
    applicants = [_applicant(study, first_name=f"P{n}") for n in range(3)]
    with pytest.raises(ValidationError, match="select at most 2 applicants"):
        services.applicants_bulk_review(membership=researcher, study=study,
                                        application_ids=[a.pk for a in applicants],
                                        decision="invite")
    assert not Application.objects.filter(status="invited").exists()


def test_bulk_review_skips_those_already_decided_and_is_idempotent(study, researcher):
    first, second = _applicant(study, first_name="A"), _applicant(study, first_name="B")
    _reject(researcher, study, first)
    changed = services.applicants_bulk_review(
        membership=researcher, study=study, application_ids=[first.pk, second.pk],
        decision="reject", reason="Full")
    assert [a.pk for a in changed] == [second.pk]
    services.applicants_bulk_review(membership=researcher, study=study,
                                    application_ids=[first.pk, second.pk], decision="reject")
    assert Application.objects.filter(status="rejected").count() == 2
    assert OutboxOperation.objects.filter(operation="reject_applicant").count() == 2


def test_bulk_review_with_a_status_that_cannot_move_changes_nothing(study, researcher):
    waiting, done = _applicant(study), _applicant(study, "paid", "Priya")
    with pytest.raises(ValidationError, match=r"Priya P\. is Paid and can’t be rejected"):
        services.applicants_bulk_review(membership=researcher, study=study,
                                        application_ids=[waiting.pk, done.pk],
                                        decision="reject")
    waiting.refresh_from_db()
    assert waiting.status == "applied"


@pytest.mark.parametrize(("role", "on_team", "allowed"), [
    ("admin", False, True), ("ops_manager", False, True), ("researcher", True, True),
    ("researcher", False, False), ("observer", True, False), ("observer", False, False),
])
@pytest.mark.parametrize("decision", ["invite", "reject"])
def test_who_may_review_applicants(personas, workspace, role, on_team, allowed, decision):
    study = StudyFactory(workspace=workspace)
    membership = personas[role]
    if on_team:
        study.team.add(membership.user)
    application = _applicant(study)
    review = _invite if decision == "invite" else _reject
    if allowed:
        review(membership, study, application)
        application.refresh_from_db()
        assert application.status == {"invite": "invited", "reject": "rejected"}[decision]
    else:
        with pytest.raises(PermissionDenied):
            review(membership, study, application)
        application.refresh_from_db()
        assert application.status == "applied"


def test_another_workspaces_admin_cannot_review(study, outsider):
    application = _applicant(study)
    with pytest.raises(PermissionDenied):
        _invite(outsider, study, application)


# Views ------------------------------------------------------------------------------------


def _url(name, study, application=None):
    kwargs = {"study_id": study.id}
    if application is not None:
        kwargs["application_id"] = application.id
    return reverse(f"participants:{name}", kwargs=kwargs)


def test_participants_tab_lists_applicants_with_counts_and_seats(client_for, researcher,
                                                                 study):
    _applicant(study, "invited", "Ada", screener_version=2,
               matched_criteria=[{"characteristic": "job_function", "values": ["eng"]}])
    _applicant(study, "applied", "Grace", source="direct_link")
    html = client_for(researcher).get(_url("study_participants", study)).content.decode()
    assert "1 of 2</strong> seats taken" in html
    assert "Ada P." in html and "Grace P." in html
    assert 'aria-label="Actions for Ada P."' in html
    assert "Direct link" in html and "v2" in html
    assert 'aria-sort="descending"' in html
    assert ">Invited <span class=\"chip__count num\">1</span>" in html
    assert "Chat" not in html  # SPEC R9: no chat control for UI studies


def test_a_full_study_says_it_no_longer_accepts_applicants(client_for, researcher, study):
    _applicant(study, "invited")
    _applicant(study, "scheduled")
    html = client_for(researcher).get(_url("study_participants", study)).content.decode()
    assert "Participation limit reached — no longer accepting applicants" in html


def test_empty_participants_tab_says_what_it_is_for(client_for, researcher, study):
    html = client_for(researcher).get(_url("study_participants", study)).content.decode()
    assert ("No applicants yet — they appear here within minutes of starting recruitment"
            in html)


def test_filter_search_sort_and_paging_keep_each_other(client_for, researcher, study):
    for n in range(3):
        _applicant(study, "applied", f"Zed{n}")
    _applicant(study, "rejected", "Zelda")
    _applicant(study, "applied", "Ada")
    client = client_for(researcher)
    html = client.get(_url("study_participants", study),
                      {"status": "applied", "q": "zed", "sort": "name"}).content.decode()
    assert "Zed0 P." in html and "Zelda" not in html and "Ada P." not in html
    assert html.index("Zed0 P.") < html.index("Zed2 P.")
    assert 'aria-sort="ascending"' in html
    # the chips keep the search and sort; the sort links keep the filter
    assert "?status=rejected&amp;q=zed&amp;sort=name" in html
    assert "?status=applied&amp;q=zed&amp;sort=-name" in html


def test_search_matches_first_name_and_initial(client_for, researcher, study):
    _applicant(study, first_name="Jordan")
    ApplicationFactory(study=study, participant=ParticipantFactory(
        workspace=study.workspace, first_name="Jordan", last_initial="K"))
    html = client_for(researcher).get(_url("study_participants", study),
                                      {"q": "jordan k"}).content.decode()
    assert "Jordan K." in html and "Jordan P." not in html


def test_invite_from_the_row_menu_shows_pending_then_done(client_for, researcher, study):
    application = _applicant(study)
    client = client_for(researcher)
    response = client.post(_url("applicant_invite", study, application),
                           {"next": _url("study_participants", study)})
    assert response.status_code == 302
    html = client.get(response.url).content.decode()
    assert "Invited Jordan P. — User Interviews sends the invitation." in html
    assert "Sending to User Interviews…" in html and 'data-hx-trigger="every 3s"' in html
    OutboxOperation.objects.update(status="done")
    html = client.get(response.url).content.decode()
    assert "Sent to User Interviews" in html and "every 3s" not in html


def test_inviting_twice_through_the_page_shows_a_message(client_for, researcher, study):
    application = _applicant(study, "invited")
    client = client_for(researcher)
    response = client.post(_url("applicant_invite", study, application), follow=True)
    assert "Jordan P. is already invited." in response.content.decode()


def test_reject_with_a_reason_from_the_dialog(client_for, researcher, study):
    application = _applicant(study)
    client = client_for(researcher)
    response = client.post(_url("applicant_reject", study, application),
                           {"reason": "Outside the audience"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.rejection_reason) == ("rejected",
                                                                   "Outside the audience")


def test_reject_page_without_javascript_refuses_an_overlong_reason(client_for, researcher,
                                                                   study):
    application = _applicant(study)
    client = client_for(researcher)
    assert "Reason (optional)" in client.get(
        _url("applicant_reject", study, application)).content.decode()
    response = client.post(_url("applicant_reject", study, application), {"reason": "x" * 501})
    assert response.status_code == 422
    assert "at most 500 characters" in response.content.decode()
    application.refresh_from_db()
    assert application.status == "applied"


def test_an_observer_posting_gets_403_and_sees_no_review_controls(client_for, observer,
                                                                  study):
    application = _applicant(study)
    client = client_for(observer)
    html = client.get(_url("study_participants", study)).content.decode()
    assert "Invite selected" not in html and ">Invite<" not in html
    profile = client.get(_url("applicant_profile", study, application)).content.decode()
    assert "Jordan P." in profile and ">Invite</button>" not in profile
    assert ">Reject</a>" not in profile
    assert client.get(_url("applicant_reject", study, application)).status_code == 403
    assert client.post(_url("applicant_invite", study, application)).status_code == 403
    assert client.post(_url("applicant_reject", study, application)).status_code == 403
    assert client.post(_url("applicants_bulk", study),
                       {"application": [application.pk], "confirm": "reject"}
                       ).status_code == 403
    application.refresh_from_db()
    assert application.status == "applied"


def test_another_workspaces_applicant_is_not_found(client_for, researcher, outsider, study):
    foreign_study = StudyFactory(workspace=outsider.workspace)
    foreign = _applicant(foreign_study)
    client = client_for(researcher)
    assert client.get(_url("applicant_profile", study, foreign)).status_code == 404
    assert client.post(_url("applicant_invite", study, foreign)).status_code == 404
    assert client.post(_url("applicant_invite", foreign_study, foreign)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "applied"


def test_bulk_without_javascript_asks_to_confirm_then_acts(client_for, researcher, study):
    first, second = _applicant(study, first_name="Ada"), _applicant(study, first_name="Alan")
    client = client_for(researcher)
    data = {"application": [first.pk, second.pk], "decision": "reject"}
    html = client.post(_url("applicants_bulk", study), data).content.decode()
    assert "Reject 2 applicants?" in html and "Ada P." in html
    assert not Application.objects.filter(status="rejected").exists()
    response = client.post(_url("applicants_bulk", study),
                           {**data, "confirm": "reject", "reason": "Enough"}, follow=True)
    assert "Rejected 2 applicants." in response.content.decode()
    assert set(Application.objects.values_list("rejection_reason", flat=True)) == {"Enough"}


def test_bulk_with_a_foreign_id_shows_a_message_and_changes_nothing(client_for, researcher,
                                                                    study, workspace):
    mine = _applicant(study)
    foreign = _applicant(StudyFactory(workspace=workspace))
    response = client_for(researcher).post(
        _url("applicants_bulk", study),
        {"application": [mine.pk, foreign.pk, "garbage"], "confirm": "invite"}, follow=True)
    assert "not applicants of this study. Nothing was changed." in response.content.decode()
    assert set(Application.objects.values_list("status", flat=True)) == {"applied"}


def test_bulk_with_nothing_selected_says_so(client_for, researcher, study):
    _applicant(study)
    response = client_for(researcher).post(_url("applicants_bulk", study),
                                           {"confirm": "invite"}, follow=True)
    assert "Select at least one applicant." in response.content.decode()


def test_unsafe_next_urls_are_ignored(client_for, researcher, study):
    application = _applicant(study)
    response = client_for(researcher).post(_url("applicant_invite", study, application),
                                           {"next": "https://evil.example/"})
    assert response.url == _url("study_participants", study)


def test_unknown_ids_in_urls_are_404(client_for, researcher, study):
    client = client_for(researcher)
    missing = reverse("participants:applicant_profile",
                      kwargs={"study_id": study.id, "application_id": uuid.uuid4()})
    assert client.get(missing).status_code == 404


def test_a_closed_study_invites_no_one_but_may_still_reject(study, researcher):
    waiting, other = _applicant(study), _applicant(study, first_name="Ada")
    study.status = "closed"
    study.save(update_fields=["status"])
    with pytest.raises(ValidationError, match="closed"):
        _invite(researcher, study, waiting)
    _reject(researcher, study, other)
    other.refresh_from_db()
    assert other.status == "rejected"


def test_the_polling_request_answers_only_the_table(client_for, researcher, study):
    _applicant(study, "applied", "Ada")
    html = client_for(researcher).get(
        _url("study_participants", study), headers={
            "HX-Request": "true", "HX-Target": "applicants-table"}).content.decode()
    assert html.lstrip().startswith('<div class="card applicants-card" id="applicants-table"')
    assert "Ada P." in html and "<html" not in html


def test_rejecting_from_the_profile_page_without_javascript(client_for, researcher, study):
    application = _applicant(study)
    client = client_for(researcher)
    url = _url("applicant_reject", study, application)
    page = client.get(url + "?next=" + _url("applicant_profile", study, application))
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    response = client.post(url, {"reason": "", "next": _url("applicant_profile", study,
                                                            application)})
    assert response.url == _url("applicant_profile", study, application)


def test_studies_list_shows_applicants_and_seats_in_one_query(client_for, researcher,
                                                              workspace, study,
                                                              django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(researcher)
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("studies:study_list"))
    for status in ("applied", "applied", "invited", "rejected"):
        _applicant(study, status)
    with django_assert_num_queries(len(before)):
        html = client.get(reverse("studies:study_list")).content.decode()
    assert ">Applicants</th>" in html and ">Seats taken</th>" in html
    assert '<td class="num align-right">4</td>' in html
    assert '<td class="num align-right">1</td>' in html


@pytest.mark.parametrize(("role", "on_team", "expected"), [
    ("admin", False, 302), ("ops_manager", False, 302), ("researcher", True, 302),
    ("researcher", False, 403), ("observer", True, 403),
])
@pytest.mark.parametrize("action", ["applicant_invite", "applicant_reject"])
def test_review_endpoints_answer_by_role(client_for, personas, workspace, role, on_team,
                                         expected, action):
    study = StudyFactory(workspace=workspace)
    if on_team:
        study.team.add(personas[role].user)
    application = _applicant(study)
    client = client_for(personas[role])
    html = client.get(_url("study_participants", study)).content.decode()
    assert ("Invite selected…" in html) == (expected == 302)
    assert client.post(_url(action, study, application)).status_code == expected
    application.refresh_from_db()
    assert (application.status == "applied") == (expected == 403)


def test_an_outsider_sees_nothing_of_our_applicants(client_for, outsider, study):
    application = _applicant(study)
    client = client_for(outsider)
    assert client.get(_url("study_participants", study)).status_code == 404
    assert client.get(_url("applicant_profile", study, application)).status_code == 404
    assert client.post(_url("applicants_bulk", study), {
        "application": [application.pk], "confirm": "invite"}).status_code == 404


def test_a_closed_study_offers_no_invite_controls(client_for, researcher, study):
    application = _applicant(study)
    study.status = "closed"
    study.save(update_fields=["status"])
    client = client_for(researcher)
    html = client.get(_url("study_participants", study)).content.decode()
    assert "Invite selected…" not in html and ">Invite</button>" not in html
    assert "Reject selected…" in html
    profile = client.get(_url("applicant_profile", study, application)).content.decode()
    assert ">Invite</button>" not in profile


def test_a_bulk_decision_over_the_maximum_is_refused(study, researcher):
    with pytest.raises(ValidationError, match="at most 500"):
        services.applicants_bulk_review(membership=researcher, study=study,
                                        application_ids=[uuid.uuid4() for _ in range(501)],
                                        decision="reject")
