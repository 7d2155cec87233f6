"""The Participants tab (SPEC P1), the external profile (P2) and the review actions (P3)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from participants import consent, profile, review, row_actions, services
from participants.forms import BulkReviewForm, RejectForm
from participants.models import Application
from participants.selectors import application_counts_by_status, get_application_for_user
from rally.exports import csv_response
from rally.http import safe_next
from rally.lists import ListQuery, page_of
from rally.permissions import Permission
from studies.lifecycle import study_on_team
from studies.models import Source
from studies.models import Status as StudyStatus
from studies.pages import study_page_context
from studies.selectors import get_study_for_user

PAGE_SIZE = 50
Status = Application.Status


def _can_review(request, study):
    return request.membership.allows(Permission.REVIEW_APPLICANTS,
                                     on_team=study_on_team(study, request.user))


def _list_links(study, query):
    """The Participants tab's URLs (chips, sort headers, pages) for `query`, made as every
    list makes them (rally.lists)."""
    return ListQuery(reverse("participants:study_participants", kwargs={"study_id": study.id}),
                     query.params(), default_sort=review.DEFAULT_SORT)


def _seats(study, counts):
    taken = review.seats_from_counts(counts)
    limit = study.participation_limit
    return {"taken": taken, "limit": limit, "full": limit is not None and taken >= limit,
            "free": None if limit is None else max(limit - taken, 0)}


@login_required
@require_GET
def study_applicants_csv(request, study_id):
    """The study's applicants as CSV: what Rally keeps about each (SPEC P5: minimal)."""
    study = get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    statuses = dict(Status.choices)
    applications = (Application.objects.filter(study=study).select_related("participant")
                    .order_by("applied_at", "id"))
    rows = ([application.participant.display_name, statuses.get(application.status, ""),
             application.get_source_display(), application.get_qualification_display(),
             application.applied_at.isoformat() if application.applied_at else "",
             application.ui_applicant_id or "", application.pk]
            for application in applications.iterator(chunk_size=500))
    return csv_response(filename=f"applicants-{study.pk}.csv", rows=rows, header=[
        "Participant", "Status", "Source", "Qualification", "Applied (UTC)",
        "User Interviews applicant ID", "Application ID"])


@login_required
@require_GET
def study_participants(request, study_id):
    study = get_study_for_user(request.membership, study_id, permission=Permission.VIEW)
    query = review.ListQuery.from_params(request.GET)
    counts = application_counts_by_status(study=study)
    total = sum(counts.values())
    page = page_of(review.applications_review_list(study=study, query=query), request.GET,
                   PAGE_SIZE)
    rows = list(page.object_list)
    progress = review.review_progress(rows)
    links = _list_links(study, query)
    invites_open = study.status != StudyStatus.CLOSED
    # What higher apps add to each row: "Complete & Send payment", "Record incentive"…
    extras = row_actions.row_actions(request, study, rows)
    # Rally-panel studies show who agreed to which consent version (SPEC P7).
    show_consent = study.source == Source.RALLY_PANEL and bool(
        study.consent_form or study.consent_required)
    consents = (consent.consent_latest_by_participant(
        study=study, participant_ids={application.participant_id for application in rows})
        if show_consent else {})
    context = {
        **study_page_context(request, study, "participants"),
        "query": query,
        "query_string": urlencode(query.params()),
        "list_url": links.url(),
        "page_url": links.url(page=page.number),
        "page": page,
        "rows": [{"application": application, "operation": progress.get(application.pk),
                  "can_invite": invites_open and application.can_become(Status.INVITED),
                  "can_reject": application.can_become(Status.REJECTED),
                  "extra_actions": extras.get(application.pk, {}).get("actions", ()),
                  "notes": extras.get(application.pk, {}).get("notes", ()),
                  "consent": consents.get(application.participant_id)}
                 for application in rows],
        "show_consent": show_consent,
        "any_pending": any(op.status == "pending" for op in progress.values()),
        "total": total,
        "chips": [{"status": "", "label": "All", "count": total,
                   "url": links.url(status=None),
                   "current": not query.status}]
        + [{"status": status, "label": label, "count": counts[status],
            "url": links.url(status=status),
            "current": query.status == status}
           for status, label in Status.choices],
        "columns": [{**links.sort_link(key, label, descending_first=key == "applied"),
                     "key": key, "numeric": key in ("version", "matched")}
                    for key, (label, _fields) in review.SORTS.items()],
        "seats": _seats(study, counts),
        "can_review": _can_review(request, study),
        "invites_open": invites_open,
        "pages": links.page_links(page),
    }
    template = "participants/study_participants.html"
    if request.htmx and request.htmx.target == "applicants-table":
        template += "#table"
    return render(request, template, context)


