"""Core write operations: the activity log, the outbox, memberships and sign-in throttling."""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction

from rally import clock
from rally.models import ActivityEntry, Membership, OutboxOperation, User
from rally.permissions import Permission, Role, require

OUTBOX_KEY_NAMESPACE = uuid.UUID("5d0f1f8e-3c1a-4c55-9a51-7b1f3f0c2a10")
OUTBOX_EXECUTE_TASK = "recruitment.outbox_execute"
OUTBOX_EXECUTE_BATCH_TASK = "recruitment.outbox_execute_batch"


def activity_record(*, workspace, action, summary, actor=None, actor_label="", study_id=None,
                    data=None):
    """Append one activity entry, in the caller's transaction.

    `actor` is the person who acted; tasks and webhooks pass `actor_label` instead
    ("task:payout_sweeper", "webhook:evt_123").
    """
    if actor is None and not actor_label:
        raise ValueError("An activity entry needs an actor or an actor label.")
    return ActivityEntry.objects.create(
        workspace=workspace,
        actor=actor,
        actor_label=actor_label or actor.display_name,
        action=action,
        summary=ActivityEntry.summary_fitted(summary),
        study_id=study_id,
        data=data or {},
        created_at=clock.now(),
    )


def outbox_key(operation, subject):
    """The deterministic idempotency key of `operation` on `subject` (e.g. a study id)."""
    return uuid.uuid5(OUTBOX_KEY_NAMESPACE, f"{operation}:{subject}")


def outbox_enqueue(*, workspace, operation, subject, payload, study_id=None):
    """Record that `operation` must be performed at User Interviews, once.

    Call inside the transaction of the local change. Enqueuing the same operation on the
    same subject twice returns the first row. A worker is asked to run it after commit;
    if that message is lost, the outbox sweeper picks the row up.
    """
    key = outbox_key(operation, subject)
    row, created = OutboxOperation.objects.get_or_create(
        idempotency_key=key,
        defaults={
            "workspace": workspace,
            "operation": operation,
            "payload": payload,
            "study_id": study_id,
            "next_attempt_at": clock.now(),
            "created_at": clock.now(),
        },
    )
    if created:
        transaction.on_commit(lambda: outbox_dispatch(row.pk))
    return row


def outbox_enqueue_many(*, workspace, operation, items):
    """`outbox_enqueue` for many subjects at once (one insert, one read): `items` is a list
    of (subject, payload, study_id). Returns the rows in the order of `items`; a subject
    already enqueued keeps its first row."""
    now = clock.now()
    keys = [outbox_key(operation, subject) for subject, _, _ in items]
    new = [OutboxOperation(workspace=workspace, operation=operation, payload=payload,
                           study_id=study_id, idempotency_key=key, next_attempt_at=now,
                           created_at=now)
           for key, (_, payload, study_id) in zip(keys, items, strict=True)]
    OutboxOperation.objects.bulk_create(new, ignore_conflicts=True)
    rows = {row.idempotency_key: row for row in OutboxOperation.objects.filter(
        idempotency_key__in=keys)}
    # The ids are made here: a row read back with the id just made is one this call wrote.
    created = [row.pk for row in new if rows[row.idempotency_key].pk == row.pk]
    if created:
        transaction.on_commit(lambda: outbox_dispatch_batch(created))
    return [rows[key] for key in keys]


def _outbox_send(task, argument, what):
    """Send `task` by name (the core imports no app); a broker that is down is logged, and
    the outbox sweeper picks the rows up later."""
    from rally.celery import app

    try:
        app.send_task(task, args=[argument])
    except Exception:
        logging.getLogger(__name__).warning("outbox dispatch failed for %s", what)


def outbox_dispatch(operation_id):
    """Ask a worker to execute one outbox row."""
    _outbox_send(OUTBOX_EXECUTE_TASK, str(operation_id), operation_id)


def outbox_dispatch_batch(operation_ids):
    """Ask one worker to execute these outbox rows in turn: one message for a batch rather
    than one each (the worker claims the rows together and records each answer on its own;
    a lost message leaves the rows to the outbox sweeper)."""
    if len(operation_ids) == 1:
        return outbox_dispatch(operation_ids[0])
    _outbox_send(OUTBOX_EXECUTE_BATCH_TASK, [str(pk) for pk in operation_ids],
                 f"{len(operation_ids)} rows")


# Workspaces ---------------------------------------------------------------------------------

WORKSPACE_NAME_MAX_LENGTH = 120


def _workspace_name_clean(name):
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Enter the workspace's name."})
    if len(name) > WORKSPACE_NAME_MAX_LENGTH:
        raise ValidationError({"name": f"Use at most {WORKSPACE_NAME_MAX_LENGTH} characters."})
    return name


