"""Panel pages: "Invite from panel" on a study, the workspace's "Panel rules", "Record
incentive", and the pages panel people open from their email (the hosted screener and the
unsubscribe page; no sign-in: the signed link is the key)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from billing import panel_incentives
from billing.models import Budget, Payout, Reservation
from billing.selectors import budget_default_for
from billing.services import FundsShortError
from panel import links, selectors, services
from panel.models import PanelInvitation
from participants.consent import consent_asked, consent_version_parse
from participants.models import Application, Participant
from participants.selectors import people_matching, segment_get, segments_for_workspace
from rally.models import PropertyDefinition
from rally.permissions import Permission, Role
from rally.selectors import require_permission
from scheduling.models import Session
from scheduling.services import booking_url_for
from studies.models import Source
from studies.pages import study_page_context, study_tab_return
from studies.screeners.preview import screener_step
from studies.selectors import get_study_for_user

#: Rows the invite picker lists (the count and the invitation cover every match).
LIST_ROWS = 100


# Invite from panel ---------------------------------------------------------------------------


_CONTROL = dict.fromkeys(range(32))


def _plain(value):
    """Text without control characters (Postgres refuses NUL; none belong in a filter)."""
    return str(value or "").translate(_CONTROL)


def _filters_from(workspace, params):
    """(filters, segment, problems) from the picker's fields: a saved segment, search text
    and one property rule, AND-ed."""
    problems, segment, rules, text = [], None, [], ""
    segment_id = _plain(params.get("segment", ""))
    if segment_id:
        try:
            segment = segment_get(workspace=workspace, segment_id=segment_id)
        except Http404:  # a stale or crafted id: say so, filter nothing
            problems.append("That segment no longer exists; choose another.")
        else:
            saved = segment.filters if isinstance(segment.filters, dict) else {}
            rules = list(saved.get("rules") or [])
            text = str(saved.get("q") or "")
    query = _plain(params.get("q", "")).strip()[:200]
    if query:
        text = f"{text} {query}".strip()
    key, op = _plain(params.get("property", ""))[:60], _plain(params.get("op", ""))[:20]
    if key:
        value = ([_plain(item)[:200] for item in params.getlist("value")] if op == "in"
                 else _plain(params.get("value", ""))[:200])
        rules.append({"property": key, "op": op, "value": value})
    return {"q": text, "rules": rules}, segment, problems


def _visible_properties(membership, workspace):
    """The properties a member may filter by: PII ones only for Admins and Ops Managers."""
    definitions = PropertyDefinition.objects.filter(workspace=workspace).order_by("label")
    if membership.allows(Permission.MANAGE_PANEL):
        return list(definitions)
    return [definition for definition in definitions if not definition.is_pii]


def _picker(request, study, params):
    workspace = study.workspace
    filters, segment, problems = _filters_from(workspace, params)
    key = _plain(params.get("property", ""))[:60]
    properties = _visible_properties(request.membership, workspace)
    if key and key not in {d.key for d in properties} and PropertyDefinition.objects.filter(
            workspace=workspace, key=key).exists():
        problems.append("Only Admins and Ops Managers filter by personal (PII) properties.")
    people = None
    if not problems:
        try:
            people = people_matching(workspace=workspace, filters=filters)
        except ValidationError as error:
            problems = error.messages
    total = people.count() if people is not None else 0
    too_many = total > services.INVITE_BATCH_MAX
    rules = selectors.panel_rules_for(workspace)
    candidates = []
    if people is not None and not too_many:
        candidates = selectors.candidates_for(study=study, participants=people, rules=rules)
    elif people is not None:
        candidates = selectors.candidates_for(study=study, participants=people[:LIST_ROWS],
                                              rules=rules)
    return {
        "filters": filters, "segment": segment, "problems": problems, "total": total,
        "properties": properties,
        "too_many": too_many, "candidates": candidates[:LIST_ROWS],
        "more": max(total - LIST_ROWS, 0),
        "invitable": [c for c in candidates if c.invitable] if not too_many else [],
        "flagged": [c for c in candidates if c.overridable] if not too_many else [],
        "blocked": [c for c in candidates if c.blocked] if not too_many else [],
        "ids": [c.participant.pk for c in candidates] if not too_many else [],
        "rules": rules, "rules_words": selectors.panel_rules_in_words(rules),
        "override_count": sum(1 for c in candidates if c.invitable or c.overridable)
        if not too_many else 0,
    }


def _invite_url(study, params=None):
    url = reverse("panel:study_invite", kwargs={"study_id": study.id})
    kept = {key: params.getlist(key) for key in ("segment", "q", "property", "op", "value")
            if params and params.get(key)}
    return f"{url}?{urlencode(kept, doseq=True)}" if kept else url


@login_required
@require_http_methods(["GET", "POST"])
def study_invite(request, study_id):
    membership = request.membership
    study = get_study_for_user(membership, study_id, permission=Permission.VIEW)
    if study.source != Source.RALLY_PANEL:
        return render(request, "panel/study_invite.html", {
            **study_page_context(request, study, "panel_invite"), "not_panel": True},
            status=404)
    params = request.POST if request.method == "POST" else request.GET
    errors = {}
    if request.method == "POST":
        if not services.panel_invites_allowed(membership, study):
            raise PermissionDenied
        picker = _picker(request, study, params)
        override = params.get("override") == "1"
        try:
            if picker["problems"]:
                raise ValidationError(picker["problems"])
            if picker["too_many"]:
                raise ValidationError(f"Invite at most {services.INVITE_BATCH_MAX} people at a "
                                      f"time: narrow the filter.")
            result = services.panel_invite(
                membership=membership, study=study, participant_ids=picker["ids"],
                override=override, override_reason=params.get("override_reason", ""))
        except ValidationError as error:
            errors = (error.message_dict if hasattr(error, "error_dict")
                      else {"__all__": error.messages})
        else:
            count = len(result.invited)
            text = f"Invited {count} participant{'s' if count != 1 else ''} by email."
            if result.skipped:
                text += f" Skipped {len(result.skipped)}: " + "; ".join(
                    f"{name} ({', '.join(reasons)})" for name, reasons in result.skipped[:5])
                text += "…" if len(result.skipped) > 5 else "."
            messages.success(request, text)
            return redirect(_invite_url(study, params))
    picker = _picker(request, study, params)
    return render(request, "panel/study_invite.html", {
        **study_page_context(request, study, "panel_invite"),
        **picker,
        "errors": errors,
        "params": params,
        "segments": segments_for_workspace(workspace=study.workspace),
        "ops": [("eq", "is"), ("neq", "is not"), ("contains", "contains"),
                ("gt", "is more than"), ("gte", "is at least"), ("lt", "is less than"),
                ("lte", "is at most"), ("in", "is any of"), ("is_set", "is set"),
                ("not_set", "is not set"), ("is_true", "is yes"), ("is_false", "is no")],
        "invite_problem": services.study_invite_problem(study),
        "can_invite": services.panel_invites_allowed(membership, study),
        "can_override": services.panel_override_allowed(membership),
        "counts": selectors.invitation_counts(study=study),
        "incentives": _incentive_rows(study),
        "form_action": _invite_url(study),
    }, status=400 if errors else 200)


def overview_panel(request, study):
    """The study overview's "Rally panel" card (panel studies only)."""
    if study.source != Source.RALLY_PANEL or study.is_template:
        return None
    return "panel/overview_panel.html", {
        "counts": selectors.invitation_counts(study=study),
        "invite_url": reverse("panel:study_invite", kwargs={"study_id": study.id}),
        "rules_words": selectors.panel_rules_in_words(
            selectors.panel_rules_for(study.workspace)),
    }


