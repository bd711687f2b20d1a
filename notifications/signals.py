"""Signals for the apps above: `message_sent(message=OutboxMessage)` fires inside the transaction that
marks a message sent, so whatever a receiver records commits with it."""
from django.dispatch import Signal

message_sent = Signal()
