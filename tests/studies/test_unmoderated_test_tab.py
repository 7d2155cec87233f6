"""The Test tab of Unmoderated Test studies (SPEC T1): ordered tasks, the external test URL,
validation, permissions, the publishing requirement, copies, and the participant's page."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from rally.models import ActivityEntry, OutboxOperation
from recruitment import workflows
from recruitment.handlers import recruit_attributes
from studies import lifecycle, services, unmoderated
from studies.models import Source, Status, StudyType, TestTask
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def test_study(workspace, researcher):
    return StudyFactory(workspace=workspace, owner=researcher.user, name="Checkout usability",
                        study_type=StudyType.UNMODERATED_TEST, source=Source.USER_INTERVIEWS,
                        duration_minutes=20)


def _titles(study):
    return list(TestTask.objects.filter(study=study).order_by("position")
                .values_list("title", flat=True))


def _url(name, study, *args):
    return reverse(f"studies:{name}", args=[study.id, *args])


def _add(client, study, title, instructions=""):
    return client.post(_url("test_task_add", study),
                       {"title": title, "instructions": instructions})


# The tab -------------------------------------------------------------------------------------


def test_unmoderated_studies_have_a_test_tab_instead_of_scheduling(client_for, researcher,
                                                                   test_study):
    client = client_for(researcher)
    page = client.get(_url("study_test", test_study))
    assert page.status_code == 200
    html = page.content.decode()
    assert '>Test</a>' in html and ">Scheduling</a>" not in html
    assert "This test has no tasks yet" in html
    assert "20 minutes" in html  # expected time: Total participation time (minutes)
    assert "External test URL" in html


def test_interviews_have_no_test_tab(client_for, researcher, workspace):
    interview = StudyFactory(workspace=workspace, owner=researcher.user,
                             study_type=StudyType.INTERVIEW)
    assert client_for(researcher).get(_url("study_test", interview)).status_code == 404


def test_researcher_adds_edits_moves_and_removes_tasks_in_order(client_for, researcher,
                                                                test_study):
    client = client_for(researcher)
    for title in ("Find running shoes", "Add them to the cart", "Check out as a guest"):
        assert _add(client, test_study, title, f"Steps for {title}.").status_code == 302
    assert _titles(test_study) == ["Find running shoes", "Add them to the cart",
                                   "Check out as a guest"]
    page = client.get(_url("study_test", test_study)).content.decode()
    assert (page.index("Find running shoes") < page.index("Add them to the cart")
            < page.index("Check out as a guest"))

    last = TestTask.objects.get(study=test_study, title="Check out as a guest")
    client.post(_url("test_task_move", test_study, last.pk), {"direction": "up"})
    assert _titles(test_study) == ["Find running shoes", "Check out as a guest",
                                   "Add them to the cart"]
    first = TestTask.objects.get(study=test_study, title="Find running shoes")
    client.post(_url("test_task_move", test_study, first.pk), {"direction": "up"})  # top: stays
    client.post(_url("test_task_move", test_study, first.pk), {"direction": "down"})
    assert _titles(test_study) == ["Check out as a guest", "Find running shoes",
                                   "Add them to the cart"]

    response = client.post(_url("test_task_update", test_study, first.pk),
                           {"title": "Find trail shoes", "instructions": "Size 42."})
    assert response.status_code == 302
    first.refresh_from_db()
    assert (first.title, first.instructions) == ("Find trail shoes", "Size 42.")

    client.post(_url("test_task_remove", test_study, last.pk))
    assert _titles(test_study) == ["Find trail shoes", "Add them to the cart"]
    assert list(TestTask.objects.filter(study=test_study).order_by("position")
                .values_list("position", flat=True)) == [0, 1]
    actions = list(ActivityEntry.objects.filter(study_id=test_study.id)
                   .values_list("action", flat=True))
    assert actions.count("study.test_task_added") == 3
    assert actions.count("study.test_task_moved") == 2  # the move at the top changed nothing
    assert "study.test_task_updated" in actions and "study.test_task_removed" in actions


def test_htmx_posts_answer_with_the_builder_region(client_for, researcher, test_study):
    response = client_for(researcher).post(_url("test_task_add", test_study),
                                           {"title": "Sign up"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="test-builder"' in html and "Sign up" in html and "<nav" not in html


@pytest.mark.parametrize("title", ["", "   ", "x" * 201])
def test_a_task_needs_a_title_of_sensible_length(client_for, researcher, test_study, title):
    response = _add(client_for(researcher), test_study, title, "Keep these instructions")
    assert response.status_code == 400
    html = response.content.decode()
    assert "The task was not added" in html
    assert "Keep these instructions" in html  # nothing lost when re-shown
    assert not TestTask.objects.filter(study=test_study).exists()


def test_an_edit_with_an_empty_title_changes_nothing(client_for, researcher, test_study):
    client = client_for(researcher)
    _add(client, test_study, "Sign up")
    task = TestTask.objects.get(study=test_study)
    response = client.post(_url("test_task_update", test_study, task.pk), {"title": ""})
    assert response.status_code == 400
    assert "Enter a task title." in response.content.decode()
    task.refresh_from_db()
    assert task.title == "Sign up"


@pytest.mark.parametrize("bad", ["http://maze.co/t/1", "maze.co/t/1", "https://", "ftp://x.io",
                                 "https://exa mple.com", "https://" + "a" * 1000 + ".com",
                                 "javascript:alert(1)"])
def test_the_external_test_url_must_be_https(client_for, researcher, test_study, bad):
    response = client_for(researcher).post(_url("test_url_save", test_study), {"test_url": bad})
    assert response.status_code == 400
    assert "The test URL was not saved" in response.content.decode()
    test_study.refresh_from_db()
    assert test_study.test_url == ""


def test_the_external_test_url_is_saved_and_cleared(client_for, researcher, test_study):
    client = client_for(researcher)
    client.post(_url("test_url_save", test_study), {"test_url": " https://maze.co/t/42 "})
    test_study.refresh_from_db()
    assert test_study.test_url == "https://maze.co/t/42"
    assert unmoderated.study_task_url(test_study) == "https://maze.co/t/42"
    client.post(_url("test_url_save", test_study), {"test_url": ""})
    test_study.refresh_from_db()
    assert test_study.test_url == ""
    assert unmoderated.study_task_url(test_study).endswith(f"/test/{test_study.id}/")
    assert ActivityEntry.objects.filter(study_id=test_study.id,
                                        action="study.test_url_changed").count() == 2


# Permissions ---------------------------------------------------------------------------------


def test_an_observer_reads_the_tab_but_cannot_change_it(client_for, observer, researcher,
                                                        test_study):
    unmoderated.test_task_add(membership=researcher, study=test_study, title="Sign up")
    task = TestTask.objects.get(study=test_study)
    client = client_for(observer)
    page = client.get(_url("study_test", test_study))
    assert page.status_code == 200 and "Sign up" in page.content.decode()
    assert "Add task" not in page.content.decode()
    for response in (
            _add(client, test_study, "Another"),
            client.post(_url("test_task_update", test_study, task.pk), {"title": "X"}),
            client.post(_url("test_task_move", test_study, task.pk), {"direction": "down"}),
            client.post(_url("test_task_remove", test_study, task.pk)),
            client.post(_url("test_url_save", test_study), {"test_url": "https://a.io"})):
        assert response.status_code == 403
    assert _titles(test_study) == ["Sign up"]
    with pytest.raises(PermissionDenied):
        unmoderated.test_task_add(membership=observer, study=test_study, title="Nope")


def test_another_workspace_gets_404(client_for, outsider, researcher, test_study):
    unmoderated.test_task_add(membership=researcher, study=test_study, title="Sign up")
    task = TestTask.objects.get(study=test_study)
    client = client_for(outsider)
    assert client.get(_url("study_test", test_study)).status_code == 404
    assert _add(client, test_study, "Mine now").status_code == 404
    assert client.post(_url("test_task_remove", test_study, task.pk)).status_code == 404
    assert _titles(test_study) == ["Sign up"]


def test_a_task_of_another_study_is_404(client_for, researcher, workspace, test_study):
    other = StudyFactory(workspace=workspace, owner=researcher.user,
                         study_type=StudyType.UNMODERATED_TEST)
    unmoderated.test_task_add(membership=researcher, study=other, title="Theirs")
    task = TestTask.objects.get(study=other)
    client = client_for(researcher)
    assert client.post(_url("test_task_remove", test_study, task.pk)).status_code == 404
    assert _titles(other) == ["Theirs"]


def test_a_closed_study_refuses_changes(researcher, test_study):
    test_study.status = Status.CLOSED
    test_study.save()
    with pytest.raises(ValidationError):
        unmoderated.test_task_add(membership=researcher, study=test_study, title="Late")
    assert not TestTask.objects.filter(study=test_study).exists()


# Publishing, copies, recruitment --------------------------------------------------------------


def test_publishing_an_unmoderated_test_needs_a_task(ready_study, researcher):
    ready_study.study_type = StudyType.UNMODERATED_TEST
    ready_study.save()
    with pytest.raises(lifecycle.PublishBlocked) as blocked:
        services.study_publish(membership=researcher, study=ready_study)
    [problem] = blocked.value.problems
    assert (problem.field, problem.tab) == ("tasks", "test")
    assert "at least one task" in problem.message
    unmoderated.test_task_add(membership=researcher, study=ready_study, title="Sign up")
    assert services.study_publish(membership=researcher, study=ready_study).status == "active"


def test_the_overview_links_the_missing_task_to_the_test_tab(client_for, researcher,
                                                             test_study):
    html = client_for(researcher).get(reverse("studies:study_overview",
                                              args=[test_study.id])).content.decode()
    assert _url("study_test", test_study) + "#field-tasks" in html


def test_save_as_template_and_new_study_copy_the_test(researcher, test_study):
    for title in ("First", "Second"):
        unmoderated.test_task_add(membership=researcher, study=test_study, title=title,
                                  instructions=f"Do the {title.lower()} thing")
    unmoderated.study_set_test_url(membership=researcher, study=test_study,
                                   url="https://maze.co/t/1")
    template = workflows.study_copy(kind="template", membership=researcher, study=test_study)
    copy = workflows.study_copy(kind="from_template", membership=researcher, name="Round two",
                                study=template)
    for study in (template, copy):
        study.refresh_from_db()
        assert _titles(study) == ["First", "Second"]
        assert study.test_url == "https://maze.co/t/1"
    # a snapshot: later edits of the source do not reach the copies
    unmoderated.test_task_add(membership=researcher, study=test_study, title="Third")
    assert _titles(copy) == ["First", "Second"]


def test_the_recruit_carries_the_test_link_and_a_change_after_start_reaches_ui(
        researcher, test_study):
    attributes = recruit_attributes(test_study)
    assert attributes["scheduling_url"] is None
    assert attributes["task_url"].endswith(reverse("studies:test_take", args=[test_study.id]))
    services.study_mark_recruitment_started(study=test_study)
    # tasks stay editable after the start
    unmoderated.test_task_add(membership=researcher, study=test_study, title="Still editable")
    unmoderated.study_set_test_url(membership=researcher, study=test_study,
                                   url="https://lyssna.com/t/9")
    test_study.refresh_from_db()
    assert recruit_attributes(test_study)["task_url"] == "https://lyssna.com/t/9"
    [operation] = OutboxOperation.objects.filter(operation="update_recruit")
    assert operation.payload == {"study_id": str(test_study.id), "fields": ["task_url"]}


def test_participants_read_the_tasks_on_rallys_test_page(client, researcher, test_study):
    for title in ("Find shoes", "Pay"):
        unmoderated.test_task_add(membership=researcher, study=test_study, title=title)
    page_url = reverse("studies:test_take", args=[test_study.id])
    assert client.get(page_url).status_code == 404  # a draft is not live yet
    test_study.status = Status.ACTIVE
    test_study.save()
    response = client.get(page_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Find shoes") < html.index("Pay")
    assert "submit the test" in html


def test_the_test_tab_reads_a_fixed_number_of_queries_however_many_tasks(client_for, researcher,
                                                                          test_study):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(researcher)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_url("study_test", test_study)).status_code == 200
        return len(captured)

    for n in range(2):
        unmoderated.test_task_add(membership=researcher, study=test_study, title=f"Task {n}")
    few = queries()
    for n in range(2, 20):
        unmoderated.test_task_add(membership=researcher, study=test_study, title=f"Task {n}")
    assert queries() == few


def test_rallys_page_links_to_the_external_test_when_there_is_one(client, researcher,
                                                                  test_study):
    unmoderated.study_set_test_url(membership=researcher, study=test_study,
                                   url="https://maze.co/t/7")
    test_study.refresh_from_db()
    test_study.status = Status.PAUSED
    test_study.save()
    html = client.get(reverse("studies:test_take", args=[test_study.id])).content.decode()
    assert 'href="https://maze.co/t/7"' in html and "Open the test" in html
