from django import forms

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
