"""On PostgreSQL the database itself refuses two prices of one variant on one channel (and store) whose
windows overlap, so the price on any date is unambiguous even for writes that skip Price.clean() (bulk
imports, two merchandisers saving at once). An empty bound is open-ended; windows are half-open [from, until).
Other databases rely on Price.clean() and the importer's check."""
from django.db import migrations

CONSTRAINT = "price_windows_do_not_overlap"


def add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE catalog_price ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist ("
        " variant_id WITH =, channel_id WITH =, COALESCE(location_id, 0) WITH =,"
        " tstzrange(valid_from, valid_until, '[)') WITH &&)"
    )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE catalog_price DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_variant_weight")]
    operations = [migrations.RunPython(add, remove)]
