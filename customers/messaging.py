"""Writing messages to the outbox and sending them: email through Django's email backend, SMS and
messenger through a small backend interface (settings.SMS_BACKEND, MESSENGER_BACKEND).

Texts are templates in templates/messages/<name>.<medium>.txt; an email's first line is its subject.
"""
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import Customer, Interaction, OutboxMessage

logger = logging.getLogger(__name__)


class ConsoleTextBackend:
    """Writes text messages to the log: the default until a real SMS or messenger provider is set."""

    def send(self, *, to: str, body: str) -> None:
        logger.info("text message to %s: %s", to, body)


def _render(template: str, medium: str, context: dict) -> tuple[str, str]:
    text = render_to_string(f"messages/{template}.{medium}.txt", context).strip()
    if medium == OutboxMessage.Medium.EMAIL:
        subject, _, body = text.partition("\n")
        return subject.strip(), body.strip()
    return "", text


def preferred_marketing_medium(customer: Customer) -> str | None:
    """The first channel, in the order email, SMS, messenger, that the customer consented to and we can reach."""
    for medium, reachable in ((OutboxMessage.Medium.EMAIL, customer.email), (OutboxMessage.Medium.SMS, customer.phone),
                              (OutboxMessage.Medium.MESSENGER, customer.phone)):
        if reachable and customer.consents_to(medium):
            return medium
    return None


def message_queue(
    *, template: str, context: dict, customer: Customer | None = None, email: str = "", phone: str = "",
    reference: str = "", marketing: bool = False, medium: str | None = None,
) -> list[OutboxMessage]:
    """Queue a message in the caller's transaction; it is sent once that transaction commits.

    Service messages (orders, pickups, returns) go by email, and by SMS too when the customer has
    said yes to SMS. Marketing goes only on channels the customer consented to; `medium` picks one.
    """
    email = email or (customer.email if customer else "")
    phone = phone or (customer.phone if customer else "")
    media = []
    if email and (not marketing or (customer and customer.consents_to("email"))):
        media.append((OutboxMessage.Medium.EMAIL, email))
    if phone and customer and customer.consents_to("sms"):
        media.append((OutboxMessage.Medium.SMS, phone))
    if phone and marketing and customer and customer.consents_to("messenger"):
        media.append((OutboxMessage.Medium.MESSENGER, phone))
    if medium is not None:
        media = [(m, to) for m, to in media if m == medium]
    messages = []
    for medium, recipient in media:
        subject, body = _render(template, medium, {**context, "customer": customer, "site_url": settings.SITE_URL})
        messages.append(OutboxMessage.objects.create(
            customer=customer, medium=medium, recipient=recipient, template=template, subject=subject, body=body,
            marketing=marketing, reference=reference,
        ))
    if messages:
        ids = [m.pk for m in messages]
        transaction.on_commit(lambda: _enqueue(ids))
    return messages


def _enqueue(ids: list[int]) -> None:
    """Hand the messages to the broker; if it is down they stay pending and the sweep sends them."""
    from .tasks import deliver_message

    for pk in ids:
        try:
            deliver_message.delay(pk)
        except Exception:  # noqa: BLE001  broker outage: the row is safe in the outbox
            logger.warning("broker unavailable; message %s waits for the outbox sweep", pk, exc_info=True)


def message_deliver(*, message_id: int) -> OutboxMessage:
    """Send one queued message; a sent message is never sent again."""
    failure = None
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        if message.status == OutboxMessage.Status.SENT:
            return message
        message.attempts += 1
        try:
            if message.medium == OutboxMessage.Medium.EMAIL:
                send_mail(message.subject, message.body, None, [message.recipient])
            else:
                backend = settings.SMS_BACKEND if message.medium == OutboxMessage.Medium.SMS else settings.MESSENGER_BACKEND
                import_string(backend)().send(to=message.recipient, body=message.body)
        except Exception as exc:  # the provider refused or is down: keep the message and the reason
            failure = exc
            message.status, message.last_error = OutboxMessage.Status.FAILED, f"{type(exc).__name__}: {exc}"
            message.save(update_fields=["status", "last_error", "attempts"])
        else:
            message.status, message.sent_at, message.last_error = OutboxMessage.Status.SENT, timezone.now(), ""
            message.save(update_fields=["status", "sent_at", "last_error", "attempts"])
            if message.customer_id:
                Interaction.objects.create(customer_id=message.customer_id, kind=Interaction.Kind.MESSAGE_SENT,
                                           reference=message.reference, detail={"medium": message.medium,
                                                                                "template": message.template})
    if failure is not None:  # raised after the commit, so the failure and its reason are kept for the retry
        raise failure
    return message

def messages_deliver_pending(*, limit: int = 500) -> int:
    """Send what is still waiting (a broker outage, a failed attempt): the outbox sweep."""
    sent = 0
    waiting = OutboxMessage.objects.filter(status__in=[OutboxMessage.Status.PENDING, OutboxMessage.Status.FAILED])
    for pk in waiting.order_by("created_at").values_list("pk", flat=True)[:limit]:
        try:
            if message_deliver(message_id=pk).status == OutboxMessage.Status.SENT:
                sent += 1
        except Exception:  # noqa: BLE001  the reason is kept on the row; the next sweep tries again
            logger.warning("message %s not sent yet", pk, exc_info=True)
    return sent
