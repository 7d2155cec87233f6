from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _prices_ensure(**kwargs):
    """The B1 prices are data: put them back whenever the tables were emptied and migrated
    again (a flush between transactional tests sends post_migrate too)."""
    from billing.pricing import prices_seed_defaults

    prices_seed_defaults()


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_prices_ensure, sender=self, dispatch_uid="billing-prices")
        from billing import tasks  # noqa: F401 - registers the payout sweeper task