@login_required
@require_GET
def applicant_profile(request, study_id, application_id):
    application = get_application_for_user(request.membership, study_id, application_id,
                                           permission=Permission.VIEW)
    study = application.study
    query = review.ListQuery.from_params(request.GET)
    previous_id, next_id = review.application_neighbours(study=study, query=query,
                                                         application=application)
    query_string = urlencode(query.params())

    def profile_url(pk):
        if pk is None:
            return None
        url = reverse("participants:applicant_profile",
                      kwargs={"study_id": study.id, "application_id": pk})
        return f"{url}?{query_string}" if query_string else url

    counts = application_counts_by_status(study=study)
    progress = review.review_progress([application])
    return render(request, "participants/applicant_profile.html", {
        **study_page_context(request, study, "participants"),
        "application": application,
        "participant": application.participant,
        "screener": review.screener_answers(application),
        "matched": review.criteria_described(application.matched_criteria),
        "unmet": review.unmet_described(application, study),
        "properties": review.profile_properties(
            application.participant,
            show_pii=request.membership.allows(Permission.MANAGE_PANEL)),
        "history": review.participant_history(application=application),
        "operation": progress.get(application.pk),
        "previous_url": profile_url(previous_id),
        "next_url": profile_url(next_id),
        "list_url": _list_links(study, query).url(),
        "here": profile_url(application.pk),
        "seats": _seats(study, counts),
        "can_review": _can_review(request, study),
        "can_invite": (study.status != StudyStatus.CLOSED
                       and application.can_become(Status.INVITED)),
        "can_reject": application.can_become(Status.REJECTED),
        "reject_form": RejectForm(),
        # What higher apps add about this applicant (a test completion and its payout).
        "panels": profile.profile_panels(request, study, application),
    })


@login_required
@require_POST
def applicant_invite(request, study_id, application_id):
    application = get_application_for_user(request.membership, study_id, application_id,
                                           permission=Permission.REVIEW_APPLICANTS)
    study = application.study
    fallback = reverse("participants:study_participants", kwargs={"study_id": study.id})
    try:
        services.applicant_invite(membership=request.membership, study=study,
                                  application_id=application.pk)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _invited_message(application))
    return redirect(safe_next(request, fallback))


def _invited_message(application):
    name = application.participant.display_name
    if application.ui_applicant_id:
        return f"Invited {name} — User Interviews sends the invitation."
    return _sentence(f"Invited {name}")


def _sentence(text):
    """End `text` with one full stop (names end with their initial's)."""
    return text if text.endswith(".") else f"{text}."


@login_required
@require_http_methods(["GET", "POST"])
def applicant_reject(request, study_id, application_id):
    """GET: the reason form (the page behind the dialog, for use without JavaScript)."""
    application = get_application_for_user(request.membership, study_id, application_id,
                                           permission=Permission.REVIEW_APPLICANTS)
    study = application.study
    fallback = reverse("participants:study_participants", kwargs={"study_id": study.id})
    form = RejectForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.applicant_reject(membership=request.membership, study=study,
                                          application_id=application.pk,
                                          reason=form.cleaned_data["reason"])
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _sentence(
                    f"Rejected {application.participant.display_name}"))
            return redirect(safe_next(request, fallback))
        status = 422
    return render(request, "participants/applicant_reject.html", {
        **study_page_context(request, study, "participants"),
        "application": application, "form": form,
        "next": safe_next(request, fallback),
    }, status=status)


@login_required
@require_POST
def applicants_bulk(request, study_id):
    """Invite or reject the selected applicants. Without the confirmation (no JavaScript,
    so no dialog) it answers a page that asks for it."""
    study = get_study_for_user(request.membership, study_id,
                               permission=Permission.REVIEW_APPLICANTS)
    fallback = reverse("participants:study_participants", kwargs={"study_id": study.id})
    next_url = safe_next(request, fallback)
    data = request.POST.copy()
    if data.get("confirm") in ("invite", "reject"):
        data["decision"] = data["confirm"]
    form = BulkReviewForm(data)
    ids = request.POST.getlist("application")
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(next_url)
    if not ids:
        messages.error(request, "Select at least one applicant.")
        return redirect(next_url)
    decision = form.cleaned_data["decision"]
    if not request.POST.get("confirm"):
        selected = list(Application.objects.filter(
            study=study, pk__in=_uuids(ids)).select_related("participant")
            .order_by("participant__first_name"))
        return render(request, "participants/bulk_confirm.html", {
            **study_page_context(request, study, "participants"),
            "decision": decision, "selected": selected, "ids": ids, "next": next_url,
            "form": form, "unknown": len(set(ids)) - len(selected),
        })
    try:
        changed = services.applicants_bulk_review(
            membership=request.membership, study=study, application_ids=ids,
            decision=decision, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        count = sum(1 for application in changed
                    if application.status == services.REVIEW_DECISIONS[decision][0])
        word = "Invited" if decision == "invite" else "Rejected"
        messages.success(request, f"{word} {count} applicant{'s' if count != 1 else ''}.")
    return redirect(next_url)


def _uuids(values):
    parsed = []
    for value in values:
        try:
            parsed.append(uuid.UUID(value))
        except ValueError:
            continue
    return parsed
