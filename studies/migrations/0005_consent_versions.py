"""Consent forms with versions (SPEC P7): "Require consent" on the plan, and every study
that already has a consent text gets it as version 1."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from rally.db import append_only


def first_versions(apps, schema_editor):
    Study = apps.get_model("studies", "Study")
    ConsentVersion = apps.get_model("studies", "ConsentVersion")
    ConsentVersion.objects.bulk_create(
        ConsentVersion(study_id=study.pk, number=1, text=study.consent_form,
                       created_at=study.updated_at)
        for study in Study.objects.exclude(consent_form="").only("pk", "consent_form",
                                                                 "updated_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0004_screener_question_auto_rules'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='study',
            name='consent_required',
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name='ConsentVersion',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('number', models.PositiveIntegerField()),
                ('text', models.TextField()),
                ('created_at', models.DateTimeField()),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('study', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='consent_versions', to='studies.study')),
            ],
            options={
                'ordering': ['study', '-number'],
                'constraints': [models.UniqueConstraint(fields=('study', 'number'), name='consent_version_number_unique'), models.CheckConstraint(condition=models.Q(('number__gte', 1)), name='consent_version_from_one'), models.CheckConstraint(condition=models.Q(('text', ''), _negated=True), name='consent_version_has_text')],
            },
        ),
        append_only("studies_consentversion"),
        migrations.RunPython(first_versions, migrations.RunPython.noop),
    ]