@transaction.atomic
def workspace_create(*, name, admin_email, admin_name="", password=None):
    """A new workspace and its first Admin, the core's part of
    `recruitment.workflows.workspace_create` (which gives it its budget too). Returns the
    membership.

    `manage.py create_workspace` passes no password: an existing person joins, a new one
    gets an account without a password, set through a sign-in link. The sign-up page
    passes the password chosen there, and only a new email may sign up."""
    from rally.models import Workspace

    name = _workspace_name_clean(name)
    email = User.objects.normalize_email((admin_email or "").strip()).lower()
    try:
        from django.core.validators import validate_email

        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid email address."}) from None
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and password is not None:
        raise ValidationError({"email": "There is already an account with this email: sign "
                                        "in, and ask an Admin of your workspace to add you."})
    if password is not None:
        from django.contrib.auth.password_validation import validate_password

        try:
            validate_password(password, User(email=email, name=admin_name))
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from None
    if user is None:
        user = User.objects.create_user(email=email, password=password,
                                        name=admin_name.strip())
    workspace = Workspace.objects.create(name=name)
    membership = Membership.objects.create(user=user, workspace=workspace, role=Role.ADMIN)
    activity_record(workspace=workspace, actor=user, action="workspace.created",
                    summary=f"Created workspace {name}", data={"admin": email})
    return membership


def account_setup_url(user):
    """A one-time link (Django's password-reset token) where `user` chooses a password."""
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    path = reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user)})
    return settings.RALLY_BASE_URL.rstrip("/") + path


@transaction.atomic(durable=True)
def workspace_rename(*, by, name):
    """Admins rename their workspace; the activity log keeps the old name."""
    from rally.models import Workspace

    require(by, Permission.MANAGE_WORKSPACE)
    name = _workspace_name_clean(name)
    workspace = Workspace.objects.select_for_update().get(pk=by.workspace_id)
    old = workspace.name
    if old == name:
        return workspace
    workspace.name = name
    workspace.save(update_fields=["name"])
    activity_record(workspace=workspace, actor=by.user, action="workspace.renamed",
                    summary=f"Renamed the workspace from {old} to {name}",
                    data={"from": old, "to": name})
    return workspace


# Memberships -------------------------------------------------------------------------------


@transaction.atomic
def member_invite(*, by, email, role):
    """Add a person to the inviter's workspace; a new person gets an account to set up."""
    require(by, Permission.MANAGE_MEMBERS)
    email = User.objects.normalize_email(email).strip().lower()
    role = Role(role)
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=email, password=None)
    if Membership.objects.filter(user=user, workspace=by.workspace).exists():
        raise ValidationError({"email": f"{email} is already a member of this workspace."})
    membership = Membership.objects.create(user=user, workspace=by.workspace, role=role)
    activity_record(workspace=by.workspace, actor=by.user, action="member.invited",
                    summary=f"Invited {email} as {role.label}",
                    data={"email": email, "role": role.value})
    return membership, created


def _admins_left(workspace, excluding):
    return (Membership.objects.filter(workspace=workspace, role=Role.ADMIN)
            .exclude(pk=excluding.pk).exists())


@transaction.atomic
def member_change_role(*, by, membership, role):
    require(by, Permission.MANAGE_MEMBERS)
    role = Role(role)
    membership = Membership.objects.select_for_update().get(pk=membership.pk,
                                                            workspace=by.workspace)
    if membership.role == Role.ADMIN and role != Role.ADMIN and not _admins_left(
            by.workspace, membership):
        raise ValidationError("A workspace needs at least one Admin.")
    old = membership.get_role_display()
    membership.role = role
    membership.save(update_fields=["role"])
    activity_record(workspace=by.workspace, actor=by.user, action="member.role_changed",
                    summary=f"Changed {membership.user.email} from {old} to {role.label}",
                    data={"email": membership.user.email, "role": role.value})
    return membership


@transaction.atomic
def member_remove(*, by, membership):
    require(by, Permission.MANAGE_MEMBERS)
    membership = Membership.objects.select_for_update().get(pk=membership.pk,
                                                            workspace=by.workspace)
    if membership.role == Role.ADMIN and not _admins_left(by.workspace, membership):
        raise ValidationError("A workspace needs at least one Admin.")
    email = membership.user.email
    membership.delete()
    activity_record(workspace=by.workspace, actor=by.user, action="member.removed",
                    summary=f"Removed {email}", data={"email": email})


# Account ---------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def account_profile_update(*, user, name, time_zone):
    """A person's own name and time zone (SPEC W6); the zone must be a canonical one."""
    from rally.timezones import is_choosable

    if not is_choosable(time_zone):
        raise ValidationError({"time_zone": "Choose a time zone from the list."})
    User.objects.filter(pk=user.pk).update(name=name.strip()[:150], time_zone=time_zone)
    user.name, user.time_zone = name.strip()[:150], time_zone
    return user


