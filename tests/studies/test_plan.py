"""The Plan tab (SPEC S4, B2, A7, §13): validation, locks, cost and who may change it."""

import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from rally.models import ActivityEntry
from studies import services
from studies.models import Source, Status, StudyType
from studies.selectors import study_cost_estimate
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db


def _plan_post(study, **overrides):
    data = {"name": study.name, "study_type": study.study_type, "source": study.source,
            "external_description": "About onboarding", "participation_limit": "10",
            "incentive_amount": "75.00"}
    data.update(overrides)
    return data


def test_plan_saves_and_records_activity(client_for, researcher, study):
    response = client_for(researcher).post(reverse("recruitment:study_plan_save", args=[study.id]),
                                           _plan_post(study))
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.participation_limit == 10
    assert study.incentive_amount == Decimal("75.00")
    entry = ActivityEntry.objects.get(study_id=study.id, action="study.plan_updated")
    assert "Participation limit — → 10" in entry.summary
    assert entry.actor == researcher.user


BAD_INPUT = [
    ("participation_limit", "0", "from 1 to 10,000"),
    ("participation_limit", "-3", "whole number"),
    ("participation_limit", "ten", "whole number"),
    ("participation_limit", "2.5", "whole number"),
    ("incentive_amount", "0", "greater than $0.00"),
    ("incentive_amount", "-5", "greater than $0.00"),
    ("incentive_amount", "abc", "number of US dollars"),
    ("incentive_amount", "NaN", "number of US dollars"),
    ("incentive_amount", "10.005", "at most two decimals"),
    ("name", "  ", "Enter a study name"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_INPUT)
def test_bad_plan_input_is_shown_next_to_the_field_and_changes_nothing(
        client_for, researcher, study, field, value, message):
    before = (study.name, study.participation_limit, study.incentive_amount)
    response = client_for(researcher).post(reverse("recruitment:study_plan_save", args=[study.id]),
                                           _plan_post(study, **{field: value}))
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert f'id="id_{field}-error"' in page  # next to the field
    assert f'href="#id_{field}"' in page  # and in the summary at the top, linking to it
    study.refresh_from_db()
    assert (study.name, study.participation_limit, study.incentive_amount) == before
    assert not ActivityEntry.objects.filter(study_id=study.id).exists()


@pytest.mark.parametrize(("field", "value"), [
    ("participation_limit", 0), ("participation_limit", "x"), ("incentive_amount", "0.001"),
    ("incentive_amount", "-1"),
])
def test_the_service_refuses_bad_values_too(researcher, study, field, value):
    with pytest.raises(ValidationError) as error:
        services.study_update_plan(membership=researcher, study=study, changes={field: value})
    assert field in error.value.message_dict


def test_survey_cannot_recruit_from_user_interviews(researcher, workspace):
    survey = StudyFactory(workspace=workspace, owner=researcher.user,
                          study_type=StudyType.SURVEY, source=Source.RALLY_PANEL)
    with pytest.raises(ValidationError) as error:
        services.study_update_plan(membership=researcher, study=survey,
                                   changes={"source": Source.USER_INTERVIEWS})
    assert "not for Surveys" in error.value.message_dict["source"][0]


def test_survey_plan_shows_user_interviews_disabled_with_the_reason(client_for, researcher,
                                                                    workspace):
    survey = StudyFactory(workspace=workspace, owner=researcher.user,
                          study_type=StudyType.SURVEY, source=Source.RALLY_PANEL)
    page = client_for(researcher).get(reverse("studies:study_plan", args=[survey.id]))
    html = page.content.decode()
    assert '<option value="user_interviews" disabled>' in html
    assert "not for Surveys" in html


def test_consent_form_is_disabled_for_user_interviews_studies(client_for, researcher, study):
    html = client_for(researcher).get(reverse("studies:study_plan", args=[study.id])).content
    html = html.decode()
    assert re.search(r'<textarea name="consent_form"[^>]*disabled', html)
    assert "Not available for User Interviews studies" in html
    with pytest.raises(ValidationError):
        services.study_update_plan(membership=researcher, study=study,
                                   changes={"consent_form": "I agree"})


def test_observer_cannot_post_the_plan(client_for, observer, study):
    response = client_for(observer).post(reverse("recruitment:study_plan_save", args=[study.id]),
                                         _plan_post(study))
    assert response.status_code == 403
    study.refresh_from_db()
    assert study.participation_limit is None


def test_another_workspace_gets_404(client_for, outsider, study):
    client = client_for(outsider)
    for name in ("study_overview", "study_plan", "study_audience", "study_activity"):
        assert client.get(reverse(f"studies:{name}", args=[study.id])).status_code == 404
    response = client.post(reverse("recruitment:study_plan_save", args=[study.id]),
                           _plan_post(study))
    assert response.status_code == 404
    study.refresh_from_db()
    assert study.participation_limit is None


def test_team_members_must_belong_to_the_workspace(researcher, outsider, study, admin):
    with pytest.raises(ValidationError) as error:
        services.study_update_plan(membership=researcher, study=study,
                                   changes={"team": [str(outsider.user_id)]})
    assert "team" in error.value.message_dict
    services.study_update_plan(membership=researcher, study=study,
                               changes={"team": [str(admin.user_id)]})
    assert list(study.team.all()) == [admin.user]


def test_type_and_source_are_fixed_after_publishing(researcher, ready_study):
    services.study_publish(membership=researcher, study=ready_study)
    with pytest.raises(ValidationError):
        services.study_update_plan(membership=researcher, study=ready_study,
                                   changes={"study_type": StudyType.GROUP_INTERVIEW})


def test_closed_study_cannot_change(admin, ready_study):
    ready_study.status = Status.CLOSED
    ready_study.save()
    with pytest.raises(ValidationError, match="closed"):
        services.study_update_plan(membership=admin, study=ready_study,
                                   changes={"participation_limit": "3"})


def test_observer_is_refused_by_the_service(observer, study):
    with pytest.raises(PermissionDenied):
        services.study_update_plan(membership=observer, study=study,
                                   changes={"participation_limit": "3"})


# Locks (SPEC A7) -------------------------------------------------------------------------


@pytest.fixture
def started(researcher, ready_study):
    services.study_publish(membership=researcher, study=ready_study)
    assert services.study_mark_recruitment_started(study=ready_study)
    assert not services.study_mark_recruitment_started(study=ready_study)  # idempotent
    ready_study.refresh_from_db()
    return ready_study


def test_incentive_is_locked_once_recruitment_started(researcher, started):
    assert started.is_recruitment_locked
    with pytest.raises(ValidationError) as error:
        services.study_update_plan(membership=researcher, study=started,
                                   changes={"incentive_amount": "80.00"})
    assert "locked" in error.value.message_dict["incentive_amount"][0]


def test_limit_can_only_go_down_once_recruitment_started(researcher, started):
    with pytest.raises(ValidationError) as error:
        services.study_update_plan(membership=researcher, study=started,
                                   changes={"participation_limit": "9"})
    assert "only be lowered" in error.value.message_dict["participation_limit"][0]
    services.study_update_plan(membership=researcher, study=started,
                               changes={"participation_limit": "5"})
    started.refresh_from_db()
    assert started.participation_limit == 5


def test_crafted_post_of_a_locked_incentive_changes_nothing(client_for, researcher, started):
    response = client_for(researcher).post(
        reverse("recruitment:study_plan_save", args=[started.id]),
        _plan_post(started, external_description=started.external_description,
                   participation_limit="12", incentive_amount="1.00"))
    assert response.status_code == 400
    assert "can only be lowered" in response.content.decode()
    started.refresh_from_db()
    assert started.incentive_amount == Decimal("75.00")
    assert started.participation_limit == 8


def test_locked_plan_page_shows_incentive_read_only(client_for, researcher, started):
    html = client_for(researcher).get(reverse("studies:study_plan", args=[started.id]))
    html = html.content.decode()
    assert "The incentive amount is locked" in html
    assert "can only be lowered" in html


# Cost (SPEC B2) --------------------------------------------------------------------------


def test_cost_is_limit_times_fee_plus_incentive():
    cost = study_cost_estimate(source=Source.USER_INTERVIEWS, study_type=StudyType.INTERVIEW,
                               audience_type="b2b", participation_limit=8,
                               incentive_amount=Decimal("75.00"))
    assert cost.recruitment_fee == Decimal("65.00")
    assert cost.fees_total == Decimal("520.00")
    assert cost.incentives_total == Decimal("600.00")
    assert cost.total == Decimal("1120.00")


@pytest.mark.parametrize(("study_type", "audience", "fee"), [
    (StudyType.INTERVIEW, "b2c", "39.00"), (StudyType.GROUP_INTERVIEW, "b2b", "65.00"),
    (StudyType.UNMODERATED_TEST, "b2b", "43.00"), (StudyType.UNMODERATED_TEST, "b2c", "26.00"),
])
def test_cost_uses_billing_prices(study_type, audience, fee):
    cost = study_cost_estimate(source=Source.USER_INTERVIEWS, study_type=study_type,
                               audience_type=audience, participation_limit=2,
                               incentive_amount=Decimal("10.00"))
    assert cost.recruitment_fee == Decimal(fee)
    assert cost.total == 2 * (Decimal(fee) + Decimal("10.00"))


def test_cost_updates_live_from_typed_values(client_for, researcher, ready_study):
    response = client_for(researcher).post(
        reverse("studies:study_plan_cost", args=[ready_study.id]),
        _plan_post(ready_study, participation_limit="10", incentive_amount="50"),
        HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="plan-cost"' in html and "<html" not in html
    # B2B interview: 10 x ($65.00 + $50.00)
    assert "$1,150.00" in html
    assert "10 \u00d7 $65.00 = $650.00" in html and "10 \u00d7 $50.00 = $500.00" in html
    ready_study.refresh_from_db()
    assert ready_study.participation_limit == 8  # nothing saved


def test_cost_says_what_is_missing(client_for, researcher, study):
    response = client_for(researcher).post(
        reverse("studies:study_plan_cost", args=[study.id]),
        _plan_post(study, participation_limit="", incentive_amount="oops"))
    assert "Enter a participation limit and an incentive amount" in response.content.decode()


def test_crafted_post_of_only_a_locked_incentive_says_it_is_locked(client_for, researcher,
                                                                    started):
    response = client_for(researcher).post(
        reverse("recruitment:study_plan_save", args=[started.id]),
        _plan_post(started, external_description=started.external_description,
                   participation_limit=str(started.participation_limit),
                   incentive_amount="1.00"))
    assert response.status_code == 400
    assert "Incentive amount can&#x27;t be changed" in response.content.decode()
    started.refresh_from_db()
    assert started.incentive_amount == Decimal("75.00")


def test_posting_the_locked_incentive_unchanged_saves_the_rest(client_for, researcher, started):
    response = client_for(researcher).post(
        reverse("recruitment:study_plan_save", args=[started.id]),
        _plan_post(started, external_description="A clearer description.",
                   participation_limit=str(started.participation_limit),
                   incentive_amount="75.00"))
    assert response.status_code == 302
    started.refresh_from_db()
    assert started.external_description == "A clearer description."
