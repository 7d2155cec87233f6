"""Scheduling reads that views share: sessions of a study, a host's calendar, booking state."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, Prefetch, Value, When
from django.http import Http404

from billing.incentive_due import incentive_due_at
from billing.payouts import payout_was_sent, payouts_by_session
from participants.models import Application
from rally.models import User
from rally.permissions import require
from scheduling.models import Session
from studies.lifecycle import study_on_team


def _sessions():
    return (Session.objects.select_related("host", "application__participant", "group_slot")
            .prefetch_related(Prefetch("guests", queryset=User.objects.order_by("name"))))


def sessions_for_study(*, study):
    """Every session of the study, upcoming first in time order, then the past ones."""
    return list(_sessions().filter(study=study).order_by("starts_at"))


@dataclass(frozen=True)
class SessionOutcome:
    """What the Sessions list says and offers about a session's end (SPEC C5, I2)."""

    ended: bool
    #: When the incentive goes out by itself, while a No-show can still stop it.
    due_at: datetime | None
    #: The incentive at stake (named in the No-show and payment confirmations).
    incentive: Decimal
    incentive_sent: bool
    may_confirm: bool  # "Completed": the session was not marked, or completed by itself
    may_no_show: bool
    may_undo: bool  # Undo of a No-show, until the incentive is sent


def sessions_with_outcomes(*, study, sessions, now):
    """Each session of the study's list with `.outcome` (a SessionOutcome), reading the
    payouts of the ended ones in one query."""
    ended_ids = [session.pk for session in sessions if session.ends_at <= now]
    payouts = payouts_by_session(ended_ids) if study.is_user_interviews and ended_ids else {}
    pays_through_ui = study.is_user_interviews
    Status = Session.Status
    for session in sessions:
        payout = payouts.get(session.pk)
        ended = session.ends_at <= now
        sent = payout_was_sent(payout)
        rejected = session.application.status == Application.Status.REJECTED
        due_at = None
        if ended and pays_through_ui and not sent and not rejected:
            if session.status == Status.UPCOMING:
                due_at = incentive_due_at(session.ends_at)
            elif session.status == Status.COMPLETED and payout is not None and (
                    payout.state == payout.State.NOT_SENT):
                due_at = payout.due_at
        session.outcome = SessionOutcome(
            ended=ended, due_at=due_at,
            incentive=payout.amount if payout is not None else study.incentive_amount,
            incentive_sent=sent,
            may_confirm=ended and (session.status == Status.UPCOMING or (
                session.status == Status.COMPLETED and session.completed_automatically)),
            may_no_show=ended and not sent and session.status in (Status.UPCOMING,
                                                                  Status.COMPLETED),
            may_undo=session.status == Status.NO_SHOW and not sent and not rejected,
        )
    return sessions


def sessions_upcoming_for_host(*, workspace, user, now):
    """A host's upcoming sessions across the workspace's studies (the Calendar page)."""
    return list(_sessions().select_related("study")
                .filter(workspace=workspace, host=user, status=Session.Status.UPCOMING,
                        ends_at__gt=now)
                .order_by("starts_at"))


def get_session_for_user(membership, session_id, *, permission):
    """A session of the member's workspace: 404 without a membership or for another
    workspace's (or no) session, 403 when the member may not do `permission` on its study
    (team-aware). The services called next still decide who may act on the session."""
    if membership is None:
        raise Http404
    session = (Session.objects.select_related("study", "study__owner", "host")
               .filter(workspace_id=membership.workspace_id, pk=session_id).first())
    if session is None:
        raise Http404
    require(membership, permission, on_team=study_on_team(session.study, membership.user))
    return session


def booking_application(*, invitation):
    """The application a booking link names, with what the booking page shows."""
    return (Application.objects.select_related("study", "study__owner", "participant")
            .filter(pk=invitation.application_id).first())


def booking_session_current(*, application):
    """The participant's upcoming session, else their latest one (None before booking)."""
    upcoming_first = Case(When(status=Session.Status.UPCOMING, then=Value(0)), default=Value(1))
    return (Session.objects.filter(application=application)
            .order_by(upcoming_first, "-created_at").first())
