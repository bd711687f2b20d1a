"""Low-stock alerts move to inventory, with the stock they are about: every alert is copied with its id
into inventory_lowstockalert (so no store is told twice on the day of the upgrade), then the old table goes."""
from django.db import migrations

from core.model_moves import moved


class Migration(migrations.Migration):

    dependencies = [
        ("fulfillment", "0004_return_refund_tax"),
        ("inventory", "0006_lowstockalert"),
    ]

    operations = [
        migrations.RunPython(*moved("fulfillment.LowStockAlert", "inventory.LowStockAlert")),
        migrations.DeleteModel(name="LowStockAlert"),
    ]
