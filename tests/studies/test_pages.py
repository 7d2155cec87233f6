"""The studies list, "New study", templates, the study page's tabs and status controls."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Value
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rally.models import ActivityEntry
from recruitment import workflows
from studies import pages, services
from studies.models import AudienceType, Source, Status, Study, StudyType
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db


# The list ----------------------------------------------------------------------------------


def _names(response):
    return re.findall(r'<th scope="row" class="study-table__name"><a [^>]*>([^<]+)</a>',
                      response.content.decode())


def test_list_shows_the_workspace_studies_with_badges(client_for, researcher, workspace,
                                                      outsider):
    StudyFactory(workspace=workspace, owner=researcher.user, name="Ours",
                 status=Status.ACTIVE, participation_limit=12)
    StudyFactory(workspace=outsider.workspace, owner=outsider.user, name="Theirs")
    response = client_for(researcher).get(reverse("studies:study_list"))
    html = response.content.decode()
    assert _names(response) == ["Ours"]
    assert '<span class="badge badge--active">Active</span>' in html
    assert ">12</td>" in html


def test_list_filters_search_and_sort(client_for, researcher, workspace):
    owner = researcher.user
    StudyFactory(workspace=workspace, owner=owner, name="Banking diary", status=Status.ACTIVE)
    StudyFactory(workspace=workspace, owner=owner, name="Apple checkout",
                 study_type=StudyType.UNMODERATED_TEST)
    StudyFactory(workspace=workspace, owner=owner, name="Census", study_type=StudyType.SURVEY,
                 source=Source.RALLY_PANEL)
    client = client_for(researcher)
    get = lambda **params: _names(client.get(reverse("studies:study_list"), params))  # noqa: E731
    assert get(status="active") == ["Banking diary"]
    assert get(type="unmoderated_test") == ["Apple checkout"]
    assert get(source="rally_panel") == ["Census"]
    assert get(q="CHECK") == ["Apple checkout"]
    assert get(sort="name") == ["Apple checkout", "Banking diary", "Census"]
    assert get(status="bogus", sort="bogus") != []  # unknown values are ignored, not 500


def test_pagination_keeps_the_filters(client_for, researcher, workspace):
    for number in range(30):
        StudyFactory(workspace=workspace, owner=researcher.user, name=f"Diary {number:02}",
                     status=Status.ACTIVE)
    StudyFactory(workspace=workspace, owner=researcher.user, name="Draft one")
    response = client_for(researcher).get(reverse("studies:study_list"),
                                          {"status": "active", "sort": "name"})
    html = response.content.decode()
    assert len(_names(response)) == 25
    assert "status=active&amp;sort=name&amp;page=2" in html
    second = client_for(researcher).get(reverse("studies:study_list"),
                                        {"status": "active", "sort": "name", "page": "2"})
    assert _names(second) == [f"Diary {n}" for n in range(25, 30)]
    assert 'href="/studies/?status=active&amp;sort=name" rel="prev"' in second.content.decode()


def test_a_sort_the_list_does_not_have_shows_the_latest_updated_first(client_for, researcher,
                                                                      workspace):
    old = StudyFactory(workspace=workspace, owner=researcher.user, name="Alpha")
    StudyFactory(workspace=workspace, owner=researcher.user, name="Beta")
    Study.objects.filter(pk=old.pk).update(updated_at=old.updated_at - timedelta(days=1))
    for sort in ("-name", "bogus", "-updated"):
        response = client_for(researcher).get(reverse("studies:study_list"), {"sort": sort})
        assert response.status_code == 200 and _names(response) == ["Beta", "Alpha"]
        # The headers link to the sorts there are, without the one asked for.
        assert 'href="/studies/?sort=name"' in response.content.decode()


def test_empty_list_offers_the_next_action(client_for, researcher):
    html = client_for(researcher).get(reverse("studies:study_list")).content.decode()
    assert "No studies yet" in html and "New study" in html


def test_observer_sees_the_list_without_new_study(client_for, observer, workspace, researcher):
    StudyFactory(workspace=workspace, owner=researcher.user, name="Visible")
    response = client_for(observer).get(reverse("studies:study_list"))
    assert _names(response) == ["Visible"]
    assert "From scratch" not in response.content.decode()
    assert client_for(observer).get(reverse("recruitment:study_create")).status_code == 403


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_studies_list_query_count_does_not_grow(client_for, researcher, workspace,
                                                django_assert_num_queries):
    client = client_for(researcher)
    StudyFactory.create_batch(10, workspace=workspace, owner=researcher.user)
    small = _queries(client, reverse("studies:study_list"))
    Study.objects.bulk_create([StudyFactory.build(workspace=workspace, owner=researcher.user)
                               for _ in range(990)])
    with django_assert_num_queries(small):
        response = client.get(reverse("studies:study_list"))
    assert "1000 studies" in response.content.decode()
    assert small <= 15


def test_overview_query_count_does_not_grow_with_studies(client_for, researcher, workspace,
                                                         ready_study, django_assert_num_queries):
    client = client_for(researcher)
    overview = reverse("studies:study_overview", args=[ready_study.id])
    client.get(overview)
    small = _queries(client, overview)
    Study.objects.bulk_create([StudyFactory.build(workspace=workspace, owner=researcher.user)
                               for _ in range(999)])
    with django_assert_num_queries(small):
        assert client.get(overview).status_code == 200
    assert small <= 15


# New study and templates -----------------------------------------------------------------


def test_new_study_from_scratch(client_for, researcher):
    response = client_for(researcher).post(reverse("recruitment:study_create"), {
        "name": "Fintech interviews", "start_from": "scratch", "study_type": "interview",
        "source": "user_interviews"})
    study = Study.objects.get(name="Fintech interviews")
    assert response.status_code == 302
    assert response.url == reverse("studies:study_plan", args=[study.id])
    assert (study.status, study.owner, study.countries) == (Status.DRAFT, researcher.user,
                                                            ["US"])
    assert ActivityEntry.objects.filter(study_id=study.id, action="study.created").exists()


def test_new_survey_from_user_interviews_is_refused_with_the_reason(client_for, researcher):
    response = client_for(researcher).post(reverse("recruitment:study_create"), {
        "name": "Survey", "start_from": "scratch", "study_type": "survey",
        "source": "user_interviews"})
    assert response.status_code == 400
    assert "not for Surveys" in response.content.decode()
    assert not Study.objects.exists()


def test_new_study_form_disables_user_interviews_for_a_survey(client_for, researcher):
    response = client_for(researcher).get(reverse("recruitment:study_create"),
                                          {"study_type": "survey"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert re.search(r'value="user_interviews"[^>]*disabled', html)
    assert "Not available for a Survey. User Interviews recruits for" in html


def test_new_study_without_a_name_keeps_what_was_typed(client_for, researcher):
    response = client_for(researcher).post(reverse("recruitment:study_create"), {
        "name": "", "start_from": "scratch", "study_type": "group_interview",
        "source": "rally_panel"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Enter a study name." in html and 'href="#id_name"' in html
    assert re.search(r'value="group_interview"[^>]*checked', html)


def test_template_copies_plan_and_audience_and_stays_independent(researcher, ready_study):
    template = workflows.study_copy(kind="template", membership=researcher, study=ready_study)
    assert template.is_template and template.status == Status.DRAFT
    study = workflows.study_copy(kind="from_template", membership=researcher,
                                 name="From template", study=template)
    for field in ("external_description", "participation_limit", "incentive_amount",
                  "audience_type", "criteria", "countries", "duration_minutes"):
        assert getattr(study, field) == getattr(ready_study, field), field
    assert study.created_from == template
    services.study_update_plan(membership=researcher, study=template,
                               changes={"participation_limit": "99"})
    services.study_remove_criterion(membership=researcher, study=template, slug="job-function")
    study.refresh_from_db()
    assert study.participation_limit == 8
    assert study.criteria_slugs == ["job-function"]


def test_new_study_page_offers_templates_and_uses_one(client_for, researcher, ready_study):
    template = workflows.study_copy(kind="template", membership=researcher, study=ready_study,
                                    name="B2B pattern")
    client = client_for(researcher)
    html = client.get(reverse("recruitment:study_create"), {"start": "template"}).content.decode()
    assert "Template: B2B pattern" in html
    assert re.search(rf'value="{template.id}"[^>]*checked', html)
    client.post(reverse("recruitment:study_create"),
                {"name": "Copy", "start_from": str(template.id)})
    copy = Study.objects.get(name="Copy")
    assert copy.audience_type == AudienceType.B2B and copy.participation_limit == 8


def test_save_as_template_from_the_study_page(client_for, researcher, ready_study):
    response = client_for(researcher).post(
        reverse("recruitment:study_save_as_template", args=[ready_study.id]),
        {"name": "B2B interview pattern"})
    template = Study.objects.get(is_template=True)
    assert response.url == reverse("studies:study_overview", args=[template.id])
    listed = client_for(researcher).get(reverse("studies:study_list"), {"show": "templates"})
    assert _names(listed) == [template.name]
    assert ready_study.name not in _names(listed)


def test_observer_cannot_save_a_template(client_for, observer, ready_study):
    response = client_for(observer).post(
        reverse("recruitment:study_save_as_template", args=[ready_study.id]))
    assert response.status_code == 403
    assert not Study.objects.filter(is_template=True).exists()


# The study page -------------------------------------------------------------------------


def _tabs(html):
    return re.findall(r'<nav class="tabs"[^>]*>(.*?)</nav>', html, re.S)[0]


# Rally-panel studies (the panel app adds "Invite from panel").
@pytest.mark.parametrize(("study_type", "expected"), [
    (StudyType.INTERVIEW, ["Overview", "Plan", "Audience", "Screener", "Scheduling",
                           "Participants", "Invite from panel", "Activity"]),
    (StudyType.UNMODERATED_TEST, ["Overview", "Plan", "Audience", "Screener", "Test",
                                  "Participants", "Invite from panel", "Activity"]),
    (StudyType.SURVEY, ["Overview", "Plan", "Audience", "Screener", "Participants",
                        "Invite from panel", "Activity"]),
])
def test_tabs_are_links_with_aria_current(client_for, researcher, workspace, study_type,
                                          expected):
    study = StudyFactory(workspace=workspace, owner=researcher.user, study_type=study_type,
                         source=Source.RALLY_PANEL)
    html = client_for(researcher).get(reverse("studies:study_plan", args=[study.id]))
    tabs = _tabs(html.content.decode())
    assert re.findall(r">([^<]+)</a>", tabs) == expected
    assert re.findall(r'aria-current="page">([^<]+)<', tabs) == ["Plan"]


# A study page declared for the test, in place of recruitment.study_page's (the setting names
# it): its Participants tab leads to the Activity page; one panel shows, one has nothing.
TEST_PAGE = pages.StudyPage(
    tabs=(pages.Tab("overview", "Overview", "studies:study_overview", 10),
          pages.Tab("participants", "Participants", "studies:study_activity", 60)),
    overview_panels=(
        pages.Part("hello", 5, lambda request, study: (
            "studies/_cost_line.html", {"cost": None})),
        pages.Part("nothing", 6, lambda request, study: None)))


def test_the_declared_page_decides_the_tabs_and_panels(client_for, researcher, study, settings):
    settings.STUDY_PAGE = "tests.studies.test_pages.TEST_PAGE"
    html = client_for(researcher).get(reverse("studies:study_overview",
                                              args=[study.id])).content.decode()
    activity_url = reverse("studies:study_activity", args=[study.id])
    assert f'<a href="{activity_url}">Participants</a>' in _tabs(html)
    assert "Set the participation limit and incentive amount to see it." in html


@pytest.mark.parametrize("tab", ["studies:study_screener", "scheduling:study_scheduling",
                                 "participants:study_participants"])
def test_tabs_owned_by_later_work_say_what_exists(client_for, researcher, study, tab):
    html = client_for(researcher).get(reverse(tab, args=[study.id]))
    assert html.status_code == 200
    assert "yet" in html.content.decode()


def test_scheduling_and_test_tabs_only_exist_for_their_types(client_for, researcher, study):
    client = client_for(researcher)
    assert client.get(reverse("studies:study_test", args=[study.id])).status_code == 404
    study.study_type = StudyType.UNMODERATED_TEST
    study.save()
    assert client.get(reverse("scheduling:study_scheduling", args=[study.id])).status_code == 404
    assert client.get(reverse("studies:study_test", args=[study.id])).status_code == 200


def test_overview_shows_plan_audience_team_and_cost(client_for, researcher, ready_study,
                                                    admin):
    ready_study.team.add(admin.user)
    html = client_for(researcher).get(reverse("studies:study_overview",
                                              args=[ready_study.id])).content.decode()
    for text in ("Tell us how you onboard new engineers.", "Industry professionals (B2B)",
                 "Job function: Engineering", "United States", admin.user.display_name,
                 "$1,120.00", "Publish Study"):
        assert text in html, text


def test_publish_with_missing_fields_lists_each_with_a_link(client_for, researcher, study,
                                                            catalog):
    study.audience_type = AudienceType.B2B
    study.save()
    response = client_for(researcher).post(reverse("studies:study_publish", args=[study.id]))
    html = response.content.decode()
    assert response.status_code == 400
    plan = reverse("studies:study_plan", args=[study.id])
    audience = reverse("studies:study_audience", args=[study.id])
    for link in (f"{plan}#field-external_description", f"{plan}#field-participation_limit",
                 f"{plan}#field-incentive_amount", f"{audience}#field-criteria"):
        assert f'href="{link}"' in html
    study.refresh_from_db()
    assert study.status == Status.DRAFT
    plan_page = client_for(researcher).get(plan).content.decode()
    assert plan_page.count("Needed to publish:") == 3


def test_publish_and_change_status_through_the_page(client_for, admin, ready_study):
    client = client_for(admin)
    client.post(reverse("studies:study_publish", args=[ready_study.id]))
    html = client.get(reverse("studies:study_overview", args=[ready_study.id])).content.decode()
    assert '<span class="badge badge--active">Active</span>' in html
    menu = re.findall(r'<ul class="menu__list" id="status-menu".*?</ul>', html, re.S)[0]
    assert "Paused" in menu and "Closed" in menu and "Active<" not in menu
    assert 'aria-haspopup="menu"' in html
    assert "Closing is final" in html  # the confirmation names the consequences
    client.post(reverse("recruitment:study_status", args=[ready_study.id]), {"status": "paused"})
    ready_study.refresh_from_db()
    assert ready_study.status == Status.PAUSED
    confirm = client.get(reverse("recruitment:study_status", args=[ready_study.id]),
                         {"status": "closed"})
    assert "Closing is final" in confirm.content.decode()
    client.post(reverse("recruitment:study_status", args=[ready_study.id]), {"status": "closed"})
    ready_study.refresh_from_db()
    assert ready_study.status == Status.CLOSED
    again = client.post(reverse("recruitment:study_status", args=[ready_study.id]),
                        {"status": "closed"}, follow=True)
    assert "Closing is final" in again.content.decode()


def test_researcher_cannot_close_by_crafted_post(client_for, researcher, ready_study):
    ready_study.status = Status.ACTIVE
    ready_study.save()
    response = client_for(researcher).post(
        reverse("recruitment:study_status", args=[ready_study.id]), {"status": "closed"})
    assert response.status_code == 403
    ready_study.refresh_from_db()
    assert ready_study.status == Status.ACTIVE


def test_observer_cannot_publish(client_for, observer, ready_study):
    response = client_for(observer).post(reverse("studies:study_publish",
                                                 args=[ready_study.id]))
    assert response.status_code == 403
    html = client_for(observer).get(reverse("studies:study_overview", args=[ready_study.id]))
    assert "Publish Study" not in html.content.decode()


def test_activity_tab_lists_the_study_entries(client_for, researcher, ready_study):
    services.study_update_plan(membership=researcher, study=ready_study,
                               changes={"participation_limit": "9"})
    html = client_for(researcher).get(reverse("studies:study_activity",
                                              args=[ready_study.id])).content.decode()
    assert "Participation limit 8 → 9" in html


# Its one list column is annotated onto the list's query, never read row by row.
COLUMN_PAGE = pages.StudyPage(tabs=(), list_columns=(pages.ListColumn(
    "applicants", "Applicants", 10,
    annotate=lambda qs: qs.annotate(applicant_count=Value(7)),
    value=lambda study: study.applicant_count),))


def test_a_declared_list_column_costs_no_extra_queries(
        client_for, researcher, workspace, settings, django_assert_num_queries):
    StudyFactory.create_batch(3, workspace=workspace, owner=researcher.user)
    client = client_for(researcher)
    before = _queries(client, reverse("studies:study_list"))
    settings.STUDY_PAGE = "tests.studies.test_pages.COLUMN_PAGE"
    with django_assert_num_queries(before):
        html = client.get(reverse("studies:study_list")).content.decode()
    assert ">Applicants</th>" in html
    assert html.count('<td class="num align-right">7</td>') == 3
