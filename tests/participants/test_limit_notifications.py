"""N1: the invitation that takes a study's last seat tells the rest of the team."""

import pytest
from django.core import mail

from participants.services import applicant_invite
from rally import notifications
from rally.models import Notification, NotificationKind
from tests.participants.factories import ApplicationFactory, StudyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(workspace, researcher, ops_manager, observer, admin):
    study = StudyFactory(workspace=workspace, owner=researcher.user, participation_limit=2,
                         name="Pricing interviews")
    study.team.add(ops_manager.user, observer.user)
    return study


def test_the_last_seat_tells_the_teams_reviewers_but_the_inviter(study, ops_manager):
    first, second = (ApplicationFactory(study=study) for _ in range(2))
    applicant_invite(membership=ops_manager, study=study, application_id=first.pk)
    assert not Notification.objects.exists()  # one seat left
    applicant_invite(membership=ops_manager, study=study, application_id=second.pk)
    row = Notification.objects.get(kind=NotificationKind.LIMIT_REACHED)
    assert row.recipient.email == "riley@acme.test"
    assert row.headline == ("“Pricing interviews” reached its participation limit: all 2 "
                            "seats are taken")
    notifications.notification_emails_send_due()
    assert [m.to for m in mail.outbox] == [["riley@acme.test"]]


def test_a_refused_invitation_past_the_limit_tells_nobody_again(study, ops_manager):
    applications = [ApplicationFactory(study=study) for _ in range(3)]
    for application in applications[:2]:
        applicant_invite(membership=ops_manager, study=study, application_id=application.pk)
    with pytest.raises(Exception, match="Participation limit reached"):
        applicant_invite(membership=ops_manager, study=study, application_id=applications[2].pk)
    assert Notification.objects.filter(kind=NotificationKind.LIMIT_REACHED).count() == 1
