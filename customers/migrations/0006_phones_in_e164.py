"""Customers' and addresses' phones rewritten in E.164 (+447700900123), as they are now stored and searched.

A stored phone that parses as a valid number in the shop's region (PHONE_REGION, the UK by default) or with its
country code is rewritten; one that does not (legacy free text such as "ask for Sam", or a number a digit
short) is left exactly as it was, to be corrected by hand: the till finds such a customer by email only.
Unapplying changes nothing, since an E.164 number is as good a spelling as any.
"""
from django.db import migrations

from core.phones import stored_phones_to_e164


def forward(apps, schema_editor):
    stored_phones_to_e164(apps, fields=[("customers.Customer", "phone"), ("customers.Address", "phone")])


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0005_visitors_and_arrivals"),
    ]

    operations = [
        migrations.RunPython(forward, migrations.RunPython.noop),
    ]
