"""Notifications' Celery tasks: thin wrappers that take ids and call one delivery function."""
from celery import shared_task

from .delivery import message_deliver, messages_deliver_pending


@shared_task(autoretry_for=(Exception,), retry_backoff=30, retry_backoff_max=3600, max_retries=8)
def deliver_message(message_id: int) -> str:
    return message_deliver(message_id=message_id).status


@shared_task
def deliver_pending_messages() -> int:
    return messages_deliver_pending()
