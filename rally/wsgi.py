"""WSGI entry point for gunicorn and runserver (gunicorn.conf.py refuses a configuration that
must never serve; runserver runs the system checks itself)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rally.settings")

application = get_wsgi_application()
