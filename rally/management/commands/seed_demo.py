"""Seed the demo workspace (development only; idempotent)."""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from rally import demo


class Command(BaseCommand):
    help = "Create or refresh the demo workspace 'Acme Research' and its sign-ins."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", default=demo.WORKSPACE_NAME,
                            help="Seed a workspace of this name (default: %(default)s).")

    def handle(self, *args, workspace=demo.WORKSPACE_NAME, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates known passwords.")
        with transaction.atomic():
            context = demo.seed(workspace)
            # Each app's own demo data, in dependency order (INSTALLED_APPS order).
            for config in apps.get_app_configs():
                module_name = f"{config.name}.demo"
                if config.name != "rally" and find_spec(module_name) is not None:
                    import_module(module_name).seed(context)
        self.stdout.write(self.style.SUCCESS(
            f"Demo workspace '{context.workspace.name}' is ready. Sign in with "
            + ", ".join(email for email, _, _ in demo.PEOPLE)
            + f" (password {demo.PASSWORD})."))
