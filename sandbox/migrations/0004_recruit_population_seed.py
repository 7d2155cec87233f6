# A recruit's draws come from the sandbox's synthetic population (sandbox.population); its
# seed is named after it. RenameField keeps every recruit's seed.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sandbox', '0003_recruit_intake_open'),
    ]

    operations = [
        migrations.RenameField(model_name='recruit', old_name='panel_seed',
                               new_name='population_seed'),
    ]
