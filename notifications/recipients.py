"""Who a message is for and which media it may use: service messages (orders, pickups, returns) go
by email, and by SMS where the person said yes to texts; marketing only where they consented."""
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
        """(medium, address) for each medium this message may go by."""
        found = []
        if self.email and (not marketing or Medium.EMAIL in self.consents):
            found.append((Medium.EMAIL, self.email))
        if self.phone and Medium.SMS in self.consents:
            found.append((Medium.SMS, self.phone))
        if self.phone and marketing and Medium.MESSENGER in self.consents:
            found.append((Medium.MESSENGER, self.phone))
        return found

    def preferred_marketing_medium(self) -> str | None:
        """The first medium, in the order email, SMS, messenger, they consented to and can be reached on."""
        return next((medium for medium, _ in self.media(marketing=True)), None)
