"""Core rows: people, workspaces, roles, the activity log, the test clock and the outbox."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower

from rally.permissions import Role


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("Every user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with an email address."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    time_zone = models.CharField(max_length=64, default="America/New_York")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(auto_now_add=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        return self.name or self.email


class Workspace(models.Model):
    """A team's space: members, budgets, studies and participants live inside one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A person's one role in one workspace."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique"),
        ]
        ordering = ["workspace__name"]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} of {self.workspace}"

    def allows(self, permission, *, on_team=False):
        return self.role_enum.allows(permission, on_team=on_team)

    @property
    def role_enum(self):
        return Role(self.role)


class ActivityEntry(models.Model):
    """One thing that happened, with who did it. Append-only: the database refuses changes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.PROTECT, related_name="+")
    # The person who acted, or none when a task or a webhook did (actor_label says which).
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=80)  # namespaced: "study.published", "budget.funds_added"
    # The study the entry concerns, when it concerns one (the study page lists these).
    study_id = models.UUIDField(null=True, blank=True)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"]),
            models.Index(fields=["study_id", "-created_at"]),
        ]
        verbose_name_plural = "activity entries"

    #: Action namespaces whose entries carry money figures (SPEC W2): funds, reservations,
    #: fees, incentives, releases, receipts (billing.*) and incentive payouts (payout.*).
    #: Such an entry is shown only to people who may read its study's figures (its
    #: `study_id`; none: the workspace's budgets). `rally.selectors.activity_feed` filters.
    MONEY_NAMESPACES = ("billing.", "payout.")

    def __str__(self):
        return f"{self.action} by {self.actor_label}"

    @property
    def carries_money(self):
        return self.action.startswith(self.MONEY_NAMESPACES)

    @classmethod
    def carries_money_q(cls):
        """The entries that carry money, as a filter."""
        condition = models.Q(pk__in=[])
        for namespace in cls.MONEY_NAMESPACES:
            condition |= models.Q(action__startswith=namespace)
        return condition

    @classmethod
    def summary_fitted(cls, summary):
        """A summary names what changed (study names, team members, reasons) and can outgrow
        its column; the whole change is kept in `data`, so the sentence is shortened with an
        ellipsis, never refused."""
        limit = cls._meta.get_field("summary").max_length
        return summary if len(summary) <= limit else summary[:limit - 1].rstrip() + "…"

    @property
    def actor_display(self):
        """Who acted, in words a person reads: a name, or what a machine actor stands for."""
        return actor_display(user_id=self.actor_id, label=self.actor_label)


def actor_display(*, user_id, label):
    """Who acted, in words a person reads (activity, ledger history): a person's name, or
    what a machine actor stands for — "webhook:evt_…" is news from "User Interviews",
    "task:payout_sweeper" is "Rally (automatic)". Never an internal id or a task name."""
    if user_id or ":" not in label:
        return label
    kind, _, name = label.partition(":")
    if kind == "participant":  # "participant:Jordan P." is Jordan P.
        return name or "A participant"
    return {"webhook": "User Interviews", "task": "Rally (automatic)",
            "sandbox": "Sandbox"}.get(kind, label)


class TestClock(models.Model):
    """The sandbox's test clock: how far Rally's "now" runs ahead of the wall clock.

    One row at most. Read only when the sandbox is enabled (rally.clock).
    """

    __test__ = False  # not a pytest test class

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    offset_seconds = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"test clock +{self.offset_seconds}s"


class OutboxOperation(models.Model):
    """An operation Rally intends to perform at User Interviews.

    Written in the same transaction as the local change it belongs to; executed by a worker
    after commit; a sweeper re-sends what was left pending. The idempotency key is derived
    from the operation and the local object, so retries always reuse it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    study_id = models.UUIDField(null=True, blank=True)
    operation = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    idempotency_key = models.UUIDField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["study_id", "created_at"]),
        ]

    def __str__(self):
        return f"{self.operation} ({self.status})"


class PropertyType(models.TextChoices):
    TEXT = "text", "Text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    BOOLEAN = "boolean", "Yes / no"
    SINGLE_SELECT = "single_select", "Single select"
    MULTI_SELECT = "multi_select", "Multi select"


