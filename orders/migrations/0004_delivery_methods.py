"""Start with three ways to get an order: standard and express delivery (UK, and standard to Ireland)
and free pickup in store. Prices are tax-inclusive, like the goods."""
from decimal import Decimal

from django.db import migrations

METHODS = [
    # code, name, kind, needs one location, position, rates: (country, max grams, price, free over, days)
    ("standard", "Standard delivery", "delivery", False, 10, [
        ("GB", 30_000, "3.95", "50.00", 2, 4), ("GB", None, "9.95", None, 3, 5), ("IE", None, "9.95", None, 4, 7)]),
    ("express", "Express delivery", "delivery", True, 20, [("GB", 20_000, "7.95", None, 1, 1)]),
    ("pickup", "Pickup in store", "pickup", False, 0, [("GB", None, "0.00", None, 0, 2)]),
]


def create(apps, schema_editor):
    DeliveryMethod = apps.get_model("orders", "DeliveryMethod")
    DeliveryRate = apps.get_model("orders", "DeliveryRate")
    for code, name, kind, one_location, position, rates in METHODS:
        method, _ = DeliveryMethod.objects.get_or_create(
            code=code, defaults={"name": name, "kind": kind, "needs_one_location": one_location, "position": position}
        )
        for country, grams, price, free_over, min_days, max_days in rates:
            DeliveryRate.objects.get_or_create(
                method=method, country=country, postcode_prefix="", max_weight_grams=grams, currency="GBP",
                defaults={"price_amount": Decimal(price), "free_over_amount": free_over and Decimal(free_over),
                          "min_days": min_days, "max_days": max_days},
            )


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_delivery_and_tax")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
