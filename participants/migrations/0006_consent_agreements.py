"""Consent agreements (SPEC P7): who agreed to which version of a study's consent form, and
when; append-only."""

import uuid

import django.db.models.deletion
from django.db import migrations, models

from rally.db import append_only


class Migration(migrations.Migration):

    dependencies = [
        ('participants', '0005_panel_people_have_email'),
        ('rally', '0003_property_definition'),
        ('studies', '0005_consent_versions'),
    ]

    operations = [
        migrations.CreateModel(
            name='ConsentAgreement',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('version_number', models.PositiveIntegerField()),
                ('participant_name', models.CharField(max_length=300)),
                ('participant_email', models.EmailField(blank=True, max_length=254)),
                ('channel', models.CharField(choices=[('screener', 'Hosted screener'), ('booking_page', 'Booking page')], max_length=16)),
                ('agreed_at', models.DateTimeField()),
                ('application', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='consent_agreements', to='participants.application')),
                ('consent_version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='agreements', to='studies.consentversion')),
                ('participant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='consent_agreements', to='participants.participant')),
                ('study', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='consent_agreements', to='studies.study')),
                ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='rally.workspace')),
            ],
            options={
                'ordering': ['-agreed_at'],
                'indexes': [models.Index(fields=['study', 'agreed_at'], name='consent_study_agreed_idx')],
                'constraints': [models.UniqueConstraint(fields=('participant', 'consent_version'), name='consent_agreement_once_per_version')],
            },
        ),
        append_only("participants_consentagreement"),
    ]
