"""Forms of the study pages: they collect and describe; the services hold the rules."""

from django import forms
from django.core.exceptions import ValidationError

from studies import services
from studies.models import (
    CONSENT_FORM_REASON,
    DURATION_MAX,
    DURATION_MIN,
    SURVEY_SOURCE_REASON,
    AudienceType,
    Source,
    Status,
    StudyType,
)


class AccessibleErrorsMixin:
    """Point each control at its hint and error (aria-describedby) and flag it invalid."""

    def full_clean(self):
        super().full_clean()
        for name, bound in ((name, self[name]) for name in self.fields):
            described = []
            if self.fields[name].help_text:
                described.append(f"{bound.auto_id}_helptext")
            if name in self.errors:
                described.append(f"{bound.auto_id}-error")
                self.fields[name].widget.attrs["aria-invalid"] = "true"
            if described:
                self.fields[name].widget.attrs["aria-describedby"] = " ".join(described)

    def apply_service_errors(self, error):
        """Show a service's ValidationError next to the fields it names."""
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        else:
            self.add_error(None, error.messages)
        self.full_clean_aria()

    def full_clean_aria(self):
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                self.fields[name].widget.attrs["aria-invalid"] = "true"
                self.fields[name].widget.attrs["aria-describedby"] = f"{bound.auto_id}-error"


def _parsed(parser):
    def validate(value):
        parser(value)
    return validate


