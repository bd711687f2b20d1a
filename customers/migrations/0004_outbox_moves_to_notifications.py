"""The outbox moves to the notifications app: every message (pending ones included) is copied with its
id into notifications_outboxmessage, then the old table goes."""
from django.db import migrations

from core.model_moves import moved


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0003_cart_reminded_state"),
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(*moved("customers.OutboxMessage", "notifications.OutboxMessage")),
        migrations.DeleteModel(name="OutboxMessage"),
    ]
