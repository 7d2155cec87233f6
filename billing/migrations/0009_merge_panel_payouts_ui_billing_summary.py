# Joins the branches that added team-paid panel payouts and the UI billing summary.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0006_panel_payouts_paid_by_team'),
        ('billing', '0008_ui_billing_summary'),
    ]

    operations = [
    ]
