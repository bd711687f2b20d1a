"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered per app.

Without CELERY_BROKER_URL tasks run eagerly, in the caller's process.
"""
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connections_as_between_requests(task=None, **kwargs) -> None:
    """Around each task a worker runs, what Django does around each request: a connection that is broken, or
    older than CONN_MAX_AGE, is closed (the next query opens a new one), and a kept one is health-checked
    before its next use. Celery would otherwise close it after every task (settings.CELERY_DB_REUSE_MAX stops
    that): a new PostgreSQL backend for every confirmation sent. Not for a task run eagerly inside a request,
    whose connection may be in the middle of a transaction."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
