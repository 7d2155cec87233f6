"""Scheduling pages: the public booking page (signed link), the Scheduling tab, the Calendar.

Thin: services decide, selectors read, the slot engine computes.
"""

import json
from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from participants.consent import AGREE_FIRST, consent_asked, consent_booking_problem
from rally import clock
from rally.permissions import Permission, require
from rally.selectors import require_permission, workspace_members
from scheduling import host_calendars, selectors, services
from scheduling.forms import CalendarConnectForm, SchedulingSettingsForm
from scheduling.models import SchedulingSettings, Session
from scheduling.slots import slots_by_local_day, time_zone_choices, time_zone_is_known
from studies import pages
from studies.models import Status, StudyType
from studies.selectors import get_study_for_user

# The booking page --------------------------------------------------------------------------


def _wants_json(request):
    return "application/json" in request.headers.get("Accept", "") or (
        request.content_type == "application/json")


def _link_problem(request, error):
    status = 403 if error.expired else 404
    if _wants_json(request):
        return JsonResponse({"error": error.message}, status=status)
    return render(request, "scheduling/booking_invalid.html", {"message": error.message},
                  status=status)


def _booking_zone(request, scheduling, session):
    for candidate in (request.POST.get("time_zone"), request.GET.get("tz"),
                      session.participant_time_zone if session else ""):
        if candidate and time_zone_is_known(candidate):
            return candidate
    return scheduling.time_zone


def _slot_json(slot):
    return {"startsAt": slot.starts_at.isoformat(), "endsAt": slot.ends_at.isoformat()}


def _session_json(session):
    return {"id": str(session.pk), "startsAt": session.starts_at.isoformat(),
            "endsAt": session.ends_at.isoformat(), "status": session.status,
            "meetingUrl": session.meeting_url, "address": session.location}


def _booking_state(invitation):
    application = selectors.booking_application(invitation=invitation)
    if application is None:
        raise services.InvalidBookingLink("This booking link is not valid any more.")
    study = application.study
    scheduling = services.scheduling_settings_read(study=study)
    session = selectors.booking_session_current(application=application)
    return application, study, scheduling, session


def _slots_for(study, scheduling, session, *, open_for_booking):
    if not open_for_booking:
        return []
    return services.study_slots(study=study, scheduling=scheduling, now=clock.now(),
                                exclude_session=session if session and
                                session.status == Session.Status.UPCOMING else None)


def _can_book(application, study, session):
    if study.status == Status.CLOSED or study.study_type not in (StudyType.INTERVIEW,
                                                                   StudyType.GROUP_INTERVIEW):
        return False
    if session is not None and session.status == Session.Status.UPCOMING:
        return session.starts_at > clock.now()
    return application.status in services.BOOKING_STATUSES


@csrf_exempt  # the signed link is the credential; no cookie session is involved
@require_http_methods(["GET", "POST"])
def booking(request, token):
    try:
        invitation = services.invitation_from_token(token)
        application, study, scheduling, session = _booking_state(invitation)
    except services.InvalidBookingLink as error:
        return _link_problem(request, error)
    if request.method == "POST":
        return _booking_post(request, invitation, application, study, scheduling, session)
    zone = _booking_zone(request, scheduling, session)
    open_for_booking = _can_book(application, study, session)
    slots = _slots_for(study, scheduling, session, open_for_booking=open_for_booking)
    if _wants_json(request):
        return JsonResponse({"timezone": zone, "slots": [_slot_json(s) for s in slots]})
    return _booking_render(request, application=application, study=study, session=session,
                           zone=zone, slots=slots, open_for_booking=open_for_booking,
                           changing=request.GET.get("change") == "1")


def _booking_render(request, *, application, study, session, zone, slots, open_for_booking,
                    changing=False, error="", status=200):
    upcoming = session if session and session.status == Session.Status.UPCOMING else None
    # A Rally-panel study's consent form, when this person has not agreed to it yet (SPEC P7):
    # they agree here before the times are offered.
    consent_problem = "" if upcoming else consent_booking_problem(
        study=study, participant=application.participant)
    if consent_problem:
        open_for_booking = open_for_booking and consent_problem == AGREE_FIRST
    return render(request, "scheduling/booking.html", {
        "consent": consent_asked(study) if consent_problem == AGREE_FIRST else None,
        "consent_problem": consent_problem,
        "application": application,
        "participant_name": application.participant.display_name,
        "study": study,
        "session": session,
        "upcoming": upcoming,
        "zone": zone,
        "zones": time_zone_choices(),
        **_slot_days(study, slots, zone),
        "open_for_booking": open_for_booking,
        "closed": study.status == Status.CLOSED,
        "show_slots": (open_for_booking and not consent_problem
                       and (upcoming is None or changing or bool(error))),
        "error": error,
        "token": request.resolver_match.kwargs["token"],
    }, status=status)


