"""Fulfilment's Celery tasks: thin wrappers that call one service."""
from celery import shared_task

from .services import pickups_expire, pickups_remind


@shared_task
def expire_uncollected_pickups() -> int:
    return pickups_expire()


@shared_task
def remind_pickups() -> int:
    return pickups_remind()