# Panel rules -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def panel_rules(request):
    membership = require_permission(request.membership, Permission.VIEW)
    rules = selectors.panel_rules_for(membership.workspace)
    can_change = membership.role_enum == Role.ADMIN
    errors, values = {}, {"recent_contact_days": rules.recent_contact_days or "",
                          "max_studies_per_90_days": rules.max_studies_per_90_days or ""}
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        values = {key: request.POST.get(key, "") for key in values}
        try:
            services.panel_rules_update(membership=membership, **values)
        except ValidationError as error:
            errors = error.message_dict
        else:
            messages.success(request, "Saved the panel rules.")
            return redirect("panel:rules")
    return render(request, "panel/rules.html", {
        "rules": rules, "values": values, "errors": errors, "can_change": can_change,
        "rules_words": selectors.panel_rules_in_words(rules),
    }, status=400 if errors else 200)


# Record incentive --------------------------------------------------------------------------


def _incentive_rows(study):
    """Completed panel applications of the study with their recorded incentive (if any)."""
    completed = list(Application.objects.filter(
        study=study, source=Application.Source.RALLY_PANEL,
        status__in=[Application.Status.COMPLETED, Application.Status.PAID],
        sessions__status=Session.Status.COMPLETED).select_related("participant").distinct()
        .order_by("participant__first_name", "participant__last_name"))
    recorded = {transfer.key: transfer for transfer in
                panel_incentives.panel_incentive_payments(study.workspace, study_id=study.pk)}
    return [{"application": application,
             "transfer": recorded.get(panel_incentives.panel_incentive_key(application.pk))}
            for application in completed]


