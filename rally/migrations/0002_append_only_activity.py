from django.db import migrations

from rally.db import REFUSE_CHANGE_FUNCTION, append_only


class Migration(migrations.Migration):
    dependencies = [("rally", "0001_initial")]

    operations = [
        migrations.RunSQL(REFUSE_CHANGE_FUNCTION,
                          reverse_sql="DROP FUNCTION IF EXISTS rally_refuse_change();"),
        append_only("rally_activityentry"),
    ]
