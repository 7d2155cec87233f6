"""The study page, declared in one place: every `studies/<uuid>/…` URL and the studies list,
the tabs, the overview's panels, the list's columns, the Participants tab's row actions and
the applicant profile's panels. Nothing else registers any of it (DESIGN: "Pages have one
owner").

How lower apps see it: studies cannot import this module (it sits above them), so the
`STUDY_PAGE` setting names `STUDY_PAGE` below by dotted path, as ROOT_URLCONF names the root
URLconf, and `studies.pages.study_page()` imports it when the page is first drawn. That
works the same in a request, an email or a task, where no request could carry the page.

URLs: each app's namespace (`studies:`, `participants:`, `scheduling:`, `recruitment:`,
`panel:`) is included exactly once, here: the app's own URLs (those not under a study) plus
its study-page URLs declared below, so the names templates and tests reverse stay as they
were. No two patterns answer the same path (tests/recruitment/test_study_page.py walks the
resolver), so the order of these lists decides nothing.

Recruitment and panel never import each other (an import-linter contract), so the panel's
pieces — its "Invite from panel" tab's view, its overview panel, its incentive row actions,
its study URLs and its own URL module — are named here by dotted path and imported only when
first used (the URLconf being loaded, the page being drawn).
"""

from importlib import import_module

from django.urls import include, path
from django.utils.module_loading import import_string

import participants.urls
import recruitment.urls
import scheduling.urls
import studies.urls
from participants import consent_views, review
from participants import views as participants_views
from recruitment import reports, start_views, study_actions, sync_status, views
from scheduling import views as scheduling_views
from scheduling.row_actions import payment_row_actions
from scheduling.unmoderated import completion_profile_panel
from studies import screener_views, unmoderated_views
from studies import views as studies_views
from studies.models import Source, StudyType
from studies.pages import ListColumn, Part, StudyPage, Tab

STUDY = "studies/<uuid:study_id>/"


def _moderated(study):
    return study.study_type in (StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW)


def _unmoderated(study):
    return study.study_type == StudyType.UNMODERATED_TEST


def _rally_panel(study):
    return study.source == Source.RALLY_PANEL and not study.is_template


STUDY_PAGE = StudyPage(
    tabs=(
        Tab("overview", "Overview", "studies:study_overview", 10),
        Tab("plan", "Plan", "studies:study_plan", 20),
        Tab("audience", "Audience", "studies:study_audience", 30),
        Tab("screener", "Screener", "studies:study_screener", 40),
        Tab("test", "Test", "studies:study_test", 50, _unmoderated),
        Tab("scheduling", "Scheduling", "scheduling:study_scheduling", 50, _moderated),
        Tab("participants", "Participants", "participants:study_participants", 60),
        Tab("panel_invite", "Invite from panel", "panel:study_invite", 65, _rally_panel),
        Tab("activity", "Activity", "studies:study_activity", 90),
    ),
    overview_panels=(
        # The Rally panel's card (panel studies only).
        Part("panel", 15, "panel.views.overview_panel"),
        # Review & Start, the hand-off's progress and the study's money (SPEC R1, R2, B6).
        Part("recruitment", 20, start_views.money_panel),
        # Sync health (SPEC R8), below the recruitment progress panel.
        Part("sync_status", 30, sync_status.overview_panel),
        # Recruitment metrics against UI's medians (SPEC M1), after money and sync health.
        Part("metrics", 40, reports.metrics_panel),
    ),
    list_columns=(
        ListColumn("applicants", "Applicants", 10, annotate=review.studies_with_applicant_counts,
                   value=lambda study: study.applicant_count),
        ListColumn("seats", "Seats taken", 20, annotate=lambda studies: studies,
                   value=lambda study: study.seats_taken),
    ),
    row_actions=(
        # "Complete & Send payment" and where a session's payout stands (SPEC I1).
        Part("session_payment", 10, payment_row_actions),
        # The panel's "Record incentive" and how it was paid.
        Part("panel_incentive", 20, "panel.row_actions.incentive_row_actions"),
    ),
    profile_panels=(
        # An Unmoderated Test participant's completion and its payment.
        Part("test_completion", 10, completion_profile_panel),
    ),
)


def _panel_view(dotted):
    """A panel view named by its dotted path, imported at its first request."""
    def view(request, *args, **kwargs):
        return import_string(dotted)(request, *args, **kwargs)

    view.__name__ = view.__qualname__ = dotted.rpartition(".")[2]
    view.__module__ = dotted.rpartition(".")[0]
    return view


# The study page's URLs, by the namespace they are named in ----------------------------------