# Sign-in throttling ------------------------------------------------------------------------
#
# Attempts are counted in fixed windows of LOGIN_FAILURE_WINDOW_SECONDS (read from the one
# clock), each a cache counter that Redis increments atomically (ADD then INCR), so parallel
# requests can never all read "not locked yet". An account's attempt is counted *before*
# its password is checked: the limit is how many passwords are ever tried per window,
# however many arrive at once; a successful sign-in clears the account's count. An address
# (an office behind one NAT) counts failures only, at a much higher limit, so one person's
# typos never lock out their colleagues.


def _cache_or(default, operation, *args, **kwargs):
    """A cache call that never takes a request down: Redis is only a cache here, so while
    it is unreachable the sign-in throttle counts nothing (sign-in keeps working, logged)
    rather than answering 500."""
    try:
        return operation(*args, **kwargs)
    except Exception as error:  # the backend's own connection errors (redis, memcached…)
        logging.getLogger(__name__).warning("cache unavailable for the sign-in throttle: %s",
                                            error)
        return default


def _window(now=None):
    seconds = settings.LOGIN_FAILURE_WINDOW_SECONDS
    moment = (now or clock.now()).timestamp()
    index = int(moment // seconds)
    return index, int((index + 1) * seconds - moment) + 1


def _account_key(email, index):
    return f"login:account:{(email or '').strip().lower()}:{index}"


def _address_key(address, index):
    return f"login:address:{address}:{index}"


def _count(key, *, ttl):
    def increment():
        cache.add(key, 0, timeout=ttl)
        try:
            return cache.incr(key)
        except ValueError:  # expired between the two calls: this attempt starts the count
            cache.add(key, 1, timeout=ttl)
            return 1

    return _cache_or(0, increment)


def login_attempt_begin(*, email, address):
    """Count one sign-in attempt for this account; 0 when its password may be checked,
    else the seconds until sign-in is allowed again (the attempt is refused unchecked)."""
    index, left = _window()
    ttl = settings.LOGIN_FAILURE_WINDOW_SECONDS * 2
    failed_here = _cache_or(None, cache.get, _address_key(address, index)) or 0
    if failed_here >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
        return left
    if _count(_account_key(email, index), ttl=ttl) > settings.LOGIN_FAILURE_LIMIT:
        return left
    return 0


def login_failure_record(*, email, address):
    """A password did not match: the address's count grows (the account's already did)."""
    index, _ = _window()
    _count(_address_key(address, index), ttl=settings.LOGIN_FAILURE_WINDOW_SECONDS * 2)


def login_failures_clear(*, email):
    index, _ = _window()
    _cache_or(None, cache.delete, _account_key(email, index))


def login_wait_message(seconds):
    minutes = max(1, round(seconds / 60))
    return (f"Too many failed sign-ins. Try again in {minutes} minute"
            f"{'s' if minutes != 1 else ''}, or reset your password.")


def password_reset_allowed(*, email, address):
    """Whether a reset email may go out: a few per account and a few more per address each
    window, so nobody floods an inbox or probes many accounts from one place."""
    index, _ = _window()
    ttl = settings.LOGIN_FAILURE_WINDOW_SECONDS * 2
    by_address = _count(f"reset:address:{address}:{index}", ttl=ttl)
    by_account = _count(f"reset:account:{(email or '').strip().lower()}:{index}", ttl=ttl)
    return (by_account <= settings.PASSWORD_RESET_ACCOUNT_LIMIT
            and by_address <= settings.PASSWORD_RESET_ADDRESS_LIMIT)


# Participant property definitions ------------------------------------------------------------


def property_define(*, workspace, key, label, type, options=(), is_pii=False):
    """The workspace's property `key`, created when missing (idempotent; an existing
    definition is returned unchanged). Options of select types are labels or {uid, label}."""
    from django.utils.text import slugify

    from rally.models import PropertyDefinition, PropertyType

    key = slugify(key or "").replace("-", "_")
    if not key:
        raise ValidationError({"key": "Enter a key made of letters, digits and underscores."})
    if not (label or "").strip():
        raise ValidationError({"label": "Enter a label."})
    if type not in PropertyType.values:
        raise ValidationError({"type": "Choose one of the listed property types."})
    selectable = type in (PropertyType.SINGLE_SELECT, PropertyType.MULTI_SELECT)
    if selectable and not options:
        raise ValidationError({"options": "A select property needs at least one option."})
    cleaned = []
    for option in options if selectable else ():
        if isinstance(option, dict):
            cleaned.append({"uid": str(option["uid"]), "label": str(option["label"])})
        else:
            cleaned.append({"uid": slugify(str(option)).replace("-", "_"), "label": str(option)})
    definition, _ = PropertyDefinition.objects.get_or_create(
        workspace=workspace, key=key,
        defaults={"label": label.strip(), "type": type, "options": cleaned, "is_pii": is_pii,
                  "created_at": clock.now()})
    return definition
