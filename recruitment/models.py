"""A study's recruitment at User Interviews, and the webhooks UI sends about it."""

import uuid

from django.db import models

from rally.fields import EncryptedTextField


class Recruitment(models.Model):
    """The recruit at UI that fills one study, as Rally last saw it."""

    class State(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        STARTING = "starting", "Starting"
        PENDING_REVIEW = "pending_review", "In review at User Interviews"
        RECRUITING = "recruiting", "Recruiting"
        FILLED = "filled", "Filled"
        PAUSED = "paused", "Paused"
        DECLINED = "declined", "Declined by User Interviews"
        FAILED = "failed", "Failed to start"
        CLOSED = "closed", "Closed"

    # Written once: every state change goes through `can_become`. UI may skip states Rally
    # never heard of (a lost webhook), so a live state can reach any later live state.
    TRANSITIONS = {
        State.NOT_STARTED: {State.STARTING, State.CLOSED},
        State.STARTING: {State.PENDING_REVIEW, State.RECRUITING, State.FILLED, State.PAUSED,
                         State.DECLINED, State.FAILED, State.CLOSED},
        State.PENDING_REVIEW: {State.RECRUITING, State.FILLED, State.PAUSED, State.DECLINED,
                               State.FAILED, State.CLOSED},
        State.RECRUITING: {State.FILLED, State.PAUSED, State.CLOSED},
        State.FILLED: {State.RECRUITING, State.PAUSED, State.CLOSED},
        State.PAUSED: {State.RECRUITING, State.FILLED, State.CLOSED},
        # A declined or failed start can be fixed and started again (a new recruit at UI).
        State.FAILED: {State.STARTING, State.CLOSED},
        State.DECLINED: {State.STARTING},
        State.CLOSED: set(),
    }
    #: States in which UI may still change things Rally must hear about (the poller's set).
    LIVE_STATES = (State.STARTING, State.PENDING_REVIEW, State.RECRUITING, State.FILLED,
                   State.PAUSED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.OneToOneField("studies.Study", on_delete=models.CASCADE,
                                 related_name="recruitment")
    ui_recruit_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.NOT_STARTED)
    # "Start Recruitment" counts its attempts; each attempt is a recruit of its own at UI.
    start_attempts = models.PositiveIntegerField(default=0)
    application_url = models.URLField(max_length=500, blank=True)
    declined_reason = models.TextField(blank=True)
    failure_reason = models.TextField(blank=True)
    # UI's updatedAt of the recruit last applied: an older copy never overwrites a newer one.
    ui_updated_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    # "Request start": a teammate who may not start asked those who may (SPEC N1); cleared
    # when recruitment starts.
    start_requested_by = models.ForeignKey("rally.User", null=True, blank=True,
                                           on_delete=models.SET_NULL, related_name="+")
    start_requested_at = models.DateTimeField(null=True, blank=True)
    # When the team was told about the current sync problem (cleared once it is over), so a
    # problem lasting hours is one notification, not one every check.
    sync_problem_notified_at = models.DateTimeField(null=True, blank=True)
    # The poller asks UI for what changed since this (minus a safety margin).
    updated_since = models.DateTimeField(null=True, blank=True)
    # A poller holds the recruitment until then, so two pollers never sync one recruit.
    poll_claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["state"])]

    def __str__(self):
        return f"recruitment of {self.study_id} ({self.state})"

    def can_become(self, state):
        return state == self.state or state in self.TRANSITIONS[self.State(self.state)]


class WebhookEvent(models.Model):
    """One event UI sent, stored before any work so a duplicate delivery is recognised.

    "Processed" is what counts: a delivery of an event that failed to process is processed
    again; a delivery of a processed one is acknowledged and ignored.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The workspace whose subscription received it (none: the development receiver).
    workspace = models.ForeignKey("rally.Workspace", null=True, blank=True,
                                  on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=80)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    deliveries = models.PositiveIntegerField(default=1)
    processed_at = models.DateTimeField(null=True, blank=True)
    # A worker processing the event holds it until then (no two workers on one event).
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["processed_at", "received_at"])]
        constraints = [
            # Once per workspace: UI's event ids are unique within an account.
            models.UniqueConstraint(fields=["workspace", "event_id"], nulls_distinct=False,
                                    name="webhook_event_once_per_workspace"),
        ]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class WebhookEndpoint(models.Model):
    """Rally's subscription at UI: where UI delivers, and the secrets it signs with
    (encrypted at rest). During a rotation both the new and the previous secret verify.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The workspace whose account subscribed (none: the development receiver).
    workspace = models.ForeignKey("rally.Workspace", null=True, blank=True,
                                  on_delete=models.CASCADE, related_name="+")
    ui_subscription_id = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self):
        return f"webhook subscription {self.ui_subscription_id}"

    @property
    def secrets(self):
        return [secret for secret in (self.secret, self.previous_secret) if secret]


class UIConnection(models.Model):
    """A workspace's own User Interviews account: its API key (encrypted at rest) and what
    the last "Test connection" found. Every call to UI for the workspace uses this key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.OneToOneField("rally.Workspace", on_delete=models.CASCADE,
                                     related_name="ui_connection")
    api_key = EncryptedTextField()
    # The key's last four characters, so people can tell which key is in use.
    api_key_hint = models.CharField(max_length=4, blank=True)
    tested_at = models.DateTimeField(null=True, blank=True)
    test_ok = models.BooleanField(null=True)
    test_message = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    def __str__(self):
        return f"User Interviews account of {self.workspace_id}"
