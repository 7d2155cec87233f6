"""When a participant's incentive is due (SPEC I2, C5): the one rule every way of paying
follows — User Interviews payouts today, Rally-panel incentives as well.

- A session's **completion** is its end time (an Unmoderated Test's: the submission). A
  session nobody marks counts as completed at its end: hosts need not click anything for a
  participant to be paid. Marking "Completed" only confirms it.
- The incentive is **due 24 hours after completion**; a periodic sweeper sends it then.
  "Complete & Send payment" sends it earlier, once.
- It is **withheld** when the session was marked No-show, or the participant Rejected, before
  it was sent. Until it is sent a No-show can be undone, and the incentive is due again at
  the same time as before.
"""

from datetime import timedelta

#: How long after completion the incentive goes out by itself.
INCENTIVE_DELAY = timedelta(hours=24)


def incentive_due_at(completed_at):
    """The moment the incentive of a session completed at `completed_at` is sent."""
    return completed_at + INCENTIVE_DELAY


def incentive_withheld(*, no_show, rejected):
    """Whether the incentive is not paid: a No-show or a Rejected participant."""
    return bool(no_show or rejected)


def incentive_may_be_withheld(*, sent):
    """Whether a No-show (or its Undo) may still change the outcome: until it is sent."""
    return not sent
