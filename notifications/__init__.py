"""Messages to people: the outbox every message is written to, the media (email, SMS, messenger) and
their backends, the consent rules that decide which media a message may use, and the delivery tasks."""
