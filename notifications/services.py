"""Writing messages to the outbox. Texts are templates in templates/messages/<name>.<medium>.txt (an
email's first line is its subject), rendered when queued, so what is sent is what was true then."""
import logging

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from .models import OutboxMessage
from .recipients import Recipient
from .tasks import deliver_message

logger = logging.getLogger(__name__)


def _render(template: str, medium: str, context: dict) -> tuple[str, str]:
    text = render_to_string(f"messages/{template}.{medium}.txt", context).strip()
    if medium == OutboxMessage.Medium.EMAIL:
        subject, _, body = text.partition("\n")
        return subject.strip(), body.strip()
    return "", text


def message_queue(
    *, template: str, context: dict, to: Recipient, reference: str = "", marketing: bool = False,
    medium: str | None = None,
) -> list[OutboxMessage]:
    """Queue a message in the caller's transaction, once per medium the recipient may get it by (or only
    by `medium`); each is handed to a worker once that transaction commits."""
    messages = []
    for chosen, address in to.media(marketing=marketing):
        if medium is not None and chosen != medium:
            continue
        subject, body = _render(template, chosen, {**context, "recipient": to, "site_url": settings.SITE_URL})
        messages.append(OutboxMessage.objects.create(
            customer_id=to.customer_id, medium=chosen, recipient=address, template=template, subject=subject,
            body=body, marketing=marketing, reference=reference,
        ))
    if messages:
        ids = [m.pk for m in messages]
        transaction.on_commit(lambda: _enqueue(ids))
    return messages


def _enqueue(ids: list[int]) -> None:
    """Hand the messages to the broker; if it is down they stay pending and the sweep sends them."""
    for pk in ids:
        try:
            deliver_message.delay(pk)
        except Exception:  # noqa: BLE001  broker outage: the row is safe in the outbox
            logger.warning("broker unavailable; message %s waits for the outbox sweep", pk, exc_info=True)
