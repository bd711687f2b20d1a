"""Start with one range that sells the whole catalogue everywhere, so an install sells what it prices
until merchandisers narrow it with their own ranges (and end or trim this one)."""
from django.db import migrations
from django.utils import timezone


def create(apps, schema_editor):
    Range = apps.get_model("catalog", "Range")
    Range.objects.get_or_create(
        code="whole-catalogue",
        defaults={"name": "Whole catalogue", "whole_catalog": True, "starts_at": timezone.now().replace(year=2000)},
    )


def remove(apps, schema_editor):
    apps.get_model("catalog", "Range").objects.filter(code="whole-catalogue").delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_ranges_store_prices_tax")]
    operations = [migrations.RunPython(create, remove)]
