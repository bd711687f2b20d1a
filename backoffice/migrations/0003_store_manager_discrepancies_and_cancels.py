"""The Store manager role may look at stock discrepancies (inventory.StockDiscrepancy: units found at the
till that the ledger said were not there) and cancel what has not been sent of an order (the order page's
Cancel button asks for orders.change_order; the order itself stays read-only). Running it twice changes nothing."""
from django.db import migrations

from backoffice.roles import permissions_grant, permissions_revoke

ROLE = "Store manager"
PERMISSIONS = [("inventory", "view_stockdiscrepancy"), ("orders", "change_order")]


def grant(apps, schema_editor):
    permissions_grant(apps, grants={ROLE: PERMISSIONS})


def revoke(apps, schema_editor):
    permissions_revoke(apps, role=ROLE, permissions=PERMISSIONS)


class Migration(migrations.Migration):

    dependencies = [
        ("backoffice", "0002_roles"),
        ("inventory", "0007_found_at_till_and_discrepancies"),
        ("orders", "0007_payment_tendered_amount"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
