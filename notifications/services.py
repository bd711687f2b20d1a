"""Writing messages to the outbox. Texts are templates in templates/messages/<name>.<medium>.txt (an
email's first line is its subject), and an email's HTML part is <name>.email.html; both are rendered when
queued, so what is sent is what was true then."""
import logging

from django.conf import settings
from django.db import transaction
from django.template import Context
from django.template.loader import get_template, select_template

from core.inserts import insert

from .models import OutboxMessage
from .recipients import Recipient
from .tasks import deliver_message

logger = logging.getLogger(__name__)


def _render(template: str, medium: str, context: dict) -> tuple[str, str, str]:
    """The message as (subject, text, HTML). The text is plain, so nothing in it is HTML-escaped (a "Fig & Cedar"
    candle, a link's "&"); an email's first line is its subject, and an email also gets its HTML part."""
    text = get_template(f"messages/{template}.{medium}.txt").template.render(Context(context, autoescape=False))
    text = text.strip()
    if medium != OutboxMessage.Medium.EMAIL:
        return "", text, ""
    subject, _, body = text.partition("\n")
    subject, body = subject.strip(), body.strip()
    return subject, body, _html(template, {**context, "subject": subject, "plain_text": body})


def _html(template: str, context: dict) -> str:
    """An email's HTML part, escaped as HTML: its own messages/<name>.email.html, or for an email without one its
    text in the shop's layout (messages/_email_text.html), so every email has the shop's name and looks."""
    return select_template([f"messages/{template}.email.html", "messages/_email_text.html"]).render(context).strip()


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
        subject, body, html = _render(template, chosen, {**context, "recipient": to, "site_url": settings.SITE_URL,
                                                         "shop_name": settings.SHOP_NAME})
        message = OutboxMessage(customer_id=to.customer_id, medium=chosen, recipient=address, template=template,
                                subject=subject, body=body, html_body=html, marketing=marketing, reference=reference)
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
