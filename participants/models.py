"""People who take part in studies and their application to each study.

A User Interviews participant is known to Rally by UI's id, first name and last initial
only: UI shares no email or calendar, and Rally stores none for them (SPEC P5; a check
constraint holds it). Panel people (the workspace's own panel) come later with email.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
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
    # Panel people only: "First Last", an IANA time zone, their property values
    # ({PropertyDefinition.key: value}, typed as `participants.properties` describes) and
    # when they unsubscribed (an opted-out person is never invited again).
    last_name = models.CharField(max_length=150, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)
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
            models.UniqueConstraint(fields=["workspace", "email"], condition=Q(kind="panel"),
                                    name="participant_panel_email_unique_per_workspace"),
            models.CheckConstraint(condition=~Q(kind="panel") | ~Q(email=""),
                                   name="participant_panel_has_email"),
        ]
        indexes = [
            GinIndex(fields=["properties"], name="participant_properties_gin"),
            models.Index(fields=["workspace", "kind", "first_name", "last_name"],
                         name="participant_panel_name_idx"),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        if self.kind == self.Kind.PANEL:
            return f"{self.first_name} {self.last_name}".strip()
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
        # After the session, before the incentive is sent: the payout is canceled (SPEC I2).
        Status.COMPLETED: {Status.REJECTED},
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
    # Arrived from UI while every seat was taken (SPEC R6): kept for a person to decide on.
    arrived_after_limit = models.BooleanField(default=False, db_default=False)
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


class Contact(models.Model):
    """One message Rally sent to a panel person (invitation, reminder…): the contact history
    the profile shows and contact-frequency rules count."""

    class Kind(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        REMINDER = "reminder", "Reminder"
        BOOKING_LINK = "booking_link", "Booking link"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE,
                                    related_name="contacts")
    study = models.ForeignKey("studies.Study", on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="contacts")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                null=True, blank=True, related_name="+")
    # Set when someone overrode a contact-governance rule to send it.
    override_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["participant", "sent_at"],
                                name="contact_participant_sent_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.participant_id} at {self.sent_at}"


class ConsentAgreement(models.Model):
    """A panel person agreed to one version of a study's consent form (SPEC P7): who, which
    version, when. Append-only (the database refuses UPDATE and DELETE); agreeing again to
    the same version is the same row. The name and email are kept as they were then, for
    the signed copy."""

    class Channel(models.TextChoices):
        SCREENER = "screener", "Hosted screener"
        BOOKING_PAGE = "booking_page", "Booking page"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("rally.Workspace", on_delete=models.CASCADE, related_name="+")
    study = models.ForeignKey("studies.Study", on_delete=models.PROTECT,
                              related_name="consent_agreements")
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT,
                                    related_name="consent_agreements")
    application = models.ForeignKey("Application", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="consent_agreements")
    consent_version = models.ForeignKey("studies.ConsentVersion", on_delete=models.PROTECT,
                                        related_name="agreements")
    version_number = models.PositiveIntegerField()
    participant_name = models.CharField(max_length=300)
    participant_email = models.EmailField(blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    agreed_at = models.DateTimeField()

    class Meta:
        ordering = ["-agreed_at"]
        constraints = [
            models.UniqueConstraint(fields=["participant", "consent_version"],
                                    name="consent_agreement_once_per_version"),
        ]
        indexes = [models.Index(fields=["study", "agreed_at"], name="consent_study_agreed_idx")]

    def __str__(self):
        return f"{self.participant_name} agreed to consent v{self.version_number}"


class Segment(models.Model):
    """A saved panel filter ({"q", "rules"}; see `participants.panel_filters`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("rally.Workspace", on_delete=models.CASCADE,
                                  related_name="segments")
    name = models.CharField(max_length=120)
    filters = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"],
                                    name="segment_name_unique_per_workspace"),
        ]

    def __str__(self):
        return self.name


class PeopleImport(models.Model):
    """One CSV file on its way into the people directory: uploaded, mapped, previewed, imported.

    The file's decoded text is kept here so a worker can import it (big files run in a
    task, the page polls `processed_rows`). An import applies all its rows or none.
    """

    class Status(models.TextChoices):
        MAPPING = "mapping", "Mapping columns"
        QUEUED = "queued", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    class OnDuplicate(models.TextChoices):
        UPDATE = "update", "Update existing"
        SKIP = "skip", "Skip existing"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("rally.Workspace", on_delete=models.CASCADE,
                                  related_name="people_imports")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    file_name = models.CharField(max_length=255)
    encoding = models.CharField(max_length=20)
    csv_text = models.TextField()
    # Column header → target ("first_name", "last_name", "name", "email", "time_zone",
    # "property:<key>" or "" to skip), in column order: [[header, target], ...].
    mapping = models.JSONField(default=list, blank=True)
    on_duplicate = models.CharField(max_length=8, choices=OnDuplicate.choices,
                                    default=OnDuplicate.UPDATE)
    only_valid = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.MAPPING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    invalid_count = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "queued_at"],
                                name="panel_import_queue_idx")]

    def __str__(self):
        return f"{self.file_name} ({self.status})"
