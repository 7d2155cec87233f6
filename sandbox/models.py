"""The sandbox's own state: what User Interviews would hold for Rally's account.

Ids are opaque prefixed strings, as UI's are. Money is integer cents because that is the
unit UI speaks on the wire; the sandbox never does arithmetic on it beyond sums.
Timestamps are written from `rally.clock.now()` (never auto_now) so the test clock moves them.
"""

import uuid
from functools import partial

from django.db import models


def new_id(prefix):
    return f"{prefix}_{uuid.uuid4().hex}"


def _id_field(prefix):
    return models.CharField(primary_key=True, max_length=40, editable=False,
                            default=partial(new_id, prefix))


class ApiKey(models.Model):
    key = models.CharField(max_length=200, unique=True)
    name = models.CharField(max_length=100, blank=True)
    # None: the SANDBOX_RATE_LIMIT_* settings apply
    rate_per_minute = models.PositiveIntegerField(null=True, blank=True)
    burst = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    def __str__(self):
        return self.name or self.key[:6]


class RateBucket(models.Model):
    """A token bucket per API key, shared by every process through the database."""

    key = models.CharField(max_length=200, primary_key=True)
    tokens = models.FloatField()
    refilled_at = models.DateTimeField()
    granted = models.BooleanField(default=True)  # whether the last request got a token

    def __str__(self):
        return self.key


class IdempotencyRecord(models.Model):
    class State(models.TextChoices):
        RUNNING = "running"
        DONE = "done"

    api_key = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    status_code = models.PositiveSmallIntegerField(null=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"],
                                               name="sandbox_idempotency_unique_key")]

    def __str__(self):
        return self.key


class Fault(models.Model):
    """An injected failure for the next `remaining` requests whose path matches."""

    class Timeout(models.TextChoices):
        NONE = ""
        BEFORE = "before"  # hang without applying the request
        AFTER = "after"  # apply the request, then hang

    path = models.CharField(max_length=300)
    method = models.CharField(max_length=10, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    timeout = models.CharField(max_length=10, choices=Timeout.choices, blank=True)
    remaining = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    def __str__(self):
        return self.path


class Recruit(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        PENDING_REVIEW = "pending_review"
        RECRUITING = "recruiting"
        PAUSED = "paused"
        FILLED = "filled"
        DECLINED = "declined"
        CLOSED = "closed"

    class StudyType(models.TextChoices):
        INTERVIEW = "interview"
        GROUP_INTERVIEW = "group_interview"
        UNMODERATED_TASK = "unmoderated_task"

    id = _id_field("rec")
    external_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    internal_name = models.CharField(max_length=200, blank=True)
    public_title = models.CharField(max_length=200, blank=True)
    public_description = models.TextField(blank=True)
    study_type = models.CharField(max_length=20, choices=StudyType.choices)
    num_participants = models.PositiveIntegerField()
    duration_minutes = models.PositiveIntegerField()
    compensation_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    require_approval = models.BooleanField(default=True)
    timezone = models.CharField(max_length=64, default="UTC")
    audience = models.JSONField()
    screener_questions = models.JSONField(default=list)
    screener_version = models.PositiveIntegerField(default=1)
    scheduling_url = models.URLField(max_length=1000, blank=True)
    task_url = models.URLField(max_length=1000, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    declined_reason = models.TextField(blank=True)
    reach = models.PositiveIntegerField(default=0)
    billing = models.JSONField(null=True, blank=True)
    population_seed = models.PositiveIntegerField(default=0)
    members_drawn = models.PositiveIntegerField(default=0)
    arrival_credit = models.FloatField(default=0.0)
    arrivals_checked_at = models.DateTimeField(null=True, blank=True)
    # Rally closes intake when its participation limit is reached: no applicants arrive.
    intake_open = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.internal_name or self.id

    @property
    def compensation_display(self):
        return f"{self.compensation_cents // 100}.{self.compensation_cents % 100:02d}"


class Applicant(models.Model):
    class Status(models.TextChoices):
        APPLIED = "applied"
        APPROVED = "approved"
        REJECTED = "rejected"
        SCHEDULED = "scheduled"
        SUBMITTED = "submitted"
        COMPLETED = "completed"
        NO_SHOW = "no_show"
        CANCELED = "canceled"
        WITHDRAWN = "withdrawn"

    class Source(models.TextChoices):
        PANEL = "panel"
        DIRECT_LINK = "direct_link"

    class Qualification(models.TextChoices):
        MANUAL_REVIEW = "manual_review"
        UNQUALIFIED = "unqualified"

    id = _id_field("app")
    recruit = models.ForeignKey(Recruit, on_delete=models.CASCADE, related_name="applicants")
    participant_id = models.CharField(max_length=40, default=partial(new_id, "par"))
    first_name = models.CharField(max_length=100)
    last_initial = models.CharField(max_length=1)
    country = models.CharField(max_length=2)
    us_state = models.CharField(max_length=2, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    screener_version = models.PositiveIntegerField()
    screener_responses = models.JSONField(default=list)
    matched_criteria = models.JSONField(default=list)
    unmet_criteria = models.JSONField(default=list)
    qualification = models.CharField(max_length=20, choices=Qualification.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.APPLIED)
    rejection_reason = models.TextField(blank=True)
    invitation_url = models.URLField(max_length=2000, blank=True)
    applied_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["applied_at", "id"]
        indexes = [models.Index(fields=["recruit", "updated_at"])]

    def __str__(self):
        return f"{self.first_name} {self.last_initial}."


class Session(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        COMPLETED = "completed"
        NO_SHOW = "no_show"
        CANCELED = "canceled"

    id = _id_field("ses")
    recruit = models.ForeignKey(Recruit, on_delete=models.CASCADE, related_name="sessions")
    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="sessions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    group_session_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self):
        return self.id


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        PAID = "paid"
        FAILED = "failed"
        CANCELED = "canceled"

    class Trigger(models.TextChoices):
        MANUAL = "manual"
        AUTO_24H = "auto_24h"

    id = _id_field("pay")
    external_id = models.CharField(max_length=200, unique=True)
    recruit = models.ForeignKey(Recruit, on_delete=models.CASCADE, related_name="payments")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="payments")
    applicant = models.ForeignKey(Applicant, on_delete=models.CASCADE, related_name="payments")
    amount_cents = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="USD")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    provider_order_id = models.CharField(max_length=40, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One live payment per session: a second externalId for a paid session is refused.
            models.UniqueConstraint(fields=["session"],
                                    condition=~models.Q(status__in=["failed", "canceled"]),
                                    name="sandbox_one_live_payment_per_session"),
        ]

    def __str__(self):
        return self.id

    @property
    def amount_display(self):
        return f"{self.amount_cents // 100}.{self.amount_cents % 100:02d}"


class WebhookSubscription(models.Model):
    id = _id_field("whs")
    url = models.URLField(max_length=1000)
    event_types = models.JSONField(default=list)
    # [{"secret": "...", "expiresAt": iso | None}], newest first
    secrets = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.url


class WebhookEvent(models.Model):
    id = _id_field("evt")
    type = models.CharField(max_length=50)
    envelope = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.id


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = _id_field("whd")
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE,
                                     related_name="deliveries")
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return self.id