def _slot_days(study, slots, zone):
    """The offered times by local day. For a Group Interview, times whose group already has
    people come first, each with its seats left, so started groups fill before new ones
    open (SPEC C7)."""
    if study.study_type != StudyType.GROUP_INTERVIEW:
        return {"days": slots_by_local_day(slots, zone), "group": False}
    capacity = (SchedulingSettings.objects.filter(study=study)
                .values_list("group_capacity", flat=True).first()) or 1
    started = [slot for slot in slots if slot.seats_left < capacity]
    fresh = [slot for slot in slots if slot.seats_left >= capacity]
    return {"group": True, "started_days": slots_by_local_day(started, zone),
            "days": slots_by_local_day(fresh, zone)}


def _booking_post(request, invitation, application, study, scheduling, session):
    as_json = _wants_json(request)
    zone = _booking_zone(request, scheduling, session)
    if as_json:
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return JsonResponse({"error": "The request body must be JSON."}, status=400)
        if not isinstance(body, dict):
            return JsonResponse({"error": "The request body must be a JSON object."}, status=400)
        action, raw_time = body.get("action", "book"), body.get("startsAt")
        zone = body.get("timezone") if time_zone_is_known(body.get("timezone") or "") else zone
    else:
        action, raw_time = request.POST.get("action", "book"), request.POST.get("starts_at")
    try:
        if action == "consent" and not as_json:
            services.booking_consent_agree(invitation=invitation,
                                           version_number=request.POST.get("consent_version"))
            messages.success(request, "Thank you: you agreed to the consent form. Choose a "
                                      "time below.")
            return redirect(reverse("scheduling:booking", kwargs={"token": invitation.token})
                            + "?" + urlencode({"tz": zone}))
        if action == "cancel":
            result = services.session_cancel(invitation=invitation)
        else:
            starts_at = services.booking_time_parse(raw_time)
            if starts_at is None:
                raise services.BookingRefused("Choose one of the available times.")
            upcoming = session is not None and session.status == Session.Status.UPCOMING
            if action == "reschedule" or (upcoming and as_json and action != "book"):
                result = services.session_reschedule(invitation=invitation,
                                                     starts_at=starts_at, time_zone=zone)
            else:
                result = services.session_book(invitation=invitation, starts_at=starts_at,
                                               time_zone=zone)
    except services.InvalidBookingLink as error:
        return _link_problem(request, error)
    except services.SchedulingError as error:
        status = 409 if isinstance(error, services.SlotTaken) else 422
        if as_json:
            if isinstance(error, services.BookingRefused) and raw_time is None:
                status = 400
            return JsonResponse({"error": error.message}, status=status)
        application, study, scheduling, session = _booking_state(invitation)
        open_for_booking = _can_book(application, study, session)
        slots = _slots_for(study, scheduling, session, open_for_booking=open_for_booking)
        return _booking_render(request, application=application, study=study, session=session,
                               zone=zone, slots=slots, open_for_booking=open_for_booking,
                               error=error.message, status=status)
    if as_json:
        return JsonResponse({"session": _session_json(result)},
                            status=201 if action == "book" else 200)
    notice = {"cancel": "Your session is canceled.",
              "reschedule": "Your session is moved."}.get(action, "Your session is booked.")
    messages.success(request, notice)
    return redirect(reverse("scheduling:booking", kwargs={"token": invitation.token})
                    + "?" + urlencode({"tz": zone}))


# The Scheduling tab ------------------------------------------------------------------------


def _viewer_zone(user):
    return user.time_zone if time_zone_is_known(user.time_zone) else "UTC"


