""""Complete & Send payment" in the Participants tab's row menu (SPEC I1), for every kind of
User Interviews study: an Interview or Group Interview participant whose session has ended
(Upcoming, not marked yet, or Completed) and an Unmoderated Test participant who submitted
the test, while the incentive is not sent. The item posts to the same view and service as
the Scheduling tab's session menu and comes back to the Participants tab. Rows with a payout
also say where it stands. Declared in recruitment.study_page; two queries a page."""

from django.urls import reverse

from billing.models import Payout
from billing.money import money_format
from participants.models import Application
from participants.row_actions import RowAction, RowNote
from rally import clock
from scheduling import services
from scheduling.models import Session

#: Application statuses that may still have an ended, unpaid session to pay.
PAYABLE_STATUSES = (Application.Status.SCHEDULED, Application.Status.COMPLETED)
SESSION_STATUSES = (Session.Status.UPCOMING, Session.Status.COMPLETED)


def payment_row_actions(request, study, applications):
    if not study.is_user_interviews or not services.study_incentives_payable_by(
            request.membership, study):
        return {}
    by_id = {application.pk: application for application in applications}
    payouts = {payout.session_id: payout for payout in Payout.objects.filter(
        study_id=study.pk, application_id__in=list(by_id)).order_by("created_at")}
    items = {}
    for payout in payouts.values():
        items[payout.application_id] = [RowNote(f"Payment: {payout.get_state_display()}")]
    candidates = [pk for pk, application in by_id.items()
                  if application.status in PAYABLE_STATUSES]
    if not candidates:
        return items
    latest = dict(Session.objects.filter(study=study, application_id__in=candidates,
                                         ends_at__lte=clock.now(),
                                         status__in=SESSION_STATUSES)
                  .order_by("ends_at", "created_at").values_list("application_id", "pk"))
    for application_id, session_id in latest.items():
        payout = payouts.get(session_id)
        if payout is not None and payout.state != Payout.State.NOT_SENT:
            continue
        name = by_id[application_id].participant.display_name
        amount = money_format(payout.amount if payout is not None else study.incentive_amount)
        items.setdefault(application_id, []).append(RowAction(
            label="Complete & Send payment",
            url=reverse("scheduling:session_complete_and_pay", args=[session_id]),
            confirm=f"Send {name}'s incentive of {amount} now?",
            confirm_text=f"The session is marked Completed and User Interviews is asked to "
                         f"pay {amount} to {name} now, once.",
            confirm_button="Complete & Send payment"))
    return items
