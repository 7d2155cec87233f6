"""People who take part in studies and their application to each study.

A User Interviews participant is known to Rally by UI's id, first name and last initial
only: UI shares no email or calendar, and Rally stores none for them (SPEC P5; a check
constraint holds it). Panel people (the workspace's own panel) come later with email.
"""

import uuid

from django.db import models
from django.db.models import Q


class Participant(models.Model):
    class Kind(models.TextChoices):
        EXTERNAL = "external", "User Interviews"
        PANEL = "panel", "Rally panel"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("rally.Workspace", on_delete=models.CASCADE,
                                  related_name="participants")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.EXTERNAL)
    ui_participant_id = models.CharField(max_length=100, null=True, blank=True)
    first_name = models.CharField(max_length=150)
    last_initial = models.CharField(max_length=10, blank=True)
    # Panel people only; UI participants never have one (SPEC P5).
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "ui_participant_id"],
                                    name="participant_ui_id_unique_per_workspace"),
            models.CheckConstraint(condition=~Q(kind="external") | Q(email=""),
                                   name="participant_external_has_no_email"),
            models.CheckConstraint(
                condition=~Q(kind="external") | Q(ui_participant_id__isnull=False),
                name="participant_external_has_ui_id"),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        if self.last_initial:
            return f"{self.first_name} {self.last_initial.rstrip('.')}."
        return self.first_name


class Application(models.Model):
    """One person applying to one study, with their screener answers and review status."""

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        UNQUALIFIED = "unqualified", "Unqualified"
        INVITED = "invited", "Invited"
        REJECTED = "rejected", "Rejected"
        SCHEDULED = "scheduled", "Scheduled"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"
        CANCELED = "canceled", "Canceled"
        PAID = "paid", "Paid"

    class Source(models.TextChoices):
        USER_INTERVIEWS = "user_interviews", "User Interviews"
        DIRECT_LINK = "direct_link", "Direct link"
        RALLY_PANEL = "rally_panel", "Rally panel"

    class Qualification(models.TextChoices):
        MANUAL_REVIEW = "manual_review", "Needs review"
        UNQUALIFIED = "unqualified", "Does not meet the criteria"

    # The decisions a reviewer takes in Rally (written once; SPEC P3). Everything else
    # arrives from User Interviews and is applied by `applications_upsert_from_ui`.
    REVIEW_TRANSITIONS = {
        Status.APPLIED: {Status.INVITED, Status.REJECTED},
        Status.UNQUALIFIED: {Status.INVITED, Status.REJECTED},
        Status.INVITED: {Status.REJECTED},
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey("studies.Study", on_delete=models.CASCADE,
                              related_name="applications")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT,
                                    related_name="applications")
    ui_applicant_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.APPLIED)
    source = models.CharField(max_length=16, choices=Source.choices,
                              default=Source.USER_INTERVIEWS)
    qualification = models.CharField(max_length=16, choices=Qualification.choices,
                                     default=Qualification.MANUAL_REVIEW)
    screener_version = models.PositiveIntegerField(null=True, blank=True)
    # [{"questionUid", "answerUids" | "text" | "number" | "date"}]
    screener_responses = models.JSONField(default=list, blank=True)
    # [{"characteristic": slug, "values": [...]}]
    matched_criteria = models.JSONField(default=list, blank=True)
    unmet_criteria = models.JSONField(default=list, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    applied_at = models.DateTimeField()
    # UI's own updatedAt of the applicant: an older copy never overwrites a newer one.
    ui_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-applied_at"]
        constraints = [
            models.UniqueConstraint(fields=["study", "participant"],
                                    name="application_one_per_participant_and_study"),
        ]
        indexes = [
            models.Index(fields=["study", "status"]),
            models.Index(fields=["study", "-applied_at"]),
        ]

    def __str__(self):
        return f"{self.participant} → {self.study_id} ({self.status})"

    def can_become(self, status):
        return status in self.REVIEW_TRANSITIONS.get(self.Status(self.status), set())

    @property
    def matched_criteria_count(self):
        return len(self.matched_criteria)
