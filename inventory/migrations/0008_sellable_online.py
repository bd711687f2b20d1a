"""SellableOnline and the triggers that keep it (see the model's docstring)."""
import django.db.models.deletion
from django.db import migrations, models


# max(available − safety stock, 0) of a stock row, as SQL over a row alias (NEW, OLD, s)
def clamped(row: str) -> str:
    return (f"GREATEST({row}.on_hand - {row}.committed - {row}.reserved - {row}.unavailable - {row}.safety_stock, 0)")


# Every variant stocked at a location: its sum over active shipping locations, written whole into stripe 0,
# the other stripes emptied.
RECOMPUTE = f"""
    UPDATE inventory_sellableonline SET units = 0
     WHERE variant_id IN (SELECT variant_id FROM inventory_stocklevel WHERE location_id = {{location}});
    INSERT INTO inventory_sellableonline (variant_id, stripe, units)
    SELECT s.variant_id, 0, COALESCE(SUM({clamped("s")}) FILTER (WHERE l.is_active AND l.ships_orders), 0)
      FROM inventory_stocklevel s JOIN inventory_location l ON l.id = s.location_id
     WHERE s.variant_id IN (SELECT variant_id FROM inventory_stocklevel WHERE location_id = {{location}})
     GROUP BY s.variant_id ORDER BY s.variant_id
        ON CONFLICT (variant_id, stripe) DO UPDATE SET units = excluded.units"""

# What the stock holds when the triggers are installed (PostgreSQL: all eight stripes of each variant).
BACKFILL = f"""
    INSERT INTO inventory_sellableonline (variant_id, stripe, units)
    SELECT t.variant_id, stripe, CASE WHEN stripe = 0 THEN t.units ELSE 0 END
      FROM (SELECT s.variant_id, SUM({clamped("s")}) AS units
              FROM inventory_stocklevel s JOIN inventory_location l ON l.id = s.location_id
             WHERE l.is_active AND l.ships_orders
             GROUP BY s.variant_id) AS t
     CROSS JOIN ({{stripes}}) AS stripes
     ORDER BY t.variant_id, stripe"""

POSTGRESQL = [
    # Room on each page for a row's new versions (HOT updates), so a variant's stripes stay side by side.
    "ALTER TABLE inventory_sellableonline SET (fillfactor = 50)",
    # A stock row's change, at commit, into the stripe of this connection. The shipping flags are read after a
    # shared advisory lock is taken; a location changing its flags takes that lock alone (below), so it falls
    # wholly before or after. Cheaper than LOCK TABLE and an EXISTS before the UPDATE (bench/sellable_online.py:
    # 0.15 → 0.08 ms per commit with one writer).
    f"""
    CREATE FUNCTION inventory_sellable_online_row() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        row_variant bigint;
        row_location bigint;
        row_stripe smallint;
        delta integer := 0;
    BEGIN
        IF TG_OP = 'DELETE' THEN
            row_variant := OLD.variant_id; row_location := OLD.location_id;
        ELSE
            row_variant := NEW.variant_id; row_location := NEW.location_id;
            delta := {clamped("NEW")};
        END IF;
        IF TG_OP <> 'INSERT' THEN
            delta := delta - {clamped("OLD")};
        END IF;
        PERFORM pg_advisory_xact_lock_shared(8008);  -- the key: migration 0008's; nothing else takes it
        row_stripe := mod(pg_backend_pid(), 8);  -- SellableOnline.STRIPES
        UPDATE inventory_sellableonline c SET units = c.units + delta FROM inventory_location l
         WHERE c.variant_id = row_variant AND c.stripe = row_stripe
           AND l.id = row_location AND l.is_active AND l.ships_orders;
        IF NOT FOUND AND EXISTS (
            SELECT 1 FROM inventory_location WHERE id = row_location AND is_active AND ships_orders
        ) THEN  -- the variant's first: all its stripes at once, side by side on one page for the reads
            INSERT INTO inventory_sellableonline (variant_id, stripe, units)
            SELECT row_variant, stripe, 0 FROM generate_series(0, 7) AS stripe
                ON CONFLICT (variant_id, stripe) DO NOTHING;
            UPDATE inventory_sellableonline SET units = units + delta
             WHERE variant_id = row_variant AND stripe = row_stripe;
        END IF;
        RETURN NULL;
    END $$""",
    f"""CREATE CONSTRAINT TRIGGER inventory_sellable_online AFTER UPDATE ON inventory_stocklevel
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({clamped("NEW")} <> {clamped("OLD")})
        EXECUTE FUNCTION inventory_sellable_online_row()""",
    f"""CREATE CONSTRAINT TRIGGER inventory_sellable_online_insert AFTER INSERT ON inventory_stocklevel
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({clamped("NEW")} > 0)
        EXECUTE FUNCTION inventory_sellable_online_row()""",
    f"""CREATE CONSTRAINT TRIGGER inventory_sellable_online_delete AFTER DELETE ON inventory_stocklevel
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({clamped("OLD")} > 0)
        EXECUTE FUNCTION inventory_sellable_online_row()""",
    # A location starts or stops shipping, or is (de)activated: at once, holding off every stock row's counter
    # update (the advisory lock alone waits for their shared ones and holds them off) until this transaction ends.
    f"""
    CREATE FUNCTION inventory_sellable_online_location() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(8008);
        {RECOMPUTE.format(location="NEW.id")};
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER inventory_sellable_online_location AFTER UPDATE OF is_active, ships_orders
        ON inventory_location FOR EACH ROW
        WHEN ((OLD.is_active AND OLD.ships_orders) IS DISTINCT FROM (NEW.is_active AND NEW.ships_orders))
        EXECUTE FUNCTION inventory_sellable_online_location()""",
]
POSTGRESQL_UNDO = [
    "DROP TRIGGER inventory_sellable_online_location ON inventory_location",
    "DROP FUNCTION inventory_sellable_online_location()",
    *(f"DROP TRIGGER inventory_sellable_online{suffix} ON inventory_stocklevel" for suffix in ("", "_insert", "_delete")),
    "DROP FUNCTION inventory_sellable_online_row()",
]

