"""`manage.py seed_demo`: the same rows however often it runs, only with DEBUG on, and the demo
app only in development."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError

from rally.models import Membership, User

ROOT = Path(__file__).resolve().parents[2]
#: Rally's apps and the sandbox: every table the seed writes to, here or at the sandbox.
SEEDED_APPS = ("rally", "billing", "studies", "participants", "scheduling", "panel",
               "recruitment", "sandbox")


def _row_counts():
    return {model._meta.label: model._default_manager.count()
            for label in SEEDED_APPS for model in apps.get_app_config(label).get_models()}


# Transactional: the seed reaches the sandbox in-process from a thread of its own, whose
# writes (the criteria catalog, the webhook subscription, the histories) commit outside a
# test transaction.
@pytest.mark.django_db(transaction=True)
def test_seed_demo_twice_leaves_every_table_as_the_first_run_left_it(settings):
    settings.DEBUG = True
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)
        first = _row_counts()
        call_command("seed_demo", stdout=quiet)
    assert _row_counts() == first
    assert first["studies.Study"] and first["billing.Payout"] and first["sandbox.Recruit"]
    roles = dict(Membership.objects.values_list("user__email", "role"))
    assert roles == {"admin@example.com": "admin", "ops@example.com": "ops_manager",
                     "researcher@example.com": "researcher", "observer@example.com": "observer"}
    assert User.objects.get(email="ops@example.com").check_password("rally-demo")


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not User.objects.exists()


def test_the_demo_app_is_installed_in_development():
    assert apps.is_installed("demo")


def test_without_debug_and_the_sandbox_the_demo_app_and_its_command_are_absent():
    environment = {**{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
                   "DEBUG": "false", "SANDBOX_ENABLED": "false",
                   "SECRET_KEY": "x" * 60, "FIELD_ENCRYPTION_KEYS":
                   "OVii1T7joKOul5DWQtCFnrQ7Z6Pcj6N4aSFpIr62mac=", "ALLOWED_HOSTS": "rally.test"}
    installed = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.apps import apps; "
         "print(sorted(config.name for config in apps.get_app_configs()))"],
        cwd=ROOT, env={**environment, "DJANGO_SETTINGS_MODULE": "rally.settings"},
        capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stderr
    assert "'recruitment'" in installed.stdout and "'demo'" not in installed.stdout
    command = subprocess.run([sys.executable, "manage.py", "seed_demo"], cwd=ROOT,
                             env=environment, capture_output=True, text=True, timeout=120)
    assert command.returncode != 0 and "Unknown command: 'seed_demo'" in command.stderr
