""""Record incentive" in the Participants tab's row menu of a Rally-panel study: for a panel
participant whose session is Completed and whose incentive is not recorded yet, the item
opens the same form as the Invite tab's Incentives list (panel:incentive_record, which
records through panel.services.panel_incentive_record, once) and returns to the tab's
page it was opened from. Under the status, the state of the incentive's payout (due, or
paid and how). Declared in recruitment.study_page; three queries a page."""

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.timezone import localtime

from billing import panel_incentives
from billing.models import Payout, Transfer
from panel.services import panel_invites_allowed
from participants.models import Application
from participants.row_actions import RowAction, RowNote
from scheduling.models import Session
from studies.models import Source


def incentive_row_actions(request, study, applications):
    if study.source != Source.RALLY_PANEL or not panel_invites_allowed(request.membership,
                                                                        study):
        return {}
    items = _payout_notes(applications)
    completed = {application.pk: application for application in applications
                 if application.source == Application.Source.RALLY_PANEL
                 and application.status == Application.Status.COMPLETED}
    if not completed:
        return items
    with_session = set(Session.objects.filter(application_id__in=list(completed),
                                              status=Session.Status.COMPLETED)
                       .values_list("application_id", flat=True))
    keys = {panel_incentives.panel_incentive_key(pk): pk for pk in with_session}
    recorded = set(Transfer.objects.filter(key__in=list(keys)).values_list("key", flat=True)
                   ) if keys else set()
    # The form comes back to this page of the tab, with its filters (panel.views checks it).
    back = urlencode({"next": request.get_full_path()})
    for key, pk in keys.items():
        if key in recorded:
            continue
        items.setdefault(pk, []).append(RowAction(
            label="Record incentive", method="get",
            url=f"{reverse('panel:incentive_record', args=[study.pk, pk])}?{back}",
            accessible_label=f"Record incentive for {completed[pk].participant.display_name}"))
    return items


def _payout_notes(applications):
    """"Incentive due Dec 8" / "Incentive paid · Gift card" under the status of panel
    participants whose payout the team pays (one query a page)."""
    ids = [application.pk for application in applications
           if application.source == Application.Source.RALLY_PANEL]
    if not ids:
        return {}
    notes = {}
    for payout in Payout.objects.filter(application_id__in=ids, paid_by_team=True).order_by(
            "created_at"):
        if payout.state == Payout.State.NOT_SENT:
            text = f"Incentive due {date_format(localtime(payout.due_at), 'M j, g:i A')}"
        elif payout.state == Payout.State.PAID:
            text = "Incentive paid" + (f" · {payout.paid_method_label}"
                                       if payout.paid_method_label else "")
        else:
            continue
        notes[payout.application_id] = [RowNote(text)]
    return notes