STUDIES = [
    path("studies/", studies_views.study_list, name="study_list"),
    path(STUDY, studies_views.study_overview, name="study_overview"),
    path(f"{STUDY}publish/", studies_views.study_publish, name="study_publish"),
    path(f"{STUDY}plan/", studies_views.study_plan, name="study_plan"),
    path(f"{STUDY}plan/cost/", studies_views.study_plan_cost, name="study_plan_cost"),
    path(f"{STUDY}audience/", studies_views.study_audience, name="study_audience"),
    path(f"{STUDY}audience/settings/", studies_views.study_audience_settings,
         name="study_audience_settings"),
    path(f"{STUDY}audience/location/", studies_views.study_audience_location,
         name="study_audience_location"),
    path(f"{STUDY}audience/criteria/", studies_views.study_audience_criteria,
         name="study_audience_criteria"),
    path(f"{STUDY}audience/criteria/<slug:slug>/remove/", studies_views.study_criterion_remove,
         name="study_criterion_remove"),
    path(f"{STUDY}screener/", screener_views.study_screener, name="study_screener"),
    path(f"{STUDY}screener/questions/", screener_views.screener_question_add,
         name="screener_question_add"),
    path(f"{STUDY}screener/questions/<uuid:question_uid>/",
         screener_views.screener_question_update, name="screener_question_update"),
    path(f"{STUDY}screener/questions/<uuid:question_uid>/duplicate/",
         screener_views.screener_question_duplicate, name="screener_question_duplicate"),
    path(f"{STUDY}screener/questions/<uuid:question_uid>/delete/",
         screener_views.screener_question_delete, name="screener_question_delete"),
    path(f"{STUDY}screener/questions/<uuid:question_uid>/move/",
         screener_views.screener_question_move, name="screener_question_move"),
    path(f"{STUDY}screener/check/", screener_views.screener_check, name="screener_check"),
    path(f"{STUDY}screener/order/", screener_views.screener_reorder, name="screener_reorder"),
    path(f"{STUDY}screener/preview/", screener_views.screener_preview,
         name="screener_preview"),
    path(f"{STUDY}test/", unmoderated_views.study_test, name="study_test"),
    path(f"{STUDY}test/tasks/", unmoderated_views.test_task_add, name="test_task_add"),
    path(f"{STUDY}test/tasks/<uuid:task_id>/", unmoderated_views.test_task_update,
         name="test_task_update"),
    path(f"{STUDY}test/tasks/<uuid:task_id>/remove/", unmoderated_views.test_task_remove,
         name="test_task_remove"),
    path(f"{STUDY}test/tasks/<uuid:task_id>/move/", unmoderated_views.test_task_move,
         name="test_task_move"),
    path(f"{STUDY}test/url/", unmoderated_views.test_url_save, name="test_url_save"),
    path(f"{STUDY}activity/", studies_views.study_activity, name="study_activity"),
]

PARTICIPANTS = [
    path(f"{STUDY}participants/", participants_views.study_participants,
         name="study_participants"),
    path(f"{STUDY}participants/export.csv", participants_views.study_applicants_csv,
         name="study_applicants_csv"),
    path(f"{STUDY}participants/consent.csv", consent_views.consent_csv, name="consent_csv"),
    path(f"{STUDY}participants/review/", participants_views.applicants_bulk,
         name="applicants_bulk"),
    path(f"{STUDY}participants/<uuid:application_id>/", participants_views.applicant_profile,
         name="applicant_profile"),
    path(f"{STUDY}participants/<uuid:application_id>/invite/",
         participants_views.applicant_invite, name="applicant_invite"),
    path(f"{STUDY}participants/<uuid:application_id>/reject/",
         participants_views.applicant_reject, name="applicant_reject"),
]

SCHEDULING = [
    path(f"{STUDY}schedule/", scheduling_views.study_scheduling, name="study_scheduling"),
]

RECRUITMENT = [
    # The forms that start a workflow (recruitment.workflows).
    path(f"{STUDY}status/", study_actions.study_status, name="study_status"),
    path(f"{STUDY}save-as-template/", study_actions.study_save_as_template,
         name="study_save_as_template"),
    path(f"{STUDY}duplicate/", study_actions.study_duplicate, name="study_duplicate"),
    path(f"{STUDY}plan/save/", study_actions.study_plan_save, name="study_plan_save"),
    path(f"{STUDY}audience/reach/", views.audience_reach, name="audience_reach"),
    path(f"{STUDY}recruitment/start/", start_views.recruitment_start, name="start"),
    path(f"{STUDY}recruitment/request-start/", start_views.recruitment_request_start,
         name="request_start"),
    path(f"{STUDY}recruitment/", start_views.money_panel_refresh, name="money_panel"),
    path(f"{STUDY}sync/", sync_status.sync_status, name="sync_status"),
    path(f"{STUDY}sync/<uuid:operation_id>/retry/", sync_status.outbox_retry,
         name="outbox_retry"),
    path(f"{STUDY}metrics/", reports.metrics_panel_card, name="metrics_panel"),
]

PANEL = [
    path(f"{STUDY}panel/", _panel_view("panel.views.study_invite"), name="study_invite"),
    path(f"{STUDY}panel/incentives/<uuid:application_id>/",
         _panel_view("panel.views.incentive_record"), name="incentive_record"),
]


def _namespace(name, app_urls, page_urls):
    """One include of namespace `name`: the app's own URLs and its study-page URLs."""
    return path("", include((list(app_urls.urlpatterns) + page_urls, name)))


urlpatterns = [
    _namespace("studies", studies.urls, STUDIES),
    _namespace("participants", participants.urls, PARTICIPANTS),
    _namespace("scheduling", scheduling.urls, SCHEDULING),
    _namespace("recruitment", recruitment.urls, RECRUITMENT),
    # The panel's own URL module by name: imported when the URLconf is loaded.
    _namespace("panel", import_module("panel.urls"), PANEL),
]
