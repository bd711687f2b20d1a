"""Orders' Celery tasks: thin wrappers that call one service."""
from celery import shared_task

from .engagement import abandoned_cart_reminders
from .popularity import products_popularity_refresh
from .services import (
    checkouts_settle_unfinished,
    payments_capture_due,
    payments_refund_overcharged,
    payments_report_lapsing,
    payments_void_stray,
)


@shared_task
def capture_due_payments() -> int:
    return payments_capture_due()


@shared_task
def send_abandoned_cart_reminders() -> int:
    return abandoned_cart_reminders()


@shared_task
def settle_unfinished_checkouts() -> int:
    return checkouts_settle_unfinished()


@shared_task
def report_lapsing_authorisations() -> int:
    return payments_report_lapsing()


@shared_task
def void_stray_authorisations() -> int:
    return payments_void_stray()


@shared_task
def refund_overcharged_payments() -> int:
    return payments_refund_overcharged()


@shared_task
def refresh_popularity() -> int:
    return products_popularity_refresh()
