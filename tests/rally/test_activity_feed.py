"""The permission-aware activity feed (SPEC W2): an entry knows whether it carries money and
for which study; money entries reach only those who may read that study's figures."""

import pytest
from django.urls import reverse

from rally.models import ActivityEntry
from rally.selectors import activity_feed
from rally.services import activity_record
from tests.studies.factories import StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(workspace, admin, researcher):
    ours = StudyFactory(workspace=workspace, owner=researcher.user, name="Ours")
    theirs = StudyFactory(workspace=workspace, owner=admin.user, name="Theirs")
    entries = {
        "funds": activity_record(workspace=workspace, actor=admin.user,
                                 action="billing.funds_added",
                                 summary="Added $5,000.00 to Workspace Budget"),
        "ours_money": activity_record(workspace=workspace, actor=admin.user,
                                      action="billing.reserve", study_id=ours.pk,
                                      summary="Reserved $98.00 for “Ours”"),
        "theirs_money": activity_record(workspace=workspace, actor_label="task:payout_sweeper",
                                        action="payout.sending", study_id=theirs.pk,
                                        summary="Sending the incentive of $75.00 to Ada L."),
        "theirs_plain": activity_record(workspace=workspace, actor=admin.user,
                                        action="study.published", study_id=theirs.pk,
                                        summary="Published “Theirs”"),
    }
    return ours, theirs, entries


def _seen(membership, **kwargs):
    return {entry.pk for entry in activity_feed(membership=membership, **kwargs)}


def test_entries_know_whether_they_carry_money(feed):
    _, _, entries = feed
    assert {name for name, entry in entries.items() if entry.carries_money} == {
        "funds", "ours_money", "theirs_money"}


def test_the_feed_shows_money_only_where_the_matrix_allows(feed, admin, ops_manager,
                                                           researcher, observer):
    ours, theirs, entries = feed
    every = {entry.pk for entry in entries.values()}
    assert _seen(admin) == every
    assert _seen(ops_manager) == every
    # A Researcher reads their own team's figures, never the workspace's budgets.
    assert _seen(researcher) == {entries["ours_money"].pk, entries["theirs_plain"].pk}
    assert _seen(observer) == {entries["theirs_plain"].pk}
    assert _seen(observer, study_id=theirs.pk) == {entries["theirs_plain"].pk}
    assert _seen(researcher, study_id=ours.pk) == {entries["ours_money"].pk}
    ours.owner = observer.user  # on the team, an Observer still sees no money
    ours.save(update_fields=["owner"])
    assert _seen(observer, study_id=ours.pk) == set()


def test_a_teammate_researcher_reads_their_studys_money(feed, admin, researcher):
    _, theirs, entries = feed
    theirs.team.add(researcher.user)
    assert entries["theirs_money"].pk in _seen(researcher)


def test_the_dashboard_and_activity_tab_hide_money_from_an_observer(feed, observer,
                                                                    client_for):
    _, theirs, _ = feed
    client = client_for(observer)
    for url in (reverse("home"), reverse("studies:study_activity", args=[theirs.pk]),
                reverse("studies:study_overview", args=[theirs.pk])):
        body = client.get(url).content.decode()
        for figure in ("$5,000.00", "$98.00", "$75.00"):
            assert figure not in body, (url, figure)


def test_the_feed_reads_a_constant_number_of_queries(feed, researcher,
                                                     django_assert_num_queries):
    with django_assert_num_queries(1):
        list(activity_feed(membership=researcher, limit=20))
    assert ActivityEntry.objects.count() == 4
