"""Refresh the audience criteria catalog from User Interviews (also run daily by beat)."""

from django.core.management.base import BaseCommand, CommandError

from recruitment.connections import catalog_client
from recruitment.criteria_catalog import EmptyCatalog, criteria_catalog_sync
from recruitment.user_interviews import errors
from recruitment.user_interviews.client import UIClient


class Command(BaseCommand):
    help = "Fetch User Interviews' characteristics and replace the local criteria catalog."

    def add_arguments(self, parser):
        parser.add_argument(
            "--in-process", action="store_true",
            help="Serve UI_API_URL through this process's own WSGI app (the sandbox, when "
                 "no server is running yet, e.g. while seeding).")

    def handle(self, *args, in_process=False, **options):
        client = UIClient.in_process() if in_process else catalog_client()
        try:
            with client:
                summary = criteria_catalog_sync(client=client)
        except (errors.UIError, EmptyCatalog) as error:
            raise CommandError(f"Criteria not synced: {error}") from error
        self.stdout.write(f"Synced {summary['synced']} characteristics "
                          f"({summary['removed']} removed).")
