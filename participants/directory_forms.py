"""Forms of the workspace's people directory: a person with their property values, a property
definition, a CSV upload, its column mapping and the import choices.

Values are checked by the services (by each property's type); the forms give each type
the control it needs and hand over the raw values.
"""

from django import forms

from participants import properties as props
from participants.imports import MAX_BYTES, target_choices
from participants.models import PeopleImport
from rally.models import PropertyType

PROPERTY_PREFIX = "prop__"

BOOLEAN_CHOICES = [("", "Not set"), ("yes", "Yes"), ("no", "No")]


def property_field(definition):
    """The form field for one property's value."""
    label = definition.label + (" (PII)" if definition.is_pii else "")
    kind = definition.type
    if kind == PropertyType.BOOLEAN:
        return forms.ChoiceField(label=label, required=False, choices=BOOLEAN_CHOICES)
    if kind == PropertyType.SINGLE_SELECT:
        return forms.ChoiceField(label=label, required=False, choices=[("", "Not set")] + [
            (option["uid"], option["label"]) for option in definition.options])
    if kind == PropertyType.MULTI_SELECT:
        return forms.MultipleChoiceField(
            label=label, required=False, widget=forms.CheckboxSelectMultiple,
            choices=[(option["uid"], option["label"]) for option in definition.options])
    if kind == PropertyType.DATE:
        return forms.CharField(label=label, required=False, help_text="YYYY-MM-DD",
                               widget=forms.DateInput(attrs={"type": "date"}))
    if kind == PropertyType.NUMBER:
        return forms.CharField(label=label, required=False,
                               widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    return forms.CharField(label=label, required=False, max_length=props.TEXT_MAX)


class PersonForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.CharField(label="Email", max_length=254,
                            widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    time_zone = forms.CharField(label="Time zone", max_length=64, required=False,
                                help_text="An IANA name, like America/New_York or "
                                          "Europe/Berlin.",
                                widget=forms.TextInput(attrs={"list": "time-zones"}))

    def __init__(self, *args, definitions=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.definitions = list(definitions)
        for definition in self.definitions:
            self.fields[PROPERTY_PREFIX + definition.key] = property_field(definition)

    @classmethod
    def initial_for(cls, participant, definitions):
        initial = {"first_name": participant.first_name, "last_name": participant.last_name,
                   "email": participant.email, "time_zone": participant.time_zone}
        for definition in definitions:
            initial[PROPERTY_PREFIX + definition.key] = props.form_value(
                definition, participant.properties.get(definition.key))
        return initial

    def property_values(self):
        """{key: raw value} of the property fields (only the definitions the form shows)."""
        return {definition.key: self.cleaned_data.get(PROPERTY_PREFIX + definition.key)
                for definition in self.definitions}

    def property_fields(self):
        return [self[PROPERTY_PREFIX + definition.key] for definition in self.definitions]

    def add_service_errors(self, error):
        for key, messages in error.message_dict.items():
            name = key if key in self.fields else PROPERTY_PREFIX + key
            self.add_error(name if name in self.fields else None, messages)


class PropertyForm(forms.Form):
    label = forms.CharField(label="Label", max_length=120)
    key = forms.CharField(label="Key", max_length=60, required=False,
                          help_text="Used in CSV headers and filters; made from the label "
                                    "when left empty. It can’t change later.")
    type = forms.ChoiceField(label="Type", choices=PropertyType.choices)
    options = forms.CharField(label="Options", required=False,
                              help_text="Select types only: one option a line.",
                              widget=forms.Textarea(attrs={"rows": 4}))
    is_pii = forms.BooleanField(label="Personally identifiable (PII)", required=False,
                                help_text="Shown only to Admins and Ops Managers.")

    def __init__(self, *args, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["key"]

    def add_service_errors(self, error):
        for key, messages in error.message_dict.items():
            self.add_error(key if key in self.fields else None, messages)


class ImportUploadForm(forms.Form):
    file = forms.FileField(label="CSV file",
                           help_text="A header row, then one row per person. UTF-8 is best; "
                                     "at most 20 MB.",
                           widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the most one import takes "
                "is 20 MB. Split it into smaller files.")
        return upload


class ImportMappingForm(forms.Form):
    """One select per column of the file: what the column holds."""

    def __init__(self, *args, mapping, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        choices = target_choices(definitions)
        self.columns = []
        for index, (column, target) in enumerate(mapping):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(label=column, choices=choices,
                                                  required=False, initial=target)
            self.columns.append(name)

    def targets(self):
        return [self.cleaned_data.get(name) or "" for name in self.columns]


class ImportStartForm(forms.Form):
    on_duplicate = forms.ChoiceField(
        label="People already in the panel (same email)", widget=forms.RadioSelect,
        choices=PeopleImport.OnDuplicate.choices, initial=PeopleImport.OnDuplicate.UPDATE,
        error_messages={"required": "Choose “Update existing” or “Skip existing”."})
    only_valid = forms.BooleanField(label="Import only the valid rows", required=False)


class SegmentForm(forms.Form):
    name = forms.CharField(label="Segment name", max_length=120)
