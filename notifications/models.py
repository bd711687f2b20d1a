"""The outbox: every message, written in the same transaction as the change that causes it and sent after
commit (an outage delays a message, never loses it), held once per template, medium and reference."""
from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    class Medium(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        MESSENGER = "messenger", "Messenger"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    # A plain id, not a foreign key: the outbox sits below customers, who are told of each sent message
    # through the message_sent signal and keep it on their timeline.
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True,
                                         help_text="The customer it was sent to, if any.")
    medium = models.CharField(max_length=10, choices=Medium.choices)
    recipient = models.CharField(max_length=254, help_text="Email address or phone number.")
    template = models.CharField(max_length=64)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(help_text="The text: an SMS or messenger message, or an email's plain-text part.")
    html_body = models.TextField(blank=True, help_text="An email's HTML part, sent alongside the text.")
    marketing = models.BooleanField(default=False)
    reference = models.CharField(max_length=64, blank=True,
                                 help_text="What the message is about (order:R…, fulfillment:12, return:RT…): "
                                           "one message per template and medium for each.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="outbox_waiting")]
        constraints = [
            models.UniqueConstraint(fields=["template", "reference", "medium"], condition=~models.Q(reference=""),
                                    name="outbox_once_per_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.get_medium_display()} to {self.recipient}: {self.subject or self.template}"
