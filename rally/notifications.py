"""Notifications' delivery (SPEC N1): the core writes, lists and emails them; the domain apps
say who is told what.

Writing happens in the caller's transaction, in a constant number of queries however many
people or applicants are involved (one read of the recipients' email preferences, one
insert). Email never leaves inside a request: a row due for email is claimed by a worker
(`notification_emails_send_due`, run after commit and by the beat every minute), sent
outside any transaction, then marked; a failed send is retried with a growing delay and
ends visibly `failed` after `EMAIL_MAX_ATTEMPTS`. A daily digest is one email a person.
"""

import json
import logging
import uuid
from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from rally import clock
from rally.models import (
    EmailDelivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    User,
)
from rally.timezones import zone_or_default

logger = logging.getLogger(__name__)

SEND_TASK = "rally.notification_emails_send"
#: Email for each kind, unless a person chose otherwise in Account settings.
DEFAULT_EMAIL = EmailDelivery.IMMEDIATELY
#: The daily digest leaves at this local hour of each recipient.
DIGEST_HOUR = 8
EMAIL_MAX_ATTEMPTS = 5
EMAIL_CLAIM = timedelta(minutes=5)
SEND_BATCH = 200

Kind = NotificationKind


def _user_ids(recipients):
    """Users, memberships or ids in, unique user ids out (order kept, None dropped)."""
    ids = []
    for each in recipients:
        if each is None:
            continue
        pk = getattr(each, "user_id", None) or getattr(each, "pk", None) or each
        pk = uuid.UUID(str(pk))
        if pk not in ids:
            ids.append(pk)
    return ids


def workspace_people(workspace, permission):
    """Ids of the workspace's people whose role allows `permission` everywhere in it (for
    events that belong to no team: money, budgets). One query."""
    from rally.models import Membership

    return [member.user_id for member in Membership.objects.filter(
        workspace_id=getattr(workspace, "pk", workspace)).only("user_id", "role")
        if member.allows(permission)]


def next_digest_at(now, zone_name):
    """The next DIGEST_HOUR o'clock in the recipient's zone, after `now`."""
    zone = ZoneInfo(zone_or_default(zone_name))
    local = now.astimezone(zone)
    due = datetime.combine(local.date(), time(DIGEST_HOUR), tzinfo=zone)
    if due <= local:
        due = datetime.combine(local.date() + timedelta(days=1), time(DIGEST_HOUR),
                               tzinfo=zone)
    return due


def _deliveries(user_ids, kind):
    """(user id, time zone, chosen email delivery) of active recipients: one query."""
    chosen = NotificationPreference.objects.filter(user=OuterRef("pk"), kind=kind)
    return list(User.objects.filter(pk__in=user_ids, is_active=True)
                .annotate(chosen=Subquery(chosen.values("email")[:1]))
                .values_list("pk", "time_zone", "chosen"))


def _email_plan(delivery, zone, now):
    delivery = delivery or DEFAULT_EMAIL
    if delivery == EmailDelivery.IMMEDIATELY:
        return delivery, Notification.EmailStatus.PENDING, now
    if delivery == EmailDelivery.DAILY:
        return delivery, Notification.EmailStatus.PENDING, next_digest_at(now, zone)
    return delivery, Notification.EmailStatus.NONE, None


def notify(*, workspace, kind, recipients, text, link, study_id=None, data=None,
           exclude=()):
    """Tell each of `recipients` (users, memberships or ids) about one event.

    `exclude` drops people who need no telling (the person who acted). Returns how many
    notifications were written. Call inside the transaction of the change.
    """
    excluded = set(_user_ids(exclude))
    user_ids = [pk for pk in _user_ids(recipients) if pk not in excluded]
    if not user_ids:
        return 0
    now = clock.now()
    rows = []
    for user_id, zone, chosen in _deliveries(user_ids, kind):
        delivery, status, due = _email_plan(chosen, zone, now)
        rows.append(Notification(
            workspace_id=getattr(workspace, "pk", workspace), recipient_id=user_id, kind=kind,
            study_id=study_id, text=_fit(text), link=link, data=data or {}, created_at=now,
            updated_at=now, email_delivery=delivery, email_status=status, email_due_at=due))
    Notification.objects.bulk_create(rows)
    _send_after_commit(rows)
    return len(rows)


