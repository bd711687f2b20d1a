"""Freeze the rate delivery was taxed at on the order, so a receipt's VAT summary stays what the shopper
paid when the rates change. Orders placed before this learn it from their country's standard rate."""
from decimal import Decimal

from django.db import migrations, models


def backfill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    TaxRate = apps.get_model("catalog", "TaxRate")
    for rate in TaxRate.objects.filter(tax_class="standard"):
        Order.objects.filter(tax_country=rate.country, delivery_tax_amount__gt=0).update(delivery_tax_rate=rate.rate)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0007_tax_rates"),
        ("orders", "0005_till_permission"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="delivery_tax_rate",
            field=models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=5,
                                      verbose_name="delivery tax rate (%)"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
