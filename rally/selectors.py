"""Core reads shared by views: the current membership and workspace-scoped lookups."""

from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from rally.models import ActivityEntry, Membership, Notification
from rally.permissions import Permission, require


def memberships_for_user(user):
    """The person's memberships, each with `unread_notifications` (the bell's count) read in
    the same query, so the header costs no query of its own."""
    unread = (Notification.objects.filter(recipient=user, workspace=OuterRef("workspace_id"),
                                          read_at__isnull=True)
              .order_by().values("workspace_id").annotate(n=Count("*")).values("n"))
    return (Membership.objects.filter(user=user).select_related("workspace")
            .annotate(unread_notifications=Coalesce(Subquery(unread, output_field=IntegerField()),
                                                    Value(0)))
            .order_by("workspace__name"))


def membership_for_request(request):
    """The membership of the workspace the person is working in (None when they have none).

    The session remembers the chosen workspace; without a choice, the first one by name.
    """
    if not request.user.is_authenticated:
        return None
    memberships = list(memberships_for_user(request.user))
    for each in memberships:
        each.user = request.user  # the person signed in, already read: no query per use
    request.workspace_choices = memberships  # the switcher lists the same rows
    chosen = request.session.get("workspace_id")
    membership = None
    if chosen:
        membership = next((m for m in memberships if str(m.workspace_id) == chosen), None)
    return membership or next(iter(memberships), None)


def require_permission(membership, permission, *, on_team=False):
    """For workspace pages that show no one object (lists, settings): 404 without a
    membership, as every page does outside the workspace, 403 unless the role allows
    `permission`. A page about one object asks its `get_<thing>_for_user` selector."""
    if membership is None:
        raise Http404
    return require(membership, permission, on_team=on_team)


def get_workspace_object_for_user(membership, rows, object_id, *, permission):
    """The row of `rows` with this id in the member's workspace, for objects whose
    permission is the workspace's (no team cell): 404 without a membership, 403 when the
    role may not do `permission` (asked before the lookup, so a refused role learns nothing
    about ids), 404 for another workspace's row, no row or a malformed id."""
    if membership is None:
        raise Http404
    require(membership, permission)
    try:
        return rows.get(pk=object_id, workspace_id=membership.workspace_id)
    except (rows.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404 from exc


def get_membership_for_user(membership, membership_id, *, permission):
    """Another membership of the member's workspace (the members page's actions)."""
    return get_workspace_object_for_user(membership, Membership.objects.select_related("user"),
                                         membership_id, permission=permission)


def workspace_members(workspace):
    return (Membership.objects.filter(workspace=workspace).select_related("user")
            .order_by("user__name", "user__email"))


#: The activity of an application whose incentive was paid (it names its payout).
APPLICATION_PAID = "participants.applicant_paid"
#: Ledger keys that name the session or payout a money step belongs to ("fee:<session>").
_STEP_KEYS = ("fee:", "incentive:", "paid:")


def _event_ids(entry):
    """The ids of the one event an entry is a step of: a payment's scheduling, ledger
    charges, sending and confirmation all name its session or payout."""
    data = entry.data or {}
    ids = {data[name] for name in ("payout", "session") if data.get(name)}
    key = data.get("key") or ""
    if key.startswith(_STEP_KEYS):
        ids.add(key.split(":", 1)[1])
    return ids


def activity_feed(*, membership, study_id=None, limit=50):
    """The workspace's activity (or one study's), as this person may read it (SPEC W2): an
    entry that carries money appears only to those who may read that study's figures —
    Admins and Ops Managers all, a Researcher only their team's studies (never the
    workspace's budgets), an Observer none. The dashboard and a study's Activity call this.
    Each event shows once: the steps of one payment (scheduled, charged, sending, paid)
    show as its latest step, and its participant's "was paid" only where the payment
    itself is hidden.

    The core imports no domain app: a Researcher's studies are read through the user's
    reverse relations (`owned_studies`, `team_studies`).
    """
    entries = (ActivityEntry.objects.filter(workspace_id=membership.workspace_id)
               .select_related("actor"))
    if study_id is not None:
        entries = entries.filter(study_id=study_id)
    if not membership.allows(Permission.READ_ALL_BUDGETS):
        readable = Q(pk__in=[])
        if membership.allows(Permission.READ_STUDY_FIGURES, on_team=True):
            user = membership.user
            readable = (Q(study_id__in=user.owned_studies.values("pk"))
                        | Q(study_id__in=user.team_studies.values("pk")))
        entries = entries.filter(~ActivityEntry.carries_money_q() | readable)
    batch = list(entries[:limit * 4])
    # "X was paid for …" (the application's side of a payment) shows only to those who may
    # not read the payment itself, whose entry names the amount.
    payments = set().union(*(_event_ids(entry) for entry in batch
                             if entry.action != APPLICATION_PAID))
    shown, seen = [], set()
    for entry in batch:
        ids = _event_ids(entry)
        if ids & seen or (entry.action == APPLICATION_PAID and ids & payments):
            continue
        seen |= ids
        shown.append(entry)
        if len(shown) == limit:
            break
    return shown
