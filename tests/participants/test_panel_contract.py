"""The panel's data contract: filters over property values, value updates, contacts."""

import pytest
from django.core.exceptions import ValidationError

from participants.directory import contact_record, participant_properties_update
from participants.models import Contact
from participants.selectors import people_filter_problems, people_matching
from rally.models import ActivityEntry
from rally.services import property_define
from tests.participants.factories import PanelPersonFactory, ParticipantFactory, StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def panel(workspace):
    property_define(workspace=workspace, key="job_title", label="Job title", type="text")
    property_define(workspace=workspace, key="company_size", label="Company size",
                    type="number")
    property_define(workspace=workspace, key="joined_on", label="Joined on", type="date")
    property_define(workspace=workspace, key="uses_mobile", label="Uses mobile",
                    type="boolean")
    property_define(workspace=workspace, key="plan", label="Plan", type="single_select",
                    options=["Free", "Pro", "Enterprise"])
    property_define(workspace=workspace, key="tools", label="Tools", type="multi_select",
                    options=["Figma", "Miro", "Notion"])
    people = {
        "ada": PanelPersonFactory(workspace=workspace, first_name="Ada", last_name="Lovelace",
                                  email="ada@example.com", properties={
                                      "job_title": "Product Designer", "company_size": 250,
                                      "joined_on": "2025-04-01", "uses_mobile": True,
                                      "plan": "pro", "tools": ["figma", "miro"]}),
        "bo": PanelPersonFactory(workspace=workspace, first_name="Bo", last_name="Chen",
                                 email="bo@example.com", properties={
                                     "job_title": "Engineer", "company_size": 12.5,
                                     "joined_on": "2026-01-15", "uses_mobile": False,
                                     "plan": "free", "tools": ["notion"]}),
        "cy": PanelPersonFactory(workspace=workspace, first_name="Cy", last_name="Diaz",
                                 email="cy@example.com", properties={}),
    }
    return people


def names(workspace, rules, q=""):
    return [p.first_name for p in people_matching(workspace=workspace,
                                                filters={"q": q, "rules": rules})]


@pytest.mark.parametrize(("rule", "expected"), [
    ({"property": "job_title", "op": "eq", "value": "engineer"}, ["Bo"]),
    ({"property": "job_title", "op": "neq", "value": "Engineer"}, ["Ada", "Cy"]),
    ({"property": "job_title", "op": "contains", "value": "design"}, ["Ada"]),
    ({"property": "company_size", "op": "gt", "value": "12.5"}, ["Ada"]),
    ({"property": "company_size", "op": "gte", "value": 12.5}, ["Ada", "Bo"]),
    ({"property": "company_size", "op": "lt", "value": "250"}, ["Bo"]),
    ({"property": "company_size", "op": "lte", "value": "250"}, ["Ada", "Bo"]),
    ({"property": "company_size", "op": "eq", "value": "250"}, ["Ada"]),
    ({"property": "joined_on", "op": "gt", "value": "2025-12-31"}, ["Bo"]),
    ({"property": "joined_on", "op": "lte", "value": "2025-04-01"}, ["Ada"]),
    ({"property": "uses_mobile", "op": "is_true"}, ["Ada"]),
    ({"property": "uses_mobile", "op": "is_false"}, ["Bo"]),
    ({"property": "plan", "op": "eq", "value": "Pro"}, ["Ada"]),
    ({"property": "plan", "op": "neq", "value": "pro"}, ["Bo", "Cy"]),
    ({"property": "plan", "op": "in", "value": ["free", "enterprise"]}, ["Bo"]),
    ({"property": "tools", "op": "in", "value": ["miro", "notion"]}, ["Ada", "Bo"]),
    ({"property": "tools", "op": "in", "value": ["Figma"]}, ["Ada"]),
    ({"property": "tools", "op": "is_set"}, ["Ada", "Bo"]),
    ({"property": "tools", "op": "not_set"}, ["Cy"]),
])
def test_each_operator_filters_by_its_type(workspace, panel, rule, expected):
    assert people_filter_problems(workspace=workspace, filters={"rules": [rule]}) == []
    assert names(workspace, [rule]) == expected


