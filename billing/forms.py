"""Forms of the money pages. Rules live in billing.services; forms read and re-show input."""

import uuid

from django import forms
from django.core.exceptions import ValidationError

from billing.models import Budget
from billing.money import amount_parse


class BudgetCreateForm(forms.Form):
    name = forms.CharField(label="Name", max_length=120,
                           help_text="For example a team, a quarter or a grant.")


class FundsAddForm(forms.Form):
    amount = forms.CharField(
        label="Amount", max_length=20, help_text="In US dollars, up to $1,000,000.00 at a time.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off",
                                      "placeholder": "0.00"}))
    reference = forms.CharField(
        label="Reference", max_length=200,
        help_text="A purchase order, invoice or card payment reference.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    # A fresh key per rendered form: submitting it twice adds the funds once.
    key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def clean_amount(self):
        try:
            return amount_parse(self.cleaned_data["amount"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["amount"]) from None


class ReceiptFilterForm(forms.Form):
    budget = forms.ModelChoiceField(queryset=Budget.objects.none(), required=False,
                                    empty_label="All budgets", label="Budget")
    issued_from = forms.DateField(label="Issued from", required=False,
                                  widget=forms.DateInput(attrs={"type": "date"}))
    issued_to = forms.DateField(label="Issued to", required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["budget"].queryset = Budget.objects.filter(workspace=workspace)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("issued_from"), cleaned.get("issued_to")
        if start and end and start > end:
            self.add_error("issued_to", "The end date is before the start date.")
        return cleaned
