# The CSV import of the people directory is called PeopleImport ("panel" is the panel app's
# word); RenameModel keeps the rows (the table is renamed, the index keeps its name).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('participants', '0007_application_arrived_after_limit'),
        ('rally', '0004_notifications'),
    ]

    operations = [
        migrations.RenameModel(old_name='PanelImport', new_name='PeopleImport'),
        migrations.AlterField(
            model_name='peopleimport',
            name='workspace',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                    related_name='people_imports', to='rally.workspace'),
        ),
    ]