@login_required
@require_http_methods(["GET", "POST"])
def incentive_record(request, study_id, application_id):
    membership = request.membership
    study = get_study_for_user(membership, study_id,
                               permission=Permission.REVIEW_APPLICANTS)
    application = Application.objects.select_related("participant").filter(
        pk=application_id, study=study, source=Application.Source.RALLY_PANEL).first()
    if application is None:
        raise Http404
    reservation = Reservation.objects.filter(study_id=study.pk).select_related("budget").first()
    budgets = list(Budget.objects.filter(workspace=study.workspace).order_by("name"))
    default = budget_default_for(study.workspace) or next(iter(budgets), None)
    default_amount = f"{study.incentive_amount:.2f}" if study.incentive_amount else ""
    values = {"amount": default_amount, "method": "gift_card", "reference": "",
              "budget": str(reservation.budget_id if reservation else
                            default.pk if default else "")}
    errors = {}
    back = _incentive_back(study, request.POST.get("next") or request.GET.get("next", ""))
    existing = panel_incentives.panel_incentive_for(application.pk)
    # The payout that tracks this incentive (due 24 hours after the session): its amount is
    # what is owed.
    payout = Payout.objects.filter(application_id=application.pk, study_id=study.pk,
                                   paid_by_team=True).order_by("-created_at").first()
    if payout is not None:
        values["amount"] = f"{payout.amount:.2f}"
    if request.method == "POST" and existing is None:
        values = {key: request.POST.get(key, "") for key in values}
        try:
            services.panel_incentive_record(
                membership=membership, study=study, application_id=application.pk,
                amount=values["amount"], method=values["method"],
                reference=values["reference"], budget_id=values["budget"] or None)
        except FundsShortError as error:
            errors = {"amount": [error.messages[0]]}
        except ValidationError as error:
            errors = (error.message_dict if hasattr(error, "error_dict")
                      else {"__all__": error.messages})
        else:
            messages.success(request, f"Recorded the incentive for "
                                      f"{application.participant.display_name}.")
            return redirect(back)
    return render(request, "panel/incentive_record.html", {
        **study_page_context(request, study, "panel_invite"),
        "application": application, "values": values, "errors": errors,
        "existing": existing, "budgets": budgets, "reservation": reservation,
        "methods": panel_incentives.METHODS.items(), "back": back, "payout": payout,
    }, status=400 if errors else 200)


def _incentive_back(study, candidate):
    """Where "Record incentive" returns: the study's own Participants or Invite tab it was
    opened from (with that page's filters and page number), the Invite tab for anything else
    (another study's page, another site, garbage)."""
    invite_tab = reverse("panel:study_invite", kwargs={"study_id": study.id})
    participants_tab = reverse("participants:study_participants", kwargs={"study_id": study.id})
    # "Mark as paid" on Budgets → Payments comes back there too.
    return study_tab_return(candidate, [participants_tab, invite_tab,
                                        reverse("billing:payments")], invite_tab)


# The pages people open from their email ------------------------------------------------------


def _link_problem(request, error):
    return render(request, "panel/link_invalid.html", {"message": error.message,
                                                        "expired": error.expired},
                  status=410 if error.expired else 404)


