"""Reconcile the ledger; exit non-zero and say what is wrong when an invariant is broken."""

import sys

from django.core.management.base import BaseCommand

from billing.models import Transfer
from billing.reconciliation import ledger_problems, ui_billing_problems


class Command(BaseCommand):
    help = ("Check the money invariants: debits equal credits, no negative available or hold, "
            "each study's reservation adds up, and no money appeared or vanished; and compare "
            "each closed study's figures with User Interviews' closing billing summary.")

    def handle(self, *args, **options):
        problems = ledger_problems() + ui_billing_problems()
        if problems:
            for problem in problems:
                self.stderr.write(f"PROBLEM: {problem}")
            self.stderr.write(f"{len(problems)} problem(s) in the ledger or against User "
                              f"Interviews' figures.")
            sys.exit(1)
        self.stdout.write(f"Ledger OK: {Transfer.objects.count()} transfers reconcile.")
