import pytest

from rally.permissions import MATRIX, Permission, Role

A, T, N = True, "team", False
# SPEC W2, cell by cell: (Admin, Ops Manager, Researcher, Observer).
EXPECTED = {
    Permission.EDIT_STUDY: (A, A, A, N),
    Permission.PUBLISH_STUDY: (A, A, T, N),
    Permission.START_RECRUITMENT: (A, T, N, N),
    Permission.ADD_FUNDS: (A, A, N, N),
    Permission.REVIEW_APPLICANTS: (A, A, T, N),
    Permission.PAUSE_RESUME_STUDY: (A, A, T, N),
    Permission.CLOSE_STUDY: (A, A, N, N),
    Permission.READ_ALL_BUDGETS: (A, A, N, N),
    Permission.READ_STUDY_FIGURES: (A, A, T, N),
    Permission.MANAGE_MEMBERS: (A, N, N, N),
    Permission.MANAGE_WORKSPACE: (A, N, N, N),
    Permission.MANAGE_BUDGETS: (A, N, N, N),
    Permission.MANAGE_PANEL: (A, A, N, N),
    Permission.CHANGE_STUDY_TEAM: (A, A, N, N),  # W3: and the study's owner
    Permission.VIEW: (A, A, A, A),
}


def test_every_permission_has_a_row():
    assert set(EXPECTED) == set(Permission) == set(MATRIX)


@pytest.mark.parametrize("permission", list(Permission))
@pytest.mark.parametrize("role", list(Role))
def test_role_allows_matches_spec_matrix(role, permission):
    cell = EXPECTED[permission][list(Role).index(role)]
    assert role.allows(permission, on_team=True) is bool(cell)
    assert role.allows(permission, on_team=False) is (cell is True)