# SQLite (the demo, the quick test run): the same sums, at once; SQLite writes one transaction at a time.
def lite(sql: str) -> str:
    return sql.replace("GREATEST", "MAX")  # SQLite's max() of several arguments


SQLITE_UPSERT = """
        INSERT INTO inventory_sellableonline (variant_id, stripe, units)
        SELECT {variant}, 0, {delta} FROM inventory_location WHERE id = {location} AND is_active AND ships_orders
            ON CONFLICT (variant_id, stripe) DO UPDATE SET units = units + excluded.units;"""
SQLITE = [lite(sql) for sql in (
    f"""CREATE TRIGGER inventory_sellable_online AFTER UPDATE ON inventory_stocklevel
        WHEN {clamped("NEW")} <> {clamped("OLD")}
        BEGIN {SQLITE_UPSERT.format(variant="NEW.variant_id", location="NEW.location_id",
                                    delta=f'{clamped("NEW")} - {clamped("OLD")}')} END""",
    f"""CREATE TRIGGER inventory_sellable_online_insert AFTER INSERT ON inventory_stocklevel
        WHEN {clamped("NEW")} > 0
        BEGIN {SQLITE_UPSERT.format(variant="NEW.variant_id", location="NEW.location_id", delta=clamped("NEW"))} END""",
    f"""CREATE TRIGGER inventory_sellable_online_delete AFTER DELETE ON inventory_stocklevel
        WHEN {clamped("OLD")} > 0
        BEGIN {SQLITE_UPSERT.format(variant="OLD.variant_id", location="OLD.location_id", delta="-" + clamped("OLD"))} END""",
    f"""CREATE TRIGGER inventory_sellable_online_location AFTER UPDATE OF is_active, ships_orders ON inventory_location
        WHEN (OLD.is_active AND OLD.ships_orders) IS NOT (NEW.is_active AND NEW.ships_orders)
        BEGIN {RECOMPUTE.format(location="NEW.id")}; END""",
)]
SQLITE_UNDO = [f"DROP TRIGGER inventory_sellable_online{suffix}" for suffix in ("", "_insert", "_delete", "_location")]


def install(apps, schema_editor):
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(schema_editor.connection.vendor)
    if statements is None:
        raise NotImplementedError(f"No SellableOnline triggers for {schema_editor.connection.vendor}.")
    if schema_editor.connection.vendor == "postgresql":
        backfill = BACKFILL.format(stripes="SELECT generate_series(0, 7) AS stripe")
    else:
        backfill = lite(BACKFILL.format(stripes="SELECT 0 AS stripe"))
    for sql in [*statements, backfill]:
        schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    for sql in {"postgresql": POSTGRESQL_UNDO, "sqlite": SQLITE_UNDO}[schema_editor.connection.vendor]:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0007_tax_rates'),
        ('inventory', '0007_found_at_till_and_discrepancies'),
    ]

    operations = [
        migrations.CreateModel(
            name='SellableOnline',
            fields=[
                ('pk', models.CompositePrimaryKey('variant', 'stripe', blank=True, editable=False, primary_key=True, serialize=False)),
                ('stripe', models.SmallIntegerField()),
                ('units', models.BigIntegerField(default=0)),
                ('variant', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='catalog.variant')),
            ],
            options={
                'verbose_name': 'units sellable online',
                'verbose_name_plural': 'units sellable online',
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
