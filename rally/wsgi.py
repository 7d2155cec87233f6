"""WSGI entry point for gunicorn and runserver."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rally.settings")

application = get_wsgi_application()

# A configuration that must never serve (the sandbox without DEBUG) stops the process here.
from rally.checks import refuse_unsafe_start  # noqa: E402

refuse_unsafe_start()
