"""The database refuses UPDATE/DELETE of transfers and receipts; the prices of SPEC B1."""

import datetime
from decimal import Decimal

from django.db import migrations

from rally.db import append_only

B1_PRICES = [
    ("b2b", "moderated", Decimal("65.00")),
    ("b2b", "unmoderated", Decimal("43.00")),
    ("b2c", "moderated", Decimal("39.00")),
    ("b2c", "unmoderated", Decimal("26.00")),
]
EFFECTIVE_FROM = datetime.date(2024, 1, 1)


def seed_prices(apps, schema_editor):
    Price = apps.get_model("billing", "Price")
    for audience_type, kind, amount in B1_PRICES:
        Price.objects.get_or_create(audience_type=audience_type, kind=kind,
                                    effective_from=EFFECTIVE_FROM, defaults={"amount": amount})


def unseed_prices(apps, schema_editor):
    apps.get_model("billing", "Price").objects.filter(effective_from=EFFECTIVE_FROM).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("rally", "0002_append_only_activity"),
    ]

    operations = [
        append_only("billing_transfer"),
        append_only("billing_receipt"),
        migrations.RunPython(seed_prices, unseed_prices),
    ]
