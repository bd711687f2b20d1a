"""Catalog's Celery tasks: thin wrappers that call one service."""
from celery import shared_task

from .services import prices_from_refresh


@shared_task
def refresh_prices_from() -> int:
    return prices_from_refresh()
