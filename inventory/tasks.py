"""Inventory's Celery tasks: thin wrappers that call one service."""
from celery import shared_task

from .alerts import low_stock_alerts_send
from .services import reservations_release_expired


@shared_task
def release_expired_reservations() -> int:
    return reservations_release_expired()


@shared_task
def send_low_stock_alerts() -> int:
    return low_stock_alerts_send()
