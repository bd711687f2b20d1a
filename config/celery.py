"""The Celery app: configured from Django settings (CELERY_*), tasks autodiscovered per app.

Without CELERY_BROKER_URL tasks run eagerly, in the caller's process.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
