"""A study may be started again after a declined or failed start: one reservation per start
attempt (existing reservations are attempt 1), at most one open per study, and every
reserve, shrink and release transfer names its reservation.

Existing transfers get their reservation once, here: transfers are append-only, so the
guard trigger is switched off for this one backfill of the new column (no amount, account
or key changes) and on again in the same transaction.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0003_payouts'),
        ('rally', '0003_property_definition'),
    ]

    operations = [
        migrations.AddField(
            model_name='reservation',
            name='attempt',
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='transfer',
            name='reservation',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='transfers', to='billing.reservation'),
        ),
        migrations.RunSQL(
            sql="""
            SET CONSTRAINTS ALL IMMEDIATE;
            ALTER TABLE billing_transfer DISABLE TRIGGER billing_transfer_append_only;
            UPDATE billing_transfer AS transfer SET reservation_id = reservation.id
              FROM billing_reservation AS reservation
             WHERE transfer.study_id = reservation.study_id
               AND transfer.kind IN ('reserve', 'shrink', 'release');
            ALTER TABLE billing_transfer ENABLE TRIGGER billing_transfer_append_only;
            """,
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='reservation',
            name='study_id',
            field=models.UUIDField(),
        ),
        migrations.AddConstraint(
            model_name='reservation',
            constraint=models.UniqueConstraint(fields=('study_id', 'attempt'), name='reservation_unique_attempt'),
        ),
        migrations.AddConstraint(
            model_name='reservation',
            constraint=models.UniqueConstraint(condition=models.Q(('released_at__isnull', True)), fields=('study_id',), name='reservation_one_open_per_study'),
        ),
        migrations.AddConstraint(
            model_name='reservation',
            constraint=models.CheckConstraint(condition=models.Q(('attempt__gte', 1)), name='reservation_attempt_positive'),
        ),
    ]
