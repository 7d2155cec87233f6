"""Studies and the criteria catalog they target.

A study's audience is stored the way User Interviews speaks of it (countries, US states and
criteria as `{characteristic, values | range}`), so the payload for UI is a plain read.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

DURATION_MIN, DURATION_MAX = 5, 480


class StudyType(models.TextChoices):
    INTERVIEW = "interview", "Interview"
    GROUP_INTERVIEW = "group_interview", "Group Interview"
    UNMODERATED_TEST = "unmoderated_test", "Unmoderated Test"
    SURVEY = "survey", "Survey"


class Source(models.TextChoices):
    RALLY_PANEL = "rally_panel", "Rally panel"
    USER_INTERVIEWS = "user_interviews", "User Interviews"


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CLOSED = "closed", "Closed"


class AudienceType(models.TextChoices):
    B2C = "b2c", "General population (B2C)"
    B2B = "b2b", "Industry professionals (B2B)"


class LocationMode(models.TextChoices):
    COUNTRY = "country", "Country"
    STATE = "state", "State"


#: Study types User Interviews can recruit for (SPEC S2).
UI_STUDY_TYPES = frozenset({StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW,
                            StudyType.UNMODERATED_TEST})
SURVEY_SOURCE_REASON = ("User Interviews recruits for Interview, Group Interview and "
                        "Unmoderated Test studies only, not for Surveys.")
#: What participants see when the team has not written a participant-facing title.
PARTICIPANT_TITLE_FALLBACK = "Research study"
CONSENT_FORM_REASON = ("Not available for User Interviews studies: User Interviews collects "
                       "consent from its own participants.")


class Study(models.Model):
    """A research study, or (with `is_template`) a pattern new studies are copied from."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("rally.Workspace", on_delete=models.CASCADE,
                                  related_name="studies")
    name = models.CharField(max_length=200)
    study_type = models.CharField(max_length=20, choices=StudyType.choices,
                                  default=StudyType.INTERVIEW)
    source = models.CharField(max_length=20, choices=Source.choices,
                              default=Source.USER_INTERVIEWS)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                              related_name="owned_studies")
    # Teammates besides the owner (SPEC W3); the owner is always on the team.
    team = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                  related_name="team_studies")

    # Plan (SPEC S4). `name` is the team's own; participants see `public_title` (or a neutral
    # title) and the external description, never the name.
    public_title = models.CharField(max_length=200, blank=True)
    external_description = models.TextField(blank=True)
    participation_limit = models.PositiveIntegerField(null=True, blank=True)
    incentive_amount = models.DecimalField(max_digits=13, decimal_places=2, null=True,
                                           blank=True)
    # The consent text as it reads now; each change is also kept as a ConsentVersion
    # (participants agree to a version, SPEC P7). Rally-panel studies only.
    consent_form = models.TextField(blank=True)
    # "Require consent": booking cannot open (publish, invite, book) without a consent form.
    consent_required = models.BooleanField(default=False)
    # Unmoderated Test (SPEC T1): where participants take the test when it is not Rally's own
    # task page. https only; empty means Rally's page.
    test_url = models.URLField(max_length=1000, blank=True)

    # Audience (SPEC A1 to A5)
    audience_type = models.CharField(max_length=3, choices=AudienceType.choices,
                                     default=AudienceType.B2C)
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    location_mode = models.CharField(max_length=10, choices=LocationMode.choices,
                                     default=LocationMode.COUNTRY)
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    us_states = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    # [{"characteristic": slug, "values": [choice ids]} | {"characteristic", "range": {min, max}}]
    criteria = models.JSONField(default=list, blank=True)

    is_template = models.BooleanField(default=False)
    created_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    # Set by the recruitment orchestration when "Start Recruitment" commits (SPEC A7).
    recruitment_started_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-updated_at"]
        verbose_name_plural = "studies"
        indexes = [
            models.Index(fields=["workspace", "is_template", "-updated_at"]),
            models.Index(fields=["workspace", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(participation_limit__isnull=True) | Q(participation_limit__gte=1),
                name="study_participation_limit_at_least_one"),
            models.CheckConstraint(
                condition=Q(incentive_amount__isnull=True) | Q(incentive_amount__gt=0),
                name="study_incentive_positive"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=DURATION_MIN, duration_minutes__lte=DURATION_MAX),
                name="study_duration_5_to_480"),
            models.CheckConstraint(
                condition=~Q(study_type=StudyType.SURVEY, source=Source.USER_INTERVIEWS),
                name="study_survey_not_from_user_interviews"),
            models.CheckConstraint(
                condition=Q(is_template=False) | Q(status=Status.DRAFT),
                name="study_template_stays_draft"),
        ]

    def __str__(self):
        return self.name

    @property
    def participant_title(self):
        """The title participants see: on booking and test pages, in emails, at UI."""
        return self.public_title or PARTICIPANT_TITLE_FALLBACK

    @property
    def is_user_interviews(self):
        return self.source == Source.USER_INTERVIEWS

    @property
    def is_recruitment_locked(self):
        """Audience and incentive are fixed once recruitment has started (SPEC A7)."""
        return self.recruitment_started_at is not None

    @property
    def is_moderated(self):
        return self.study_type in (StudyType.INTERVIEW, StudyType.GROUP_INTERVIEW)

    @property
    def criteria_slugs(self):
        return [criterion["characteristic"] for criterion in self.criteria]

    def incentive_total(self):
        if self.participation_limit is None or self.incentive_amount is None:
            return None
        return (self.incentive_amount * self.participation_limit).quantize(Decimal("0.01"))


