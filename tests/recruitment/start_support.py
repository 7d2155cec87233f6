"""The study the Start Recruitment tests start: ready for User Interviews, with an Ops
Manager on its team. Its estimate is 8 × ($65 B2B moderated fee + $75) = $1,120.00."""

from decimal import Decimal

from studies.models import Status
from tests.studies.factories import StudyFactory


def startable_study(*, workspace, owner, team_member):
    """An Active B2B User Interviews interview owned by `owner`, `team_member` on the team
    (the characteristics catalog must hold "job-function")."""
    study = StudyFactory(
        workspace=workspace, owner=owner, name="Onboarding interviews",
        study_type="interview", source="user_interviews", status=Status.ACTIVE,
        external_description="Tell us how you onboard new engineers.",
        participation_limit=8, incentive_amount=Decimal("75.00"), audience_type="b2b",
        duration_minutes=45,
        criteria=[{"characteristic": "job-function", "values": ["engineering"]}])
    study.team.add(team_member)
    return study
