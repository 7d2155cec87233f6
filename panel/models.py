"""The panel's own rows: the workspace's contact rules and the invitations Rally emailed.

An invitation is the promise Rally made to one panel person for one study: its email is sent
after the commit that created it (`email_sent_at` marks it done, the sweeper re-sends a lost
one) and its signed links lead to the hosted screener and to the unsubscribe page. When the
application it led to is invited to book, the booking link follows by email
(`booking_email_sent_at`).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

#: The rules a workspace starts with (Admins change them under "Panel rules").
DEFAULT_RECENT_CONTACT_DAYS = 14
DEFAULT_MAX_STUDIES_PER_90_DAYS = 3
RULE_WINDOW_DAYS = 90
#: Sends of one invitation email before it is shown as failed (the sweeper stops trying).
EMAIL_MAX_ATTEMPTS = 5


class PanelRules(models.Model):
    """How often the workspace may contact a panel person (issue 9, governance).

    Either rule may be off (null). Flagged people are skipped when inviting unless an Admin
    or Ops Manager overrides, with a reason.
    """

    workspace = models.OneToOneField("rally.Workspace", on_delete=models.CASCADE,
                                     related_name="panel_rules")
    recent_contact_days = models.PositiveSmallIntegerField(
        null=True, blank=True, default=DEFAULT_RECENT_CONTACT_DAYS)
    max_studies_per_90_days = models.PositiveSmallIntegerField(
        null=True, blank=True, default=DEFAULT_MAX_STUDIES_PER_90_DAYS)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "panel rules"
        constraints = [
            models.CheckConstraint(
                condition=Q(recent_contact_days__isnull=True)
                | Q(recent_contact_days__gte=1, recent_contact_days__lte=365),
                name="panel_rules_recent_days_1_to_365"),
            models.CheckConstraint(
                condition=Q(max_studies_per_90_days__isnull=True)
                | Q(max_studies_per_90_days__gte=1, max_studies_per_90_days__lte=100),
                name="panel_rules_max_studies_1_to_100"),
        ]

    def __str__(self):
        return f"Panel rules of {self.workspace_id}"


class PanelInvitation(models.Model):
    """One panel person invited by email to one study's hosted screener (at most once)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("rally.Workspace", on_delete=models.CASCADE,
                                  related_name="+")
    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE,
                              related_name="panel_invitations")
    participant = models.ForeignKey("participants.Participant", on_delete=models.CASCADE,
                                    related_name="panel_invitations")
    # The application the hosted screener created (None until the person applies).
    application = models.OneToOneField("participants.Application", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    override_reason = models.CharField(max_length=500, blank=True)
    email_subject = models.CharField(max_length=200)
    email_sent_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=500, blank=True)
    # Once the person is invited to book (qualified by the screener or by a reviewer), Rally
    # emails them the booking link, once.
    booking_email_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["study", "participant"],
                                    name="panel_invitation_once_per_study"),
        ]
        indexes = [
            # The sweeper's query: emails not sent yet.
            models.Index(fields=["created_at"], condition=Q(email_sent_at__isnull=True),
                         name="panel_invitation_unsent"),
        ]

    def __str__(self):
        return f"Invitation of {self.participant_id} to {self.study_id}"

    @property
    def email_failed(self):
        return self.email_sent_at is None and self.email_attempts >= EMAIL_MAX_ATTEMPTS
