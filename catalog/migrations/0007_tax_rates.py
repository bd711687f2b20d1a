"""Start with the tax rates of the countries the demo sells to; merchandisers change them in the admin."""
from django.db import migrations

RATES = {"GB": {"standard": "20", "reduced": "5", "zero": "0"},
         "IE": {"standard": "23", "reduced": "13.5", "zero": "0"}}


def create(apps, schema_editor):
    TaxRate = apps.get_model("catalog", "TaxRate")
    for country, rates in RATES.items():
        for tax_class, rate in rates.items():
            TaxRate.objects.get_or_create(country=country, tax_class=tax_class, defaults={"rate": rate})


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_price_windows_do_not_overlap")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
