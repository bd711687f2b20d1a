"""Fulfilment's Celery tasks: thin wrappers that call one service."""
from celery import shared_task

from .problems import line_problems_settle
from .services import pickups_charge_before_lapse, pickups_expire, pickups_remind, returns_refund_due, reviews_request


@shared_task
def expire_uncollected_pickups() -> int:
    return pickups_expire()


@shared_task
def remind_pickups() -> int:
    return pickups_remind()


@shared_task
def request_reviews() -> int:
    return reviews_request()


@shared_task
def refund_due_returns() -> int:
    return returns_refund_due()


@shared_task
def charge_pickups_before_lapse() -> int:
    return pickups_charge_before_lapse()


@shared_task
def settle_line_problems() -> int:
    return line_problems_settle()
