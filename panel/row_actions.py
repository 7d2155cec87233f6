""""Record incentive" in the Participants tab's row menu of a Rally-panel study: for a panel
participant whose session is Completed and whose incentive is not recorded yet, the item
opens the same form as the Invite tab's Incentives list (panel:incentive_record, which
records through panel.services.panel_incentive_record, once) and returns to the tab's
page it was opened from. Registered with
participants.row_actions; two queries a page."""

from django.urls import reverse
from django.utils.http import urlencode

from billing import panel_incentives
from billing.models import Transfer
from panel.services import panel_invites_allowed
from participants.models import Application
from participants.row_actions import RowAction
from scheduling.models import Session
from studies.models import Source


def incentive_row_actions(request, study, applications):
    if study.source != Source.RALLY_PANEL or not panel_invites_allowed(request.membership,
                                                                        study):
        return {}
    completed = {application.pk: application for application in applications
                 if application.source == Application.Source.RALLY_PANEL
                 and application.status == Application.Status.COMPLETED}
    if not completed:
        return {}
    with_session = set(Session.objects.filter(application_id__in=list(completed),
                                              status=Session.Status.COMPLETED)
                       .values_list("application_id", flat=True))
    keys = {panel_incentives.panel_incentive_key(pk): pk for pk in with_session}
    recorded = set(Transfer.objects.filter(key__in=list(keys)).values_list("key", flat=True)
                   ) if keys else set()
    # The form comes back to this page of the tab, with its filters (panel.views checks it).
    back = urlencode({"next": request.get_full_path()})
    return {pk: [RowAction(
                label="Record incentive", method="get",
                url=f"{reverse('panel:incentive_record', args=[study.pk, pk])}?{back}",
                accessible_label=f"Record incentive for {completed[pk].participant.display_name}")]
            for key, pk in keys.items() if key not in recorded}