@require_http_methods(["GET", "POST"])
def hosted_screener(request, token):
    """The Rally-hosted screener: one question at a time, logic applied, then the
    application (once). Earlier answers travel in hidden fields and are all checked again
    when the application is made."""
    try:
        invitation = services.invitation_for_token(token)
    except links.LinkInvalid as error:
        return _link_problem(request, error)
    study = invitation.study
    base = {"study": study, "person": invitation.participant, "token": token}
    if invitation.application_id is not None:
        return _already_applied(request, invitation)
    refusal = services.invitation_refusal(invitation)
    if refusal:
        return render(request, "panel/screener_closed.html", {**base, "message": refusal})
    number, questions = services.invitation_questions(invitation)
    consent = consent_asked(study)
    base["consent"] = consent
    base["consent_version"] = request.POST.get("consent_version", "") if consent else ""
    if request.method != "POST" or not (request.POST.get("action") == "start"
                                        or "current" in request.POST):
        # The study's introduction and "Start" (also for a post that is neither).
        return _screener_intro(request, base, questions, number)
    if consent is not None:
        try:
            consent_version_parse(study=study, value=base["consent_version"])
        except ValidationError as error:
            return _screener_intro(request, base, questions, number,
                                   consent_error=error.message_dict["consent"][0])
    step = screener_step(questions, request.POST)
    if step.finished:
        return _submit(request, invitation, step.answers, base, questions, number)
    return render(request, "panel/screener.html", {
        **base, **step.form(), "started": True, "number": len(step.seen) + 1,
        "total": len(questions), "version": number,
    }, status=400 if step.error else 200)


def _screener_intro(request, base, questions, number, consent_error=""):
    """The study's introduction, its consent form (when it asks for one) and "Start"."""
    return render(request, "panel/screener.html", {
        **base, "started": False, "total": len(questions), "version": number,
        "consent_error": consent_error}, status=400 if consent_error else 200)


def _already_applied(request, invitation):
    application = invitation.application
    booking_url = ""
    if application is not None and application.status == Application.Status.INVITED \
            and invitation.study.is_moderated:
        booking_url = booking_url_for(application)
    return render(request, "panel/screener_done.html", {
        "study": invitation.study, "person": invitation.participant, "already": True,
        "application": application, "booking_url": booking_url})


def _submit(request, invitation, answers, base, questions, number):
    try:
        submitted = services.panel_application_submit(
            invitation_id=invitation.pk, answers=answers,
            consent_version=base["consent_version"] or None)
    except services.AlreadyApplied:
        invitation = PanelInvitation.objects.select_related(
            "study", "participant", "application").get(pk=invitation.pk)
        return _already_applied(request, invitation)
    except services.ApplicationRefused as refused:
        return render(request, "panel/screener_closed.html",
                      {**base, "message": refused.message})
    except ValidationError as error:
        if hasattr(error, "error_dict") and "consent" in error.message_dict:
            return _screener_intro(request, base, questions, number,
                                   consent_error=error.message_dict["consent"][0])
        messages_ = [message for values in error.message_dict.values() for message in values] \
            if hasattr(error, "error_dict") else error.messages
        return render(request, "panel/screener_closed.html", {
            **base, "message": "Some answers could not be accepted: " + " ".join(messages_)
            + " Open the link from your email to start again."}, status=400)
    return render(request, "panel/screener_done.html", {
        **base, "application": submitted.application, "outcome": str(submitted.outcome),
        "booking_url": submitted.booking_url})


@csrf_exempt  # the signed token is the credential; mail apps POST here (RFC 8058 one-click)
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """One click: the page asks to confirm, the POST unsubscribes (mail scanners that follow
    links do not unsubscribe anyone)."""
    try:
        target = links.unsubscribe_token_read(token)
        person = Participant.objects.select_related("workspace").filter(
            pk=target.id, kind=Participant.Kind.PANEL).first() if services._is_uuid(
            target.id) else None
        if person is None:
            raise links.LinkInvalid("This unsubscribe link is not valid any more.")
    except links.LinkInvalid as error:
        return _link_problem(request, error)
    if request.method == "POST":
        person = services.participant_opt_out(participant_id=person.pk)
        return render(request, "panel/unsubscribe.html", {"person": person, "done": True})
    return render(request, "panel/unsubscribe.html", {
        "person": person, "done": False, "already": person.opted_out_at is not None})
