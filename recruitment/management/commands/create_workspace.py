"""Create a workspace and its first Admin, and print the link where they set a password."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from rally.services import account_setup_url
from recruitment.workflows import workspace_create


class Command(BaseCommand):
    help = ("Create a workspace with its first Admin and print a one-time sign-in link "
            "for them to choose a password (RALLY_BASE_URL is the link's address).")

    def add_arguments(self, parser):
        parser.add_argument("name", help="The workspace's name, e.g. \"Acme Research\".")
        parser.add_argument("--admin", required=True, metavar="EMAIL",
                            help="The first Admin's email address.")
        parser.add_argument("--admin-name", default="", help="The first Admin's name.")

    def handle(self, *args, name, admin, admin_name, **options):
        try:
            membership = workspace_create(name=name, admin_email=admin, admin_name=admin_name)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        user = membership.user
        self.stdout.write(f"Workspace '{membership.workspace.name}' is ready; "
                          f"{user.email} is its Admin.")
        if user.has_usable_password():
            self.stdout.write(f"{user.email} already has a password: they sign in as usual "
                              "and switch to the new workspace.")
        else:
            self.stdout.write(f"Send {user.email} this link to choose a password (it works "
                              "once, for a few days):")
        # The link alone on the last line, so scripts can take it.
        self.stdout.write(account_setup_url(user))
