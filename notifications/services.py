"""Writing messages to the outbox. Texts are templates in templates/messages/<name>.<medium>.txt (an
email's first line is its subject), rendered when queued, so what is sent is what was true then."""
import logging

from django.conf import settings
from django.db import transaction
from django.template import Context
from django.template.loader import get_template

from core.inserts import insert

from .models import OutboxMessage
from .recipients import Recipient
from .tasks import deliver_message

logger = logging.getLogger(__name__)


def _render(template: str, medium: str, context: dict) -> tuple[str, str]:
    """The message's text: plain text, so nothing is HTML-escaped (a "Fig & Cedar" candle, a link's "&")."""
    text = get_template(f"messages/{template}.{medium}.txt").template.render(Context(context, autoescape=False))
    text = text.strip()
    if medium == OutboxMessage.Medium.EMAIL:
        subject, _, body = text.partition("\n")
        return subject.strip(), body.strip()
    return "", text


def message_queue(
    *, template: str, context: dict, to: Recipient, reference: str = "", marketing: bool = False,
    medium: str | None = None,
) -> list[OutboxMessage]:
    """Queue a message in the caller's transaction, once per medium the recipient may get it by (or only
    by `medium`); each is handed to a worker once that transaction commits. A message about a thing (a
    `reference` such as order:R…) is queued once per template and medium: a retried job, or two workers at
    the same moment, find it there and queue nothing. Returns the messages this call queued."""
    messages = []
    for chosen, address in to.media(marketing=marketing):
        if medium is not None and chosen != medium:
            continue
        subject, body = _render(template, chosen, {**context, "recipient": to, "site_url": settings.SITE_URL})
        message = OutboxMessage(customer_id=to.customer_id, medium=chosen, recipient=address, template=template,
                                subject=subject, body=body, marketing=marketing, reference=reference)
        if _saved_once(message):
            messages.append(message)
    if messages:
        ids = [m.pk for m in messages]
        transaction.on_commit(lambda: _enqueue(ids))
    return messages


def _saved_once(message: OutboxMessage) -> bool:
    """Write the message unless the same one (template, reference, medium) is there, in one statement:
    INSERT ... ON CONFLICT DO NOTHING RETURNING id. Another transaction writing the same one at this moment
    makes it wait for that one, then write nothing; the caller's transaction goes on either way."""
    return bool(insert([message], unless_conflict=True))


def _enqueue(ids: list[int]) -> None:
    """Hand the messages to the broker; if it is down they stay pending and the sweep sends them. One already
    sent by then (the demo's history marks its past messages sent) is skipped by the delivery."""
    for pk in ids:
        try:
            deliver_message.delay(pk)
        except Exception:  # noqa: BLE001  broker outage: the row is safe in the outbox
            logger.warning("broker unavailable; message %s waits for the outbox sweep", pk, exc_info=True)