@login_required
@require_http_methods(["GET", "POST"])
def study_scheduling(request, study_id):
    membership = request.membership
    study = get_study_for_user(membership, study_id, permission=Permission.VIEW)
    if not study.is_moderated:
        raise Http404
    can_edit = pages.study_editable(membership, study)
    scheduling = services.scheduling_settings_read(study=study)
    team = services.team_members(study)
    members = [m.user for m in workspace_members(membership.workspace)]
    form_args = {"study": study, "team": team, "members": members}
    status = 200
    if request.method == "POST":
        require(membership, Permission.EDIT_STUDY)  # after the 404 of a study without it
        form = SchedulingSettingsForm(request.POST, initial=SchedulingSettingsForm.initial_from(
            scheduling), **form_args)
        if form.is_valid():
            try:
                services.scheduling_settings_update(membership=membership, study=study,
                                                    data=form.settings_input())
            except ValidationError as error:
                form.apply_service_errors(error)
            else:
                messages.success(request, "Scheduling settings saved.")
                return redirect("scheduling:study_scheduling", study_id=study.id)
        status = 422
    else:
        form = SchedulingSettingsForm(initial=SchedulingSettingsForm.initial_from(scheduling),
                                      **form_args)
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    now = clock.now()
    sessions = selectors.sessions_with_outcomes(
        study=study, sessions=selectors.sessions_for_study(study=study), now=now)
    # A group is one session with its members: a heading row each, with its seats taken.
    taken = Counter(s.group_slot_id for s in sessions
                    if s.group_slot_id and s.status == Session.Status.UPCOMING)
    for session in sessions:
        session.group_taken = taken[session.group_slot_id]
    return render(request, "scheduling/study_scheduling.html", {
        **pages.study_page_context(request, study, "scheduling"),
        "can_edit": can_edit,
        "form": form,
        "scheduling": scheduling,
        # A group larger than the participation limit can never fill (SPEC C7).
        "capacity_over_limit": (study.study_type == StudyType.GROUP_INTERVIEW
                                and study.participation_limit is not None
                                and scheduling.group_capacity > study.participation_limit),
        "sessions": sessions,
        "viewer_zone": _viewer_zone(request.user),
        "zones": time_zone_choices(),
        "now": now,
        "markable": {s.pk for s in sessions if s.outcome.ended
                     and services.session_may_be_marked_by(membership, s, study=study)},
        "changeable": {s.pk for s in sessions if s.status == Session.Status.UPCOMING
                       and s.starts_at > now
                       and services.session_may_be_marked_by(membership, s, study=study)},
        "payable": _payable(membership, study, sessions, now),
        "calendar_flags": host_calendars.calendar_flags_for_hosts(
            [host.pk for host in services.settings_hosts(scheduling)]),
    }, status=status)


def _payable(membership, study, sessions, now):
    """Sessions whose menu offers "Complete & Send payment": ended, not a No-show or
    canceled, participant not rejected, incentive not yet sent (UI studies only)."""
    if not study.is_user_interviews or not services.study_incentives_payable_by(
            membership, study):
        return set()
    return {s.pk for s in sessions if s.ends_at <= now and not s.outcome.incentive_sent
            and s.status in (Session.Status.UPCOMING, Session.Status.COMPLETED)
            and s.application.status != "rejected"}


@login_required
@require_POST
def session_mark(request, session_id):
    membership = request.membership
    session = selectors.get_session_for_user(membership, session_id,
                                             permission=Permission.VIEW)
    try:
        services.session_mark(membership=membership, session_id=session.pk,
                              status=request.POST.get("status", ""))
    except services.SchedulingError as error:
        messages.error(request, error.message)
    except ValueError:
        messages.error(request, "A session can be marked Completed or No-show.")
    else:
        messages.success(request, {
            "completed": "Session marked Completed." if session.status != "no_show"
            else "No-show undone: the session is Completed and its incentive is due again.",
            "no_show": "Session marked No-show: its incentive will not be sent.",
        }.get(request.POST.get("status", ""), "Session marked."))
    return redirect("scheduling:study_scheduling", study_id=session.study_id)


@login_required
@require_POST
def session_cancel_by_host(request, session_id):
    """A host's "Cancel" or "Reschedule" of an Upcoming session (SPEC C5)."""
    membership = request.membership
    session = selectors.get_session_for_user(membership, session_id,
                                             permission=Permission.VIEW)
    reason = request.POST.get("reason", "cancel")
    try:
        services.session_cancel_by_host(membership=membership, session_id=session.pk,
                                        reason=reason)
    except services.SchedulingError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Session canceled. The participant can book another time "
                                  "from their booking link." if reason == "cancel" else
                         "The participant is asked to choose a new time from their booking "
                         "link.")
    return redirect("scheduling:study_scheduling", study_id=session.study_id)


