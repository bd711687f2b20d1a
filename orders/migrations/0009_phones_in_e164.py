"""Orders' phones rewritten in E.164 (+447700900123), as they are now stored and searched by the counter and
the returns desk.

A stored phone that parses as a valid number in the shop's region (PHONE_REGION, the UK by default) or with its
country code is rewritten; one that does not (legacy free text, or a number a digit short) is left exactly as
it was: such an order is found by its number, email or the customer's name instead. Unapplying changes
nothing, since an E.164 number is as good a spelling as any.
"""
from django.db import migrations

from core.phones import stored_phones_to_e164


def forward(apps, schema_editor):
    stored_phones_to_e164(apps, fields=[("orders.Order", "phone")])


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0008_order_attribution"),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
