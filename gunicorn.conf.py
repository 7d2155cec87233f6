"""gunicorn's settings for Rally (read from the working directory: `gunicorn rally.wsgi`).

A configuration that must never serve (the sandbox with DEBUG off: system check rally.E001)
stops gunicorn before it binds, as `manage.py check` would report it."""


import os


def on_starting(server):
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rally.settings")

    django.setup()
    from rally.checks import refuse_unsafe_start

    refuse_unsafe_start()
