"""Orders' Celery tasks: thin wrappers that call one service."""
from celery import shared_task

from .services import payments_capture_due


@shared_task
def capture_due_payments() -> int:
    return payments_capture_due()