def test_rules_are_anded_and_q_searches_name_and_email(workspace, panel):
    rules = [{"property": "company_size", "op": "gt", "value": 1},
             {"property": "uses_mobile", "op": "is_false"}]
    assert names(workspace, rules) == ["Bo"]
    assert names(workspace, [], q="lovelace") == ["Ada"]
    assert names(workspace, [], q="ada lovelace") == ["Ada"]
    assert names(workspace, [], q="@example.com") == ["Ada", "Bo", "Cy"]
    assert names(workspace, [], q="nobody") == []


def test_only_panel_people_of_the_workspace(workspace, panel, outsider):
    ParticipantFactory(workspace=workspace, first_name="Ui")
    PanelPersonFactory(workspace=outsider.workspace, first_name="Other")
    assert names(workspace, []) == ["Ada", "Bo", "Cy"]


@pytest.mark.parametrize(("filters", "problem"), [
    ({"rules": [{"property": "salary", "op": "eq", "value": 1}]}, "not a property"),
    ({"rules": [{"property": "job_title", "op": "gt", "value": "a"}]}, "not an operator"),
    ({"rules": [{"property": "company_size", "op": "gt", "value": "lots"}]}, "not a number"),
    ({"rules": [{"property": "joined_on", "op": "eq", "value": "31/12/2025"}]}, "not a date"),
    ({"rules": [{"property": "plan", "op": "in", "value": ["gold"]}]}, "not one of the options"),
    ({"rules": [{"property": "plan", "op": "in", "value": []}]}, "at least one option"),
    ({"rules": [{"property": "job_title", "op": "eq", "value": ""}]}, "enter a value"),
    ({"rules": "everyone"}, "must be a list"),
    ({"rules": ["x"]}, "must name a property"),
    ("nonsense", "must be an object"),
])
def test_bad_filters_are_problems_not_errors(workspace, panel, filters, problem):
    problems = people_filter_problems(workspace=workspace, filters=filters)
    assert problems and problem in problems[0]
    with pytest.raises(ValidationError):
        people_matching(workspace=workspace, filters=filters)


def test_properties_update_validates_merges_and_records(workspace, panel, admin):
    ada = panel["ada"]
    participant_properties_update(participant=ada, values={
        "company_size": "1,200", "plan": "Enterprise", "job_title": ""},
        actor=admin.user)
    ada.refresh_from_db()
    assert ada.properties["company_size"] == 1200
    assert ada.properties["plan"] == "enterprise"
    assert "job_title" not in ada.properties
    assert ada.properties["tools"] == ["figma", "miro"]
    entry = ActivityEntry.objects.get(action="participants.properties_updated")
    assert "Company size" in entry.summary and "Lovelace" in entry.summary
    assert entry.data == {"participant_id": str(ada.pk),
                          "keys": ["company_size", "job_title", "plan"]}  # names, not values


def test_properties_update_refuses_bad_values_and_changes_nothing(workspace, panel):
    ada = panel["ada"]
    with pytest.raises(ValidationError) as caught:
        participant_properties_update(participant=ada, values={
            "company_size": "10", "joined_on": "yesterday", "secret": "x"},
            actor_label="task:test")
    assert set(caught.value.message_dict) == {"joined_on", "secret"}
    ada.refresh_from_db()
    assert ada.properties["company_size"] == 250
    assert not ActivityEntry.objects.exists()


def test_contact_record(workspace, panel, admin):
    study = StudyFactory(workspace=workspace)
    contact = contact_record(participant=panel["ada"], study=study, kind="invitation",
                             subject="Join our study", sent_by=admin.user,
                             override_reason="VIP customer")
    assert Contact.objects.get() == contact
    assert contact.sent_at and contact.override_reason == "VIP customer"
    with pytest.raises(ValidationError):
        contact_record(participant=panel["ada"], study=None, kind="sms", subject="x",
                       sent_by=None)


def test_panel_people_need_an_email_ui_participants_have_none(workspace):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PanelPersonFactory(workspace=workspace, email="")
    with pytest.raises(IntegrityError), transaction.atomic():
        PanelPersonFactory(workspace=workspace, email="same@example.com")
        PanelPersonFactory(workspace=workspace, email="same@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        ParticipantFactory(workspace=workspace, email="ui@example.com")
