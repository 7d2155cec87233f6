# Joins the branches that added consent versions and the participant-facing title.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('studies', '0005_consent_versions'),
        ('studies', '0005_study_public_title'),
    ]

    operations = [
    ]
