"""Rally's core: workspaces, people and roles, the activity log, the clock and the outbox."""

from rally.celery import app as celery_app

__all__ = ["celery_app"]
