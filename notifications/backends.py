"""Text-message backends (SMS, messenger): a class with `send(*, to, body)`, named by SMS_BACKEND and
MESSENGER_BACKEND. Email goes through Django's own email backends."""
import logging

logger = logging.getLogger(__name__)


class ConsoleTextBackend:
    """Writes text messages to the log: the default until a real SMS or messenger provider is set."""

    def send(self, *, to: str, body: str) -> None:
        logger.info("text message to %s: %s", to, body)
