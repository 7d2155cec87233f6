# Joins the branches that added hosts' calendars, unmarked-session completion and reminders.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('scheduling', '0004_host_calendars_and_meeting_places'),
        ('scheduling', '0004_session_completed_automatically'),
        ('scheduling', '0004_session_reminders'),
    ]

    operations = [
    ]
