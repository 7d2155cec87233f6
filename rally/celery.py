"""The one Celery app: workers run UI operations, webhooks, emails and the sandbox simulation."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rally.settings")

app = Celery("rally")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
