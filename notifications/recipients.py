"""Who a message is for and which media it may use (the consent checks): service messages about an order
go by email and SMS wherever there is an address; marketing only on the media the person consented to."""
from dataclasses import dataclass

from .models import OutboxMessage

Medium = OutboxMessage.Medium


@dataclass(frozen=True)
class Recipient:
    """Where a message can reach someone, and the media they consented to marketing on."""

    email: str = ""
    phone: str = ""
    first_name: str = ""
    consents: frozenset[str] = frozenset()
    customer_id: int | None = None

    def media(self, *, marketing: bool) -> list[tuple[str, str]]:
        """(medium, address) for each medium this message may go by, in the order email, SMS, messenger.

        A service message (a confirmation, ready, shipped, refunded) is about something the person is
        waiting for, so it needs no consent: it goes by email and by SMS to whatever address they gave,
        guests included. Marketing goes only where they said yes, and messenger carries nothing else."""
        reachable = [(Medium.EMAIL, self.email), (Medium.SMS, self.phone), (Medium.MESSENGER, self.phone)]
        if not marketing:
            return [(medium, address) for medium, address in reachable if address and medium != Medium.MESSENGER]
        return [(medium, address) for medium, address in reachable if address and medium in self.consents]

    def preferred_marketing_medium(self) -> str | None:
        """The one medium for marketing where one message is enough: the first they consented to and can
        be reached on, in the order email, SMS, messenger; None when there is none."""
        return next((medium for medium, _ in self.media(marketing=True)), None)