def _fit(text):
    limit = Notification._meta.get_field("text").max_length
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


_BATCH_SQL = """
INSERT INTO rally_notification
    (id, workspace_id, recipient_id, kind, study_id, text, link, data, group_key, count,
     created_at, updated_at, email_delivery, email_status, email_due_at, email_attempts,
     email_error)
SELECT gen_random_uuid(), %s, row.recipient_id, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s,
       row.delivery, row.status, row.due, 0, ''
FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::timestamptz[])
    AS row(recipient_id, delivery, status, due)
ON CONFLICT (recipient_id, group_key)
    WHERE read_at IS NULL AND emailed_at IS NULL AND NOT group_key = ''
DO UPDATE SET count = rally_notification.count + EXCLUDED.count,
              updated_at = EXCLUDED.updated_at,
              data = EXCLUDED.data
RETURNING id, email_status, email_delivery
"""


def notify_batched(*, workspace, kind, recipients, group_key, count, link, text="",
                   study_id=None, data=None):
    """Count `count` more of one batched event (new applicants of a study) into each
    recipient's open notification for `group_key`, or open one: a thousand applicants in
    one sync, or a hundred webhooks in an hour, make one notification a person, written in
    two queries whatever the numbers."""
    user_ids = _user_ids(recipients)
    if not user_ids or count <= 0:
        return 0
    now = clock.now()
    plans = [(user_id, *_email_plan(chosen, zone, now))
             for user_id, zone, chosen in _deliveries(user_ids, kind)]
    if not plans:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_BATCH_SQL, [
            getattr(workspace, "pk", workspace), kind, study_id, _fit(text), link,
            json.dumps(data or {}), group_key, count, now, now,
            [plan[0] for plan in plans], [str(plan[1]) for plan in plans],
            [str(plan[2]) for plan in plans], [plan[3] for plan in plans]])
        written = cursor.fetchall()
    if any(status == Notification.EmailStatus.PENDING and delivery == EmailDelivery.IMMEDIATELY
           for _, status, delivery in written):
        transaction.on_commit(notification_emails_dispatch)
    return len(written)


def _send_after_commit(rows):
    if any(row.email_delivery == EmailDelivery.IMMEDIATELY for row in rows):
        transaction.on_commit(notification_emails_dispatch)


def notification_emails_dispatch():
    """Ask a worker to send what is due; a broker that is down is logged, and the beat's
    sweep sends it within a minute."""
    from rally.celery import app

    try:
        app.send_task(SEND_TASK)
    except Exception:
        logger.warning("notification email dispatch failed; the sweep sends them")


# Reading and marking -------------------------------------------------------------------------


def notifications_for(*, user, workspace, limit=50):
    return list(Notification.objects.filter(recipient=user, workspace=workspace)
                .order_by("-updated_at")[:limit])


def unread_count(*, user, workspace):
    return Notification.objects.filter(recipient=user, workspace=workspace,
                                       read_at__isnull=True).count()


def notification_get_for_user(*, user, workspace, notification_id):
    from django.http import Http404

    try:
        return Notification.objects.get(pk=notification_id, recipient=user,
                                         workspace=workspace)
    except (Notification.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def notification_mark_read(*, notification):
    """Read once: a second mark keeps the first time."""
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=clock.now())


def notifications_mark_all_read(*, user, workspace):
    return Notification.objects.filter(recipient=user, workspace=workspace,
                                       read_at__isnull=True).update(read_at=clock.now())


# Preferences ---------------------------------------------------------------------------------


def preferences_for(user):
    """{kind: email delivery} for every kind, the defaults filled in."""
    chosen = dict(NotificationPreference.objects.filter(user=user).values_list("kind", "email"))
    return {kind: chosen.get(kind, DEFAULT_EMAIL) for kind in Kind.values}


@transaction.atomic
def preferences_save(*, user, choices):
    """Store `choices` ({kind: delivery}); an unknown kind or delivery changes nothing."""
    from django.core.exceptions import ValidationError

    for kind, delivery in choices.items():
        if kind not in Kind.values or delivery not in EmailDelivery.values:
            raise ValidationError("Choose Off, Immediately or Daily digest for each kind.")
    for kind, delivery in choices.items():
        NotificationPreference.objects.update_or_create(user=user, kind=kind,
                                                        defaults={"email": delivery})