class SelectWithDisabledOptions(forms.Select):
    """A select whose listed values are shown but cannot be chosen (with the reason nearby)."""

    def __init__(self, *args, disabled_values=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.disabled_values = set(disabled_values)

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        if value in self.disabled_values:
            option["attrs"]["disabled"] = True
        return option


class StudyCreateForm(AccessibleErrorsMixin, forms.Form):
    name = forms.CharField(label="Study name", max_length=200,
                           error_messages={"required": "Enter a study name."})
    start_from = forms.ChoiceField(label="Start from", widget=forms.RadioSelect,
                                   initial="scratch")
    study_type = forms.ChoiceField(label="Study type", choices=StudyType.choices,
                                   widget=forms.RadioSelect, initial=StudyType.INTERVIEW,
                                   required=False)
    source = forms.ChoiceField(label="Recruitment source", choices=Source.choices,
                               widget=forms.RadioSelect, initial=Source.USER_INTERVIEWS,
                               required=False,
                               help_text=f"User Interviews: {SURVEY_SOURCE_REASON}")

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.templates = {str(template.pk): template for template in templates}
        self.fields["start_from"].choices = [("scratch", "From scratch")] + [
            (key, f"Template: {template.name}") for key, template in self.templates.items()]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start_from", "scratch") == "scratch":
            study_type = cleaned.get("study_type") or StudyType.INTERVIEW
            source = cleaned.get("source") or Source.USER_INTERVIEWS
            if study_type == StudyType.SURVEY and source == Source.USER_INTERVIEWS:
                self.add_error("source", SURVEY_SOURCE_REASON)
            cleaned["study_type"], cleaned["source"] = study_type, source
        return cleaned

    @property
    def template(self):
        return self.templates.get(self.cleaned_data.get("start_from"))


class PlanForm(AccessibleErrorsMixin, forms.Form):
    name = forms.CharField(label="Study name", max_length=200,
                           error_messages={"required": "Enter a study name."})
    study_type = forms.ChoiceField(label="Study type", choices=StudyType.choices)
    source = forms.ChoiceField(label="Recruitment source", choices=Source.choices)
    public_title = forms.CharField(
        label="Participant-facing title", required=False, max_length=200,
        help_text=("What participants see as the study's title: on the booking page, the test "
                   "page, in invitations and at User Interviews. The study name stays with "
                   "your team; without this title participants see “Research study”."))
    external_description = forms.CharField(
        label="External study description", required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Shown to applicants: what the study is about and what they will do.")
    participation_limit = forms.CharField(
        label="Participation limit", required=False,
        validators=[_parsed(services.parse_participation_limit)],
        help_text="How many people take part (a whole number, 1 or more).",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    incentive_amount = forms.CharField(
        label="Incentive amount", required=False,
        validators=[_parsed(services.parse_incentive_amount)],
        help_text="What each participant receives, in USD (for example 75.00).",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    consent_form = forms.CharField(label="Consent form", required=False,
                                   widget=forms.Textarea(attrs={"rows": 4}),
                                   help_text="Rally-panel participants read it and agree "
                                             "on the screener before they can book. Each "
                                             "edit is kept as a new version.")
    consent_required = forms.BooleanField(
        label="Require consent", required=False,
        help_text="Booking cannot open without a consent form.")
    team = forms.MultipleChoiceField(label="Team", required=False,
                                     widget=forms.CheckboxSelectMultiple,
                                     help_text="The owner is always on the team.")

    def __init__(self, *args, study, members, team_editable=False, user_id=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.study = study
        # SPEC W3: nobody adds themselves; only the team's changers see it editable.
        on_team = {str(pk) for pk in self.initial.get("team", [])}
        self.fields["team"].choices = [
            (str(m.user_id), m.user.display_name) for m in members if m.user_id != study.owner_id
            and (m.user_id != user_id or str(m.user_id) in on_team)]
        if not team_editable:
            self.fields["team"].disabled = True
            self.fields["team"].help_text = ("An Admin, an Ops Manager or the study's owner "
                                              "changes the team.")
        if study.status != Status.DRAFT:
            reason = "Fixed once the study is published."
            for name in ("study_type", "source"):
                self.fields[name].disabled = True
                self.fields[name].help_text = reason
        elif study.study_type == StudyType.SURVEY:
            self.fields["source"].widget = SelectWithDisabledOptions(
                choices=Source.choices, disabled_values={Source.USER_INTERVIEWS})
            self.fields["source"].help_text = SURVEY_SOURCE_REASON
        if study.source == Source.USER_INTERVIEWS:
            for name in ("consent_form", "consent_required"):
                self.fields[name].disabled = True
                self.fields[name].help_text = CONSENT_FORM_REASON
        if study.is_recruitment_locked:
            self.fields["incentive_amount"].disabled = True
            self.fields["incentive_amount"].help_text = services.LOCKED_INCENTIVE
            self.fields["participation_limit"].help_text = (
                f"Recruitment has started: you can lower the limit (now "
                f"{study.participation_limit}), not raise it.")

    @classmethod
    def initial_for(cls, study):
        return {
            "name": study.name, "study_type": study.study_type, "source": study.source,
            "public_title": study.public_title,
            "external_description": study.external_description,
            "participation_limit": study.participation_limit or "",
            "incentive_amount": study.incentive_amount or "",
            "consent_form": study.consent_form,
            "consent_required": study.consent_required,
            "team": [str(user.pk) for user in study.team.all()],
        }

    def clean(self):
        """A value posted for a field the page shows as read-only (a crafted request) is
        refused with the reason, not silently dropped."""
        cleaned = super().clean()
        current = self.initial_for(self.study)
        for name, field in self.fields.items():
            if not field.disabled or name not in self.data or name == "team":
                continue
            posted = str(self.data.get(name, "")).strip()
            if posted != str(current.get(name) or "").strip():
                self.add_error(name, f"{field.label} can't be changed: {field.help_text}")
        return cleaned

    def changes(self):
        """The values to hand to studies.services.study_update_plan (disabled fields left out)."""
        return {name: value for name, value in self.cleaned_data.items()
                if not self.fields[name].disabled}


class AudienceSettingsForm(AccessibleErrorsMixin, forms.Form):
    audience_type = forms.ChoiceField(label="Audience type", choices=AudienceType.choices,
                                      widget=forms.RadioSelect)
    duration_minutes = forms.CharField(
        label="Total participation time (minutes)",
        help_text=f"The session length, a whole number from {DURATION_MIN} to {DURATION_MAX}.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"required": f"Enter the total participation time in minutes "
                                    f"({DURATION_MIN} to {DURATION_MAX})."})

    def clean_duration_minutes(self):
        try:
            return services.parse_duration(self.cleaned_data["duration_minutes"])
        except ValidationError as error:
            raise ValidationError(error.messages[0]) from None
