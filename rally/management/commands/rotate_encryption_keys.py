"""Re-encrypt every secret kept at rest with the newest of FIELD_ENCRYPTION_KEYS.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (keeping the old ones after it),
restart, run this command, then drop the old keys. Every model field declared as
`rally.fields.EncryptedTextField` is covered, whichever app declares it.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from rally.fields import EncryptedTextField


def encrypted_fields():
    """(model, [field names]) for every model that keeps secrets at rest."""
    found = []
    for model in apps.get_models():
        names = [field.name for field in model._meta.concrete_fields
                 if isinstance(field, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


class Command(BaseCommand):
    help = "Re-encrypt the secrets kept in the database with the newest FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        for model, names in encrypted_fields():
            count = 0
            # Reading decrypts with any configured key; saving encrypts with the first.
            for pk in model._default_manager.values_list("pk", flat=True).iterator():
                with transaction.atomic():
                    row = model._default_manager.select_for_update().only(*names).get(pk=pk)
                    row.save(update_fields=names)
                count += 1
            self.stdout.write(f"{model._meta.label}: {count} re-encrypted ({', '.join(names)})")
