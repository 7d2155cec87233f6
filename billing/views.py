"""Budgets, Add Funds, budget history (and its CSV) and receipts. Thin: services decide."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from billing import panel_incentives, payouts, selectors, services
from billing.forms import BudgetCreateForm, FundsAddForm, ReceiptFilterForm
from billing.models import ZERO, Payout, TransferKind
from billing.money import money_format
from billing.receipts import receipt_document, receipt_filename, receipt_pdf
from rally.exports import csv_response
from rally.http import safe_next
from rally.permissions import Permission
from rally.selectors import require_permission

HISTORY_PAGE_SIZE = 50


def _reader(request):
    """Admins and Ops Managers read budgets, reservations and receipts (SPEC W2)."""
    return require_permission(request.membership, Permission.READ_ALL_BUDGETS)


def _permissions(membership):
    """What the budgets pages' actions and their shared dialogs (billing/_dialogs.html) need:
    every page that includes the "New budget" dialog gets its form."""
    can_manage = membership.allows(Permission.MANAGE_BUDGETS)
    return {"can_add_funds": membership.allows(Permission.ADD_FUNDS),
            "can_manage_budgets": can_manage,
            "create_form": BudgetCreateForm() if can_manage else None}


# Budgets -----------------------------------------------------------------------------------


def _budgets_context(request, membership, tab):
    budgets = selectors.budgets_with_figures(membership.workspace)
    totals = selectors.BudgetFigures(
        available=sum((b.figures.available for b in budgets), ZERO),
        reserved=sum((b.figures.reserved for b in budgets), ZERO),
        spent=sum((b.figures.spent for b in budgets), ZERO))
    return {"tab": tab, "budgets": budgets, "totals": totals, **_permissions(membership)}


@login_required
def budgets(request):
    membership = _reader(request)
    context = _budgets_context(request, membership, "all")
    if request.htmx.target == "budget-table":
        return render(request, "billing/budgets.html#budget_table", context)
    return render(request, "billing/budgets.html", context)


PAYOUTS_PAGE_SIZE = 50


@login_required
def payments(request):
    """Every incentive payout of the workspace (SPEC I3): who, amount, trigger, state, UI's
    payment id and time; a study filter; "Retry" on failed ones."""
    membership = _reader(request)
    studies = payouts.payout_studies(workspace=membership.workspace)
    study_id = request.GET.get("study") or ""
    if study_id not in {str(pk) for pk, _ in studies}:
        study_id = ""
    page = Paginator(payouts.payouts_for_workspace(workspace=membership.workspace,
                                                   study_id=study_id or None),
                     PAYOUTS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/payments.html", {
        "tab": "payments", **_permissions(membership),
        "page": page, "payouts": page.object_list, "studies": studies,
        "study_filter": study_id,
        "can_retry": membership.allows(Permission.REVIEW_APPLICANTS),
        # Incentives teams paid their own panel participants (recorded, not sent by Rally).
        "panel_incentives": panel_incentives.panel_incentive_payments(
            membership.workspace, study_id=study_id or None),
    })


@login_required
@require_POST
def payout_retry(request, payout_id):
    membership = require_permission(request.membership, Permission.READ_ALL_BUDGETS)
    try:
        payout = payouts.payout_retry(membership=membership, payout_id=payout_id)
    except payouts.PayoutRefused as error:
        messages.error(request, error.message)
    else:
        if payout.state == payout.State.FAILED:
            messages.error(request, f"The payment could not be sent: {payout.failure_reason}")
        else:
            messages.success(request, f"Sending the incentive for {payout.participant_label} "
                                      f"again.")
    return redirect(safe_next(request, reverse("billing:payments")))


@login_required
def reservations(request):
    membership = _reader(request)
    return render(request, "billing/reservations.html", {
        "tab": "reservations", **_permissions(membership),
        "reservations": selectors.reservations_with_figures(membership.workspace),
    })


@login_required
@require_http_methods(["GET", "POST"])
def budget_create(request):
    membership = require_permission(request.membership, Permission.MANAGE_BUDGETS)
    form = BudgetCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            budget = services.budget_create(membership=membership,
                                            name=form.cleaned_data["name"])
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Created the budget {budget.name}.")
            return redirect("billing:budget_detail", budget_id=budget.pk)
    return render(request, "billing/budget_create.html", {"form": form},
                  status=400 if form.errors else 200)


@login_required
def budget_detail(request, budget_id):
    membership = request.membership
    budget = selectors.get_budget_for_user(membership, budget_id,
                                           permission=Permission.READ_ALL_BUDGETS)
    page = Paginator(selectors.budget_history(budget), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page"))
    for transfer in page:
        transfer.effect = selectors.budget_history_effect(transfer)
    return render(request, "billing/budget_detail.html", {
        "budget": budget,
        "figures": selectors.budget_figures_for([budget])[budget.pk],
        "page": page,
        "reservations": selectors.reservations_with_figures(membership.workspace,
                                                            budget=budget),
        **_permissions(membership),
    })


@login_required
def budget_history_csv(request, budget_id):
    budget = selectors.get_budget_for_user(request.membership, budget_id,
                                           permission=Permission.READ_ALL_BUDGETS)
    labels = dict(TransferKind.choices)
    # The reader's zone, named in the header (SPEC W6); read now, before the rows stream.
    zone = timezone.get_current_timezone()
    rows = ([transfer.created_at.astimezone(zone).isoformat(), labels[transfer.kind],
             transfer.description, transfer.study_id or "", transfer.actor_display,
             transfer.amount, selectors.budget_history_effect(transfer), transfer.key]
            for transfer in selectors.budget_history(budget).iterator(chunk_size=500))
    return csv_response(filename=f"budget-history-{budget.pk}.csv", rows=rows, header=[
        f"Date ({zone.key})", "Movement", "Details", "Study ID", "By", "Amount",
        "Change to Available", "Key"])


@login_required
def payments_csv(request):
    """The Payments list as CSV (the same study filter), for the finance team."""
    membership = _reader(request)
    study_id = request.GET.get("study") or ""
    if study_id not in {str(pk) for pk, _ in payouts.payout_studies(
            workspace=membership.workspace)}:
        study_id = ""
    states = dict(Payout.State.choices)
    triggers = dict(Payout.Trigger.choices)
    rows = ([payout.created_at.isoformat(), payout.study_name, payout.study_id,
             payout.participant_label, payout.amount, triggers.get(payout.trigger, ""),
             states.get(payout.state, payout.state), payout.due_at.isoformat(),
             payout.sent_at.isoformat() if payout.sent_at else "",
             payout.confirmed_at.isoformat() if payout.confirmed_at else "",
             payout.ui_payment_id, payout.failure_reason, payout.pk]
            for payout in payouts.payouts_for_workspace(
                workspace=membership.workspace,
                study_id=study_id or None).iterator(chunk_size=500))
    return csv_response(filename="payments.csv", rows=rows, header=[
        "Created (UTC)", "Study", "Study ID", "Participant", "Amount (USD)", "Trigger",
        "State", "Due (UTC)", "Sent (UTC)", "Paid (UTC)", "User Interviews payment ID",
        "Failure reason", "Payout ID"])


@login_required
@require_http_methods(["GET", "POST"])
def funds_add(request, budget_id):
    """Add Funds: a page without JavaScript, a partial inside a <dialog> with htmx. Other
    pages embed it (`data-hx-get` this URL with `?next=<their URL>`); on success an htmx request
    gets a confirmation and the `fundsAdded` event (with the budget's new Available)."""
    membership = request.membership
    budget = selectors.get_budget_for_user(membership, budget_id,
                                           permission=Permission.ADD_FUNDS)
    next_url = safe_next(request, reverse("billing:budget_detail", args=[budget.pk]))
    # "inline": embedded in another page's dialog (Review & Start), which keeps its own
    # controls: no Cancel/Done that would close that dialog.
    inline = (request.POST.get("embed") or request.GET.get("embed")) == "inline"
    form = FundsAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            transfer = services.budget_add_funds(
                membership=membership, budget=budget, amount=form.cleaned_data["amount"],
                reference=form.cleaned_data["reference"], key=form.cleaned_data["key"])
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            available = selectors.budget_figures_for([budget])[budget.pk].available
            message = (f"Added {money_format(transfer.amount)} to {budget.name}. "
                       f"Available is now {money_format(available)}.")
            if request.htmx:
                response = render(request, "billing/funds_add.html#funds_done", {
                    "budget": budget, "message": message, "next": next_url,
                    "inline": inline})
                # A dialog that refreshes on this event replaces the confirmation below:
                # rally.js then says the message itself.
                response["HX-Trigger"] = json.dumps({"fundsAdded": {
                    "budget": str(budget.pk), "available": str(available),
                    "message": message}})
                return response
            messages.success(request, message)
            return redirect(next_url)
    context = {"budget": budget, "form": form, "next": next_url, "inline": inline,
               "in_dialog": request.htmx and not inline}
    if request.htmx:
        # htmx swaps only 2xx answers: the form with its errors comes back as 200.
        return render(request, "billing/funds_add.html#funds_form", context)
    return render(request, "billing/funds_add.html", context,
                  status=400 if form.errors else 200)


# Receipts ----------------------------------------------------------------------------------


@login_required
def receipts(request):
    membership = _reader(request)
    form = ReceiptFilterForm(request.GET or None, workspace=membership.workspace)
    filters = form.cleaned_data if form.is_valid() else {}
    receipt_list = selectors.receipts_for_workspace(
        membership.workspace, budget=filters.get("budget"),
        issued_from=filters.get("issued_from"), issued_to=filters.get("issued_to"))
    page = Paginator(receipt_list, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "billing/receipts.html", {
        "form": form, "page": page, "filtered": bool(filters and any(filters.values())),
    }, status=400 if form.errors else 200)


@login_required
def receipt_detail(request, receipt_id):
    receipt = selectors.get_receipt_for_user(request.membership, receipt_id,
                                             permission=Permission.READ_ALL_BUDGETS)
    return render(request, "billing/receipt_detail.html",
                  receipt_document(receipt, reader=request.user))


@login_required
def receipt_pdf_download(request, receipt_id):
    receipt = selectors.get_receipt_for_user(request.membership, receipt_id,
                                             permission=Permission.READ_ALL_BUDGETS)
    response = HttpResponse(receipt_pdf(receipt, reader=request.user),
                            content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipt_filename(receipt)}"'
    return response

