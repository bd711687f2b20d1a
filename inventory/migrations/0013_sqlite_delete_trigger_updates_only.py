"""On SQLite, a stock row deleted takes its units off its variant's SellableOnline row, and never makes one.

The delete trigger of 0008 upserted, so deleting stock rows after the SellableOnline rows (a test database being
flushed: Django deletes its tables in no fixed order) wrote SellableOnline rows again, for variants deleted in
the same flush, and the flush failed on their foreign key now and then. A deleted stock row's units were counted
on the variant's row, so there is one to update (PostgreSQL empties tables with TRUNCATE, which fires no row
trigger). A later migration that re-creates 0008's SQLite triggers (as 0011 and 0012 do around a rebuild of
inventory_location) must run this one's again."""
import importlib

from django.db import migrations

triggers = importlib.import_module("inventory.migrations.0008_sellable_online")
units = triggers.lite(triggers.clamped("OLD"))

DELETE_TRIGGER = f"""CREATE TRIGGER inventory_sellable_online_delete AFTER DELETE ON inventory_stocklevel
    WHEN {units} > 0
    BEGIN
        UPDATE inventory_sellableonline SET units = units - {units}
         WHERE variant_id = OLD.variant_id AND stripe = 0
           AND EXISTS (SELECT 1 FROM inventory_location WHERE id = OLD.location_id AND is_active AND ships_orders);
    END"""
ORIGINAL = next(sql for sql in triggers.SQLITE if "inventory_sellable_online_delete" in sql)


def update_only(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER inventory_sellable_online_delete")
        schema_editor.execute(DELETE_TRIGGER)


def upsert_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER inventory_sellable_online_delete")
        schema_editor.execute(ORIGINAL)


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0012_ship_to_store_and_collection_windows"),
    ]

    operations = [migrations.RunPython(update_only, upsert_again)]
