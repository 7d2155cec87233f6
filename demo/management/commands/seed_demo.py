"""Seed the demo workspace (development only; idempotent)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from demo import (
    applicants,
    budgets,
    panel_recruiting,
    people,
    recruitment_history,
    sandbox_account,
    sessions,
    studies,
    unmoderated_test,
    workspace,
)

#: After the workspace, in this order: each builds on the ones before it (the applicants on
#: the studies, the sessions on the applicants, the recruitment history on all of them), and
#: the sandbox is told last what Rally holds.
SEEDS = (budgets, studies, people, applicants, sessions, panel_recruiting, recruitment_history,
         unmoderated_test, sandbox_account)


class Command(BaseCommand):
    help = "Create or refresh the demo workspace 'Acme Research' and its sign-ins."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", default=workspace.WORKSPACE_NAME,
                            help="Seed a workspace of this name (default: %(default)s).")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("seed_demo only runs with DEBUG on: it creates known passwords.")
        with transaction.atomic():
            context = workspace.seed(options["workspace"])
            for seed in SEEDS:
                seed.seed(context)
        self.stdout.write(self.style.SUCCESS(
            f"Demo workspace '{context.workspace.name}' is ready. Sign in with "
            + ", ".join(email for email, _, _ in workspace.PEOPLE)
            + f" (password {workspace.PASSWORD})."))