class PropertyDefinition(models.Model):
    """A participant property the workspace keeps (SPEC Q3, P6): "Job title", "Company size".

    Only the definition lives here; participants' values and the pages that manage
    definitions belong to the panel. Screener questions map their answers to a definition.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE,
                                  related_name="property_definitions")
    key = models.SlugField(max_length=60)
    label = models.CharField(max_length=120)
    type = models.CharField(max_length=20, choices=PropertyType.choices)
    # Select types: [{"uid": ..., "label": ...}]; empty for the others.
    options = models.JSONField(default=list, blank=True)
    is_pii = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"],
                                    name="property_definition_key_unique"),
        ]

    def __str__(self):
        return self.label


class NotificationKind(models.TextChoices):
    """What a notification is about (SPEC N1); each person chooses per kind how email comes."""

    APPLICANTS = "applicants", "New applicants to review"
    SESSION_BOOKED = "session_booked", "Session booked"
    SESSION_RESCHEDULED = "session_rescheduled", "Session rescheduled"
    SESSION_CANCELED = "session_canceled", "Session canceled"
    START_REQUESTED = "start_requested", "Study waiting to start"
    RECRUITMENT_LAUNCHED = "recruitment_launched", "Recruitment launched at User Interviews"
    RECRUITMENT_DECLINED = "recruitment_declined", "Recruitment declined by User Interviews"
    LIMIT_REACHED = "limit_reached", "Participation limit reached"
    PAYOUT_FAILED = "payout_failed", "Payout failed"
    BUDGET_SHORT = "budget_short", "Budget cannot cover a study"
    SYNC_PROBLEM = "sync_problem", "Sync problem with User Interviews"


class EmailDelivery(models.TextChoices):
    OFF = "off", "Off"
    IMMEDIATELY = "immediately", "Immediately"
    DAILY = "daily", "Daily digest"


class Notification(models.Model):
    """Something one person should know or act on, shown in the bell and perhaps emailed.

    Written by the domain apps through `rally.notifications` in the transaction of the change;
    emails are sent by workers afterwards (`email_due_at`), never inside a request. A batched
    kind (new applicants) keeps one open row per person and study and counts up.
    """

    class EmailStatus(models.TextChoices):
        NONE = "none", "Not emailed"
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Not needed"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    study_id = models.UUIDField(null=True, blank=True)
    # The sentence a person reads; batched kinds say it from `count` and `data` instead.
    text = models.CharField(max_length=300)
    # Where the work is done (a path inside Rally).
    link = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    # Batched kinds: the open row of one person and subject that later events count into.
    group_key = models.CharField(max_length=120, blank=True)
    count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    email_delivery = models.CharField(max_length=12, choices=EmailDelivery.choices)
    email_status = models.CharField(max_length=10, choices=EmailStatus.choices)
    email_due_at = models.DateTimeField(null=True, blank=True)
    # A worker sending the email holds the row until then (no two workers send one email).
    email_claimed_until = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.TextField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["recipient", "workspace", "-updated_at"]),
            models.Index(fields=["email_status", "email_due_at"]),
            models.Index(fields=["recipient", "workspace"], name="notification_unread",
                         condition=models.Q(read_at__isnull=True)),
        ]
        constraints = [
            # At most one open (unread, not yet emailed) row per person and batch.
            models.UniqueConstraint(
                fields=["recipient", "group_key"], name="notification_open_batch_unique",
                condition=models.Q(read_at__isnull=True, emailed_at__isnull=True)
                & ~models.Q(group_key="")),
        ]

    def __str__(self):
        return f"{self.kind} for {self.recipient_id}"

    @property
    def headline(self):
        if self.kind == NotificationKind.APPLICANTS:
            plural = "s" if self.count != 1 else ""
            return (f"{self.count} new applicant{plural} to review in "
                    f"“{self.data.get('study', '')}”")
        if self.kind == NotificationKind.PAYOUT_FAILED and self.count > 1:
            return f"{self.count} incentive payments failed"
        if "{when}" in self.text and self.data.get("when"):
            # A time is said in the reader's zone (the active one: the page's or the email's).
            from datetime import datetime

            from rally.timezones import moment_words

            when = moment_words(datetime.fromisoformat(self.data["when"]))
            return self.text.replace("{when}", when)
        return self.text

    @property
    def is_unread(self):
        return self.read_at is None


class NotificationPreference(models.Model):
    """How one person wants email for one kind of notification (the bell shows them all)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    email = models.CharField(max_length=12, choices=EmailDelivery.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"],
                                               name="notification_preference_unique")]

    def __str__(self):
        return f"{self.user_id} {self.kind}: {self.email}"