# Email ---------------------------------------------------------------------------------------


def _claim_due(now, limit):
    with transaction.atomic():
        ids = list(Notification.objects.select_for_update(skip_locked=True)
                   .filter(Q(email_claimed_until__isnull=True) | Q(email_claimed_until__lte=now),
                           email_status=Notification.EmailStatus.PENDING,
                           email_due_at__lte=now)
                   .order_by("email_due_at").values_list("pk", flat=True)[:limit])
        Notification.objects.filter(pk__in=ids).update(email_claimed_until=now + EMAIL_CLAIM)
    return ids


def _absolute(path):
    return settings.RALLY_BASE_URL.rstrip("/") + path


def _email(recipient, notifications, *, digest):
    """One message to one person: a single notification, or the day's digest."""
    zone = ZoneInfo(zone_or_default(recipient.time_zone))
    with timezone.override(zone):
        items = [{"headline": n.headline, "link": _absolute(n.link),
                  "workspace": n.workspace.name, "when": timezone.localtime(n.updated_at)}
                 for n in notifications]
        context = {"recipient": recipient, "items": items, "digest": digest,
                   "settings_link": _absolute(reverse("account_settings")),
                   "dashboard_link": _absolute(reverse("home"))}
        text = render_to_string("rally/notification_email.txt", context)
        html = render_to_string("rally/notification_email.html", context)
    if digest:
        plural = "s" if len(items) != 1 else ""
        subject = f"Rally: your daily digest ({len(items)} update{plural})"
    else:
        subject = f"Rally: {items[0]['headline']}"
    message = EmailMultiAlternatives(subject=subject[:180], body=text,
                                     from_email=settings.DEFAULT_FROM_EMAIL,
                                     to=[recipient.email])
    message.attach_alternative(html, "text/html")
    return message


def _retry_at(now, attempts):
    return now + timedelta(minutes=2 ** min(attempts, 6))


def _record(ids, *, now, error=None):
    rows = Notification.objects.filter(pk__in=ids)
    if error is None:
        rows.update(email_status=Notification.EmailStatus.SENT, emailed_at=now,
                    email_claimed_until=None, email_error="")
        return
    for row in rows:
        row.email_attempts += 1
        row.email_error = error[:2000]
        row.email_claimed_until = None
        if row.email_attempts >= EMAIL_MAX_ATTEMPTS:
            row.email_status = Notification.EmailStatus.FAILED
        else:
            row.email_due_at = _retry_at(now, row.email_attempts)
        row.save(update_fields=["email_attempts", "email_error", "email_claimed_until",
                                "email_status", "email_due_at"])


def notification_emails_send_due(*, now=None, limit=SEND_BATCH):
    """Send every email that is due: one per immediate notification, one digest per person
    for the daily ones (notifications already read in the app are left out of a digest).
    Returns how many emails were sent."""
    now = now or clock.now()
    ids = _claim_due(now, limit)
    if not ids:
        return 0
    rows = list(Notification.objects.filter(pk__in=ids)
                .select_related("recipient", "workspace").order_by("updated_at"))
    messages = []
    digests = defaultdict(list)
    for row in rows:
        if row.email_delivery == EmailDelivery.DAILY:
            digests[row.recipient_id].append(row)
        else:
            messages.append((row.recipient, [row], False))
    read = []
    for group in digests.values():
        unread = [row for row in group if row.read_at is None]
        read += [row.pk for row in group if row.read_at is not None]
        if unread:
            messages.append((group[0].recipient, unread, True))
    if read:
        Notification.objects.filter(pk__in=read).update(
            email_status=Notification.EmailStatus.SKIPPED, email_claimed_until=None)
    sent = 0
    for recipient, group, digest in messages:
        group_ids = [row.pk for row in group]
        try:
            _email(recipient, group, digest=digest).send()
        except Exception as error:  # SMTP refusals, timeouts: retried later, then failed
            logger.warning("notification email to %s failed: %s", recipient.pk, error)
            _record(group_ids, now=now, error=f"{type(error).__name__}: {error}")
        else:
            _record(group_ids, now=now)
            sent += 1
    return sent
