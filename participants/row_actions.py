"""Items that higher apps add to a row of the Participants tab without participants importing
them: entries of the row's three-dots menu ("Actions for NAME") and short notes beside the
status (say, where the incentive payment stands).

The providers are declared with the rest of the study page in the top layer
(`StudyPage.row_actions`, see studies.pages): provider(request, study, applications) answers
{application id: [RowAction | RowNote, ...]} for the applications of the page it has
something for. A provider reads what it needs for
the whole page at once, in a fixed number of queries however many rows there are (the tab's
query count is pinned). The scheduling app offers "Complete & Send payment" this way, the
panel app "Record incentive".
"""

from dataclasses import dataclass

from studies.pages import study_page


@dataclass(frozen=True)
class RowAction:
    """A menu item: a POST form (with the page to come back to as `next`) or a link."""

    label: str
    url: str
    method: str = "post"
    confirm: str = ""  # the question of Rally's confirmation dialog, if it asks one
    accessible_label: str = ""
    confirm_text: str = ""  # what will happen, under the question
    confirm_button: str = ""  # the dialog's button (else "Confirm")

    @property
    def is_post(self):
        return self.method == "post"


@dataclass(frozen=True)
class RowNote:
    """A short text shown under the row's status badge."""

    text: str


def row_actions(request, study, applications):
    """{application id: {"actions": [RowAction...], "notes": [RowNote...]}} of every
    declared provider, in the providers' order."""
    extras = {}
    if not applications:
        return extras
    for provider in sorted(study_page().row_actions, key=lambda part: (part.order, part.key)):
        for application_id, items in (provider(request, study, applications) or {}).items():
            row = extras.setdefault(application_id, {"actions": [], "notes": []})
            for item in items:
                row["notes" if isinstance(item, RowNote) else "actions"].append(item)
    return extras
