from django import forms

from rally.numbers import count_parse
from rally.permissions import Role


class LoginForm(forms.Form):
    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={
        "autocomplete": "email", "autofocus": True}))
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput(attrs={
        "autocomplete": "current-password"}))


class WorkspaceNameForm(forms.Form):
    name = forms.CharField(label="Workspace name", max_length=120)


class SignUpForm(forms.Form):
    workspace = forms.CharField(label="Workspace name", max_length=120,
                                help_text="Your team or company, e.g. \"Acme Research\".")
    name = forms.CharField(label="Your name", max_length=150, required=False)
    email = forms.EmailField(label="Email", widget=forms.EmailInput(attrs={
        "autocomplete": "email"}))
    password = forms.CharField(label="Password", strip=False,
                               help_text="At least 8 characters, not a common password.",
                               widget=forms.PasswordInput(attrs={
                                   "autocomplete": "new-password"}))


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.RESEARCHER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class ProfileForm(forms.Form):
    name = forms.CharField(label="Name", max_length=150, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "name"}))
    time_zone = forms.CharField(
        label="Time zone", max_length=64,
        help_text="Type to search, e.g. “Berlin” or “New York”. Every time Rally shows you "
                  "is in this zone.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off",
                                      "spellcheck": "false"}))

    def clean_time_zone(self):
        from rally.timezones import canonical_zones, is_choosable

        value = self.cleaned_data["time_zone"].strip().replace(" ", "_")
        if is_choosable(value):
            return value
        # "berlin" or "new york": one zone ends with that city name.
        matches = [zone for zone in canonical_zones()
                   if zone.rsplit("/", 1)[-1].lower() == value.lower()]
        if len(matches) == 1:
            return matches[0]
        raise forms.ValidationError("Choose a time zone from the list, e.g. Europe/Berlin.")


class NotificationPreferencesForm(forms.Form):
    """One Email choice per kind of notification."""

    def __init__(self, *args, initial_choices=None, **kwargs):
        from rally.models import EmailDelivery, NotificationKind

        super().__init__(*args, **kwargs)
        for kind in NotificationKind:
            self.fields[kind.value] = forms.ChoiceField(
                label=kind.label, choices=EmailDelivery.choices,
                initial=(initial_choices or {}).get(kind.value),
                widget=forms.RadioSelect)


class CountField(forms.CharField):
    """A whole number typed by a person, read by rally.numbers.count_parse (SPEC §13): ASCII
    digits only, so "²", "١٠٠" and "1e3" get a message instead of a 500 or a surprise."""

    widget = forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})

    def __init__(self, *, min_value, max_value, unit="", sentence_label=None, **kwargs):
        self.min_value, self.max_value, self.unit = min_value, max_value, unit
        self.sentence_label = sentence_label
        super().__init__(max_length=None, **kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        label = self.sentence_label or f"the {str(self.label).lower()}"
        return count_parse(text, label=label, minimum=self.min_value, maximum=self.max_value,
                           unit=self.unit)
