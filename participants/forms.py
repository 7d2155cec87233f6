"""Forms of applicant review: the optional rejection reason and the bulk decision.

The selected applicants of a bulk action travel as repeated `application` values and are
checked by the service (ids of another study refuse the whole batch).
"""

from django import forms

REASON_MAX = 500


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)", required=False, max_length=REASON_MAX,
        help_text="Kept with the application in Rally for your team.",
        widget=forms.Textarea(attrs={"rows": 3}))


class BulkReviewForm(RejectForm):
    decision = forms.ChoiceField(choices=[("invite", "Invite"), ("reject", "Reject")],
                                 error_messages={"required": "Choose Invite or Reject.",
                                                 "invalid_choice": "Choose Invite or Reject."})