@login_required
@require_POST
def session_complete_and_pay(request, session_id):
    """"Complete & Send payment" from the session's three-dots menu (SPEC I1)."""
    membership = request.membership
    session = selectors.get_session_for_user(membership, session_id,
                                             permission=Permission.VIEW)
    try:
        _, payout = services.session_complete_and_pay(membership=membership,
                                                      session_id=session.pk)
    except services.SchedulingError as error:
        messages.error(request, error.message)
    else:
        if payout.state == payout.State.FAILED:
            messages.error(request, f"The payment could not be sent: {payout.failure_reason}")
        else:
            messages.success(request, "Session completed. The payment is on its way.")
    participants_tab = reverse("participants:study_participants",
                               kwargs={"study_id": session.study_id})
    # The Participants tab's row menu comes back to the same filtered page.
    back = pages.study_tab_return(request.POST.get("next", ""), [participants_tab])
    if back:
        return redirect(back)
    if session.is_test_completion:
        # Unmoderated Test completions are paid from the Participants tab (no Scheduling).
        return redirect(participants_tab)
    return redirect("scheduling:study_scheduling", study_id=session.study_id)


# The Calendar ------------------------------------------------------------------------------


@login_required
def calendar(request):
    membership = require_permission(request.membership, Permission.VIEW)
    sessions = selectors.sessions_upcoming_for_host(workspace=membership.workspace,
                                                    user=request.user, now=clock.now())
    return render(request, "scheduling/calendar.html", {
        "sessions": sessions, "viewer_zone": _viewer_zone(request.user)})


# A host's own calendar ---------------------------------------------------------------------


def _account_calendar_context(request, row, form):
    now = clock.now()
    return {
        "calendar": row,
        "form": form,
        "reading": row is not None and host_calendars.host_calendar_is_reading(row),
        "busy_count": host_calendars.host_busy_upcoming_count(request.user, now=now)
        if row else 0,
        "last_read": host_calendars.last_read_words(row, now=now) if row else "",
        "viewer_zone": _viewer_zone(request.user),
    }


@login_required
@require_http_methods(["GET", "POST"])
def account_calendar(request):
    """The host's own calendar: connect one (CalDAV or a feed), see whether it can be read."""
    row = host_calendars.host_calendar_of(request.user)
    status = 200
    if request.method == "POST":
        form = CalendarConnectForm(request.POST)
        if form.is_valid():
            try:
                host_calendars.host_calendar_connect(user=request.user,
                                                     data=form.connect_input())
            except ValidationError as error:
                form.apply_service_errors(error)
            else:
                messages.success(request, "Calendar connected. Rally is reading it now.")
                return redirect("scheduling:account_calendar")
        status = 422
    else:
        initial = {"kind": row.kind if row else "caldav"}
        if row is not None and row.kind == row.Kind.CALDAV:
            initial |= {"server_url": row.server_url, "username": row.username}
        form = CalendarConnectForm(initial=initial)
    template = "scheduling/account_calendar.html"
    if request.htmx and request.GET.get("part") == "status":
        template += "#status"
    return render(request, template, _account_calendar_context(request, row, form),
                  status=status)


@login_required
@require_POST
def account_calendar_refresh(request):
    if host_calendars.host_calendar_refresh(user=request.user) is None:
        messages.error(request, "Connect a calendar first.")
    else:
        messages.success(request, "Reading your calendar now.")
    return redirect("scheduling:account_calendar")


@login_required
@require_POST
def account_calendar_disconnect(request):
    if host_calendars.host_calendar_disconnect(user=request.user):
        messages.success(request, "Calendar disconnected. Its busy times no longer block "
                                  "sessions.")
    return redirect("scheduling:account_calendar")


@login_required
@require_POST
def account_calendar_write_back(request):
    try:
        host_calendars.host_calendar_write_target_set(
            user=request.user, calendar_url=request.POST.get("write_calendar_url", ""))
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, "Saved.")
    return redirect("scheduling:account_calendar")
