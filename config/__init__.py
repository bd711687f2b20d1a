"""Project wiring, imported by no app: settings, URLs, the Celery app and the periodic-job schedule.

Importing the package loads the Celery app so @shared_task binds to it.
"""
from .celery import app as celery_app

__all__ = ("celery_app",)
