"""Roles and what each may do (SPEC W2), written once as a table.

A cell is ALL (anywhere in the workspace), TEAM (only on studies whose team the person is
on) or NONE. Views and services both ask `Role.allows`, so a refusal never depends on a
button being hidden.
"""

from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db import models


class Permission(StrEnum):
    EDIT_STUDY = "edit_study"  # studies, audiences, screeners, scheduling
    PUBLISH_STUDY = "publish_study"
    START_RECRUITMENT = "start_recruitment"
    ADD_FUNDS = "add_funds"
    REVIEW_APPLICANTS = "review_applicants"  # invite, reject, "Complete & Send payment"
    PAUSE_RESUME_STUDY = "pause_resume_study"
    CLOSE_STUDY = "close_study"
    READ_ALL_BUDGETS = "read_all_budgets"  # budgets, reservations, receipts of the workspace
    READ_STUDY_FIGURES = "read_study_figures"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_WORKSPACE = "manage_workspace"  # its name, its User Interviews account
    MANAGE_BUDGETS = "manage_budgets"
    MANAGE_PANEL = "manage_panel"  # panel properties, imports, governance overrides
    # A study's team (W3): also its owner (studies.lifecycle.study_team_changeable_by);
    # nobody adds themselves.
    CHANGE_STUDY_TEAM = "change_study_team"
    VIEW = "view"


ALL, TEAM, NONE = "all", "team", "none"

#: permission -> (Admin, Ops Manager, Researcher, Observer)
MATRIX = {
    Permission.EDIT_STUDY: (ALL, ALL, ALL, NONE),
    Permission.PUBLISH_STUDY: (ALL, ALL, TEAM, NONE),
    Permission.START_RECRUITMENT: (ALL, TEAM, NONE, NONE),
    Permission.ADD_FUNDS: (ALL, ALL, NONE, NONE),
    Permission.REVIEW_APPLICANTS: (ALL, ALL, TEAM, NONE),
    Permission.PAUSE_RESUME_STUDY: (ALL, ALL, TEAM, NONE),
    Permission.CLOSE_STUDY: (ALL, ALL, NONE, NONE),
    Permission.READ_ALL_BUDGETS: (ALL, ALL, NONE, NONE),
    Permission.READ_STUDY_FIGURES: (ALL, ALL, TEAM, NONE),
    Permission.MANAGE_MEMBERS: (ALL, NONE, NONE, NONE),
    Permission.MANAGE_WORKSPACE: (ALL, NONE, NONE, NONE),
    Permission.MANAGE_BUDGETS: (ALL, NONE, NONE, NONE),
    Permission.MANAGE_PANEL: (ALL, ALL, NONE, NONE),
    Permission.CHANGE_STUDY_TEAM: (ALL, ALL, NONE, NONE),
    Permission.VIEW: (ALL, ALL, ALL, ALL),
}


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    OPS_MANAGER = "ops_manager", "Ops Manager"
    RESEARCHER = "researcher", "Researcher"
    OBSERVER = "observer", "Observer"

    def allows(self, permission, *, on_team=False):
        """Whether this role may act; `on_team` says if the person is on the study's team."""
        column = list(Role).index(self)
        cell = MATRIX[Permission(permission)][column]
        return cell == ALL or (cell == TEAM and on_team)


def require(membership, permission, *, on_team=False):
    """PermissionDenied unless the membership's role allows `permission`; no membership (a
    person outside the workspace) is refused the same way. Services call this; views reach
    objects through the `get_<thing>_for_user` selectors, which also answer 404."""
    if membership is None or not membership.allows(permission, on_team=on_team):
        raise PermissionDenied
    return membership
