"""The demo tells a story over past weeks: each step runs through Rally's services with
Rally's clock (the one function every service reads) set back to when it happened."""

from contextlib import contextmanager

from rally import clock
from rally.services import activity_record


@contextmanager
def as_of(moment):
    """Run the services as if it were `moment` (the seed only: one thread, one transaction)."""
    real_now = clock.now
    clock.now = lambda: moment
    try:
        yield moment
    finally:
        clock.now = real_now


def activity_recorded_at(when, **entry):
    """The activity entry `activity_record` writes, as written `when`."""
    with as_of(when):
        return activity_record(**entry)
