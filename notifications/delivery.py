"""Sending what the outbox holds: one message (never twice), or every message still waiting (the sweep
after a broker outage or a provider's refusal). A failure is kept on the row with its reason."""
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import OutboxMessage
from .signals import message_sent

logger = logging.getLogger(__name__)


def _send(message: OutboxMessage) -> None:
    if message.medium == OutboxMessage.Medium.EMAIL:
        email = EmailMultiAlternatives(message.subject, message.body, None, [message.recipient])
        if message.html_body:  # messages queued before emails had an HTML part go as they were written
            email.attach_alternative(message.html_body, "text/html")
        email.send()
        return
    backend = settings.SMS_BACKEND if message.medium == OutboxMessage.Medium.SMS else settings.MESSENGER_BACKEND
    import_string(backend)().send(to=message.recipient, body=message.body)


def message_deliver(*, message_id: int) -> OutboxMessage:
    """Send one queued message; a sent message is never sent again. `sent_now` on the answer says whether this
    call sent it (False when it had been sent already, by a worker or another sweep)."""
    failure = None
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        message.sent_now = False
        if message.status == OutboxMessage.Status.SENT:
            return message
        message.attempts += 1
        try:
            _send(message)
        except Exception as exc:  # the provider refused or is down: keep the message and the reason
            failure = exc
            message.status, message.last_error = OutboxMessage.Status.FAILED, f"{type(exc).__name__}: {exc}"
            message.save(update_fields=["status", "last_error", "attempts"])
        else:
            message.status, message.sent_at, message.last_error = OutboxMessage.Status.SENT, timezone.now(), ""
            message.save(update_fields=["status", "sent_at", "last_error", "attempts"])
            message.sent_now = True
            message_sent.send(sender=OutboxMessage, message=message)
    if failure is not None:  # raised after the commit, so the failure and its reason are kept for the retry
        raise failure
    return message


def messages_deliver_pending(*, limit: int = 500) -> int:
    """Send what is still waiting (a broker outage, a failed attempt): the outbox sweep. Returns how many this
    sweep sent, so two sweeps at once report between them each message once."""
    sent = 0
    waiting = OutboxMessage.objects.filter(status__in=[OutboxMessage.Status.PENDING, OutboxMessage.Status.FAILED])
    for pk in waiting.order_by("created_at").values_list("pk", flat=True)[:limit]:
        try:
            sent += message_deliver(message_id=pk).sent_now
        except Exception:  # noqa: BLE001  the reason is kept on the row; the next sweep tries again
            logger.warning("message %s not sent yet", pk, exc_info=True)
    return sent
