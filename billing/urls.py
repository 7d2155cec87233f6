from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("budgets/", views.budgets, name="budgets"),
    path("budgets/payments/", views.payments, name="payments"),
    path("budgets/payments/export.csv", views.payments_csv, name="payments_csv"),
    path("budgets/payments/<uuid:payout_id>/retry/", views.payout_retry, name="payout_retry"),
    path("budgets/reservations/", views.reservations, name="reservations"),
    path("budgets/new/", views.budget_create, name="budget_create"),
    path("budgets/<uuid:budget_id>/", views.budget_detail, name="budget_detail"),
    path("budgets/<uuid:budget_id>/history.csv", views.budget_history_csv,
         name="budget_history_csv"),
    path("budgets/<uuid:budget_id>/add-funds/", views.funds_add, name="funds_add"),
    path("receipts/", views.receipts, name="receipts"),
    path("receipts/<uuid:receipt_id>/", views.receipt_detail, name="receipt_detail"),
    path("receipts/<uuid:receipt_id>/pdf/", views.receipt_pdf_download, name="receipt_pdf"),
]