class CharacteristicCategory(models.TextChoices):
    PROFESSIONAL = "professional", "Advanced Professional"
    ACCESSIBILITY = "accessibility", "Accessibility"
    DEMOGRAPHIC = "demographic", "Demographic"
    TECHNOLOGY = "technology", "Technology"


class CharacteristicType(models.TextChoices):
    SINGLE_SELECT = "single_select", "Single select"
    MULTI_SELECT = "multi_select", "Multi select"
    RANGE = "range", "Range"


class Characteristic(models.Model):
    """One audience criterion of User Interviews' catalog, cached locally (SPEC A4)."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=CharacteristicCategory.choices)
    type = models.CharField(max_length=20, choices=CharacteristicType.choices)
    audience_types = ArrayField(models.CharField(max_length=3), default=list)
    range_min = models.IntegerField(null=True, blank=True)
    range_max = models.IntegerField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0)
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["category", "position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(type="range") | Q(range_min__isnull=False, range_max__isnull=False,
                                               range_min__lte=models.F("range_max")),
                name="characteristic_range_bounds"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_range(self):
        return self.type == CharacteristicType.RANGE

    @property
    def is_professional(self):
        return self.category == CharacteristicCategory.PROFESSIONAL


class CharacteristicChoice(models.Model):
    """One value a select characteristic offers ("Healthcare" for Industry)."""

    characteristic = models.ForeignKey(Characteristic, on_delete=models.CASCADE,
                                       related_name="choices")
    external_id = models.CharField(max_length=100)
    label = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["characteristic", "external_id"],
                                    name="characteristic_choice_unique"),
        ]

    def __str__(self):
        return self.label


# Screeners (SPEC Q1 to Q5) ---------------------------------------------------------------------


class QuestionType(models.TextChoices):
    SHORT_TEXT = "short_text", "Short text"
    LONG_TEXT = "long_text", "Long text"
    NUMBER = "number", "Number"
    DATE = "date", "Date"
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    DROPDOWN = "dropdown", "Dropdown"
    SCALE = "scale", "Scale"


#: Types whose answers are options (they carry `options`; the first two may skip).
CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE,
                          QuestionType.DROPDOWN})
SKIP_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
SCALE_MAXIMA = (5, 10)


class ScreenerQuestion(models.Model):
    """One question of a study's editable (draft) screener.

    `uid` is the question's stable identity: logic, applicants' answers and versions refer
    to it, and copies of the study keep it. Once recruitment has started each change is
    also kept as a ScreenerVersion snapshot.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="screener_questions")
    uid = models.UUIDField(default=uuid.uuid4)
    position = models.PositiveIntegerField()
    type = models.CharField(max_length=20, choices=QuestionType.choices)
    text = models.CharField(max_length=500)
    help = models.CharField(max_length=500, blank=True)
    required = models.BooleanField(default=True)
    # Choice types: [{"uid": ..., "label": ...}]
    options = models.JSONField(default=list, blank=True)
    scale_max = models.PositiveSmallIntegerField(null=True, blank=True)
    # {option uid: question uid | "end"} (single and multiple choice)
    skip_logic = models.JSONField(default=dict, blank=True)
    # {"questionUid": ..., "answerUids": [...]} or {} (shown only when that answer matches)
    show_if = models.JSONField(default=dict, blank=True)
    property_key = models.CharField(max_length=60, blank=True)
    # Rally-panel studies only (never User Interviews, SPEC Q4): when an answer qualifies or
    # disqualifies an applicant: {"qualify": [option uids], "disqualify": [option uids]}
    # for choice questions, {"min": n, "max": n} for numbers; {} for none.
    auto_rules = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["study", "uid"], name="screener_question_uid_unique"),
            models.UniqueConstraint(fields=["study", "position"],
                                    name="screener_question_position_unique",
                                    deferrable=models.Deferrable.DEFERRED),
            models.CheckConstraint(
                condition=~Q(type="scale") | Q(scale_max__in=SCALE_MAXIMA),
                name="screener_question_scale_5_or_10"),
        ]

    def __str__(self):
        return self.text


class ScreenerVersion(models.Model):
    """The screener as applicants saw it from `created_at` on (SPEC Q4): a frozen snapshot in
    the shape User Interviews receives. Applicants keep the version they answered."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="screener_versions")
    number = models.PositiveIntegerField()
    questions = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["study", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["study", "number"],
                                    name="screener_version_number_unique"),
        ]

    def __str__(self):
        return f"Screener version {self.number}"


# Consent (SPEC P7) -----------------------------------------------------------------------------


class ConsentVersion(models.Model):
    """The consent form as participants read it from `created_at` on. Editing the form makes
    a new version; agreements name the version they agreed to, so past agreements keep
    theirs. Never changed once written (a new edit is a new row)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="consent_versions")
    number = models.PositiveIntegerField()
    text = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["study", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["study", "number"],
                                    name="consent_version_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="consent_version_from_one"),
            models.CheckConstraint(condition=~Q(text=""), name="consent_version_has_text"),
        ]

    def __str__(self):
        return f"Consent form version {self.number}"


# Unmoderated tests (SPEC T1) ------------------------------------------------------------------


class TestTask(models.Model):
    """One task of an Unmoderated Test study, in the order participants take them."""

    __test__ = False  # not a pytest test class, whatever its name

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="test_tasks")
    position = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["study", "position"],
                                    name="test_task_position_unique",
                                    deferrable=models.Deferrable.DEFERRED),
            models.CheckConstraint(condition=~Q(title=""), name="test_task_title_not_empty"),
        ]

    def __str__(self):
        return self.title
