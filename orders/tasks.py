"""Orders' Celery tasks: thin wrappers that call one service."""
from celery import shared_task

from .engagement import abandoned_cart_reminders
from .services import payments_capture_due


@shared_task
def capture_due_payments() -> int:
    return payments_capture_due()


@shared_task
def send_abandoned_cart_reminders() -> int:
    return abandoned_cart_reminders()
