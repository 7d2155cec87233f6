from rally.permissions import Permission
from rally.selectors import memberships_for_user


def workspace(request):
    """The workspace switcher and the role-dependent navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = request.membership
    return {
        "current_membership": membership,
        "current_workspace": membership.workspace if membership else None,
        # Read with the current membership (rally.selectors.membership_for_request).
        "workspace_choices": lambda: getattr(request, "workspace_choices", None)
        or memberships_for_user(user),
        "can_manage_members": bool(membership and membership.allows(Permission.MANAGE_MEMBERS)),
        "can_read_budgets": bool(membership and membership.allows(Permission.READ_ALL_BUDGETS)),
        # Reports: every study's figures, or a Researcher's own teams' (SPEC W2, M1).
        "can_read_reports": bool(membership and membership.allows(
            Permission.READ_STUDY_FIGURES, on_team=True)),
    }
