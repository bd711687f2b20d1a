"""What the per-variant "sellable online" counter costs stock writes on PostgreSQL: checkouts committing one unit
of ONE popular variant at random among 200 stores, with the counter's trigger on and off, against a 0.8 target.

Creates (dropping it first) the database `bench_sellable_online` on the server named by DATABASE_URL, migrates,
loads 200 active stores that all ship orders, each stocking the popular variant with 10**6 on hand (so nothing runs
out) and 5 units of safety stock, through inventory.services. Then --workers processes, one connection each, loop
what a one-transaction checkout does to stock:

    with transaction.atomic():
        stock_commit(lines=[StockLine(store, variant, 1)], channel=web, savepoint=False)

at a random store, for --seconds after 20 untimed commits each, released together by a barrier. Rounds alternate
counter ON, OFF, ON, OFF (--rounds pairs): between rounds the parent switches the constraint trigger
`inventory_sellable_online` on inventory_stocklevel (migration inventory 0008_sellable_online) with ALTER TABLE
... ENABLE/DISABLE TRIGGER, then runs VACUUM ANALYZE and CHECKPOINT. It reports commits/s per scenario (median of
its rounds) and ON/OFF against the target (ON >= 0.8 x OFF), then a final PASS/FAIL line.

After every ON round the counter must equal the sum over the variant's active shipping locations of
greatest(on_hand - committed - reserved - unavailable - safety_stock, 0); after every OFF round it must not have
moved (else the trigger was not off and the comparison means nothing). Exits 1 if the trigger is missing or the
counter is wrong; a missed target prints FAIL and exits 0, like the other benches' targets. Drops the database
unless --keep.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/sellable_online.py
"""
import argparse
import random
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import (  # noqa: E402  (after the path is set)
    drop_database,
    recreate_database,
    repeat_timed,
    run_workers,
    server_url,
    setup_django,
    tidy_tables,
    with_database,
    without_password,
)
from bench.stock_reserve import machine_info  # noqa: E402

BENCH_DB = "bench_sellable_online"
STORES = 200
# Per store: no run comes near selling it out, so every commit succeeds and moves the counter by one.
ON_HAND = 10**6
SAFETY_STOCK = 5  # so the counter's sum has to leave it out
LOAD_BATCH = 20  # stores per stock_receive_many call while loading
WARMUP = 20  # commits per worker before the start barrier, not timed (inside the round: the checks count them)
POPULAR_SKU = "BENCH-POPULAR"
TARGET = 0.8  # commits/s with the counter >= 0.8 x commits/s without it
TRIGGER, COUNTER_TABLE = "inventory_sellable_online", "inventory_sellableonline"

# What the counter of a variant should read: its online-sellable units at active locations that ship orders.
EXPECTED_UNITS = """
    SELECT coalesce(sum(greatest(s.on_hand - s.committed - s.reserved - s.unavailable - s.safety_stock, 0)), 0)
      FROM inventory_stocklevel s JOIN inventory_location l ON l.id = s.location_id
     WHERE s.variant_id = %s AND l.is_active AND l.ships_orders"""


class CounterMissing(Exception):
    """The trigger or its table is not in the migrated database."""


# Setup ----------------------------------------------------------------------------------------


def load_data() -> int:
    """200 active stores that ship orders, each with the popular variant in stock; returns the variant's id."""
    from catalog.models import Category, Product, Variant
    from inventory.models import Location
    from inventory.services import StockLine, stock_receive_many, stock_set_safety_stock

    started = time.perf_counter()
    category = Category.objects.create(name="Bench", slug="bench")
    product = Product.objects.create(name="Bench bestseller", slug="bench-bestseller", category=category)
    variant = Variant.objects.create(product=product, sku=POPULAR_SKU, options={"size": "M"})
    Location.objects.bulk_create([
        Location(code=f"BENCH-STORE-{i + 1:03d}", name=f"Bench store {i + 1}", latitude=50.0 + (i % 20) * 0.2,
                 longitude=-5.0 + (i // 20) * 0.5, ships_orders=True, is_active=True)
        for i in range(STORES)
    ])
    stores = list(Location.objects.filter(code__startswith="BENCH-STORE-").order_by("code"))
    print(f"  {len(stores)} stores, variant {POPULAR_SKU}; receiving {ON_HAND:,} units at each through the services",
          flush=True)
    for first in range(0, len(stores), LOAD_BATCH):
        batch = stores[first:first + LOAD_BATCH]
        stock_receive_many(lines=[StockLine(store, variant, ON_HAND) for store in batch], reference="bench:load")
        for store in batch:
            stock_set_safety_stock(location=store, variant=variant, quantity=SAFETY_STOCK)
        print(f"  stocked {first + len(batch):>3}/{len(stores)} stores ({time.perf_counter() - started:.1f} s)",
              flush=True)
    return variant.pk


def counter_trigger() -> tuple[bool, bool, bool]:
    """(enabled, deferrable, initially deferred) of the counter's trigger, or CounterMissing saying what is not there."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [COUNTER_TABLE])
        table = cursor.fetchone()[0]
        cursor.execute(
            "SELECT tgenabled, tgdeferrable, tginitdeferred FROM pg_trigger"
            " WHERE tgrelid = 'inventory_stocklevel'::regclass AND tgname = %s", [TRIGGER])
        row = cursor.fetchone()
    missing = ([] if table else [f"table {COUNTER_TABLE}"]) + ([] if row else [f"trigger {TRIGGER} on inventory_stocklevel"])
    if missing:
        raise CounterMissing(" and ".join(missing))
    enabled, deferrable, deferred = row
    return enabled != "D", deferrable, deferred


def switch_counter(on: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE inventory_stocklevel {'ENABLE' if on else 'DISABLE'} TRIGGER {TRIGGER}")
    if counter_trigger()[0] != on:
        raise SystemExit(f"ALTER TABLE did not switch {TRIGGER} {'on' if on else 'off'}")


def counter_units(variant_id: int) -> tuple[int | None, int]:
    """(what the counter reads, None without a row; what it should read)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT sum(units) FROM {COUNTER_TABLE} WHERE variant_id = %s", [variant_id])  # its stripes
        units = cursor.fetchone()[0]
        cursor.execute(EXPECTED_UNITS, [variant_id])
        return units, cursor.fetchone()[0]


def counter_reset(variant_id: int) -> None:
    """Recompute the counter from the stock rows. After an OFF round it is stale by design; resetting it before
    each ON round makes the check after that round judge only the writes made in it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {COUNTER_TABLE} WHERE variant_id = %s", [variant_id])  # every stripe
        cursor.execute(f"INSERT INTO {COUNTER_TABLE} (variant_id, stripe, units) SELECT %s, 0, ({EXPECTED_UNITS})",
                       [variant_id, variant_id])


# Workers --------------------------------------------------------------------------------------


def worker(url: str, seconds: float, seed: int, barrier, results) -> None:
    """Set up, warm up, wait for the others, then commit one unit at a random store per transaction until time is up."""
    try:
        setup_django(url, BENCH_DB, migrate=False, LOG_LEVEL="WARNING")
        from django.db import transaction

        from catalog.models import Channel, Variant
        from inventory.models import Location
        from inventory.services import StockLine, stock_commit

        stores = list(Location.objects.filter(code__startswith="BENCH-STORE-"))
        variant, web = Variant.objects.get(sku=POPULAR_SKU), Channel.objects.get(code="web")
        rng = random.Random(seed)

        def checkout() -> None:
            with transaction.atomic():
                stock_commit(lines=[StockLine(rng.choice(stores), variant, 1)], channel=web,
                             reference="bench:checkout", savepoint=False)

        repeat_timed(checkout, warmup=WARMUP, seconds=seconds, barrier=barrier, results=results)
    except Exception:
        results.put(("error", traceback.format_exc(), 0.0))
        barrier.abort()


def run_round(url: str, seconds: float, workers: int, seed: int) -> tuple[int, float]:
    """Start the workers, release them together, and return (timed commits, seconds)."""
    return run_workers(worker, lambda i: (url, seconds, seed + 1000 * i), workers=workers, seconds=seconds)


# Report ---------------------------------------------------------------------------------------


def reproduce_command(server: str, args: argparse.Namespace) -> str:
    flags = "".join(f" --{name} {value:g}" for name, value, default in (
        ("seconds", args.seconds, 10.0), ("workers", args.workers, 8), ("rounds", args.rounds, 2)) if value != default)
    return (f"DATABASE_URL={without_password(server)} .venv/bin/python bench/sellable_online.py{flags}"
            + (" --keep" if args.keep else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="timed wall time per round (default 10)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent processes/connections (default 8)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="ON/OFF pairs, run ON, OFF, ON, OFF, ...; medians reported (default 2)")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    args = parser.parse_args()

    server = server_url()
    url = with_database(server, BENCH_DB)
    command = reproduce_command(server, args)
    print(f"reproduce:  {command}")
    wrong: list[str] = []
    recreate_database(server, BENCH_DB)
    try:
        setup_django(server, BENCH_DB, migrate=False, LOG_LEVEL="WARNING")  # migrated below, with a progress line
        from django.core.management import call_command
        from django.db import connections

        print("\n".join(machine_info()))
        print(f"database:   {BENCH_DB} (created fresh; the database in DATABASE_URL is not touched)")
        print(f"run:        {args.workers} processes, one connection each, {args.seconds:g} s per round, "
              f"{args.rounds} x (counter ON, counter OFF), {WARMUP} untimed commits per worker first\n")

        print("migrating ...", flush=True)
        call_command("migrate", verbosity=0)
        try:
            enabled, deferrable, deferred = counter_trigger()
        except CounterMissing as missing:
            print(f"\nCOUNTER MISSING: no {missing} after migrating (migration inventory 0008_sellable_online "
                  "not in this tree?). Nothing to measure.")
            raise SystemExit(1) from None
        print(f"counter:    trigger {TRIGGER} on inventory_stocklevel, "
              f"{'enabled' if enabled else 'DISABLED'}, {'DEFERRABLE' if deferrable else 'NOT DEFERRABLE'} "
              f"INITIALLY {'DEFERRED' if deferred else 'IMMEDIATE'}, switched between rounds (the workload only\n"
              f"            updates stock rows: the migration's insert and delete triggers stay on); table {COUNTER_TABLE}")
        switch_counter(True)  # the load's receipts must make the counter row
        print("loading ...", flush=True)
        variant_id = load_data()
        units, expected = counter_units(variant_id)
        print(f"  counter after loading: {'no row' if units is None else f'{units:,}'} (should be {expected:,})")
        if units != expected:
            wrong.append(f"after loading the counter read {units}, not {expected:,}")

        runs: dict[bool, list[float]] = {True: [], False: []}
        for round_ in range(1, args.rounds + 1):
            for on in (True, False):
                switch_counter(on)
                if on:
                    counter_reset(variant_id)
                tidy_tables("inventory_stocklevel", "inventory_stockmovement", COUNTER_TABLE)
                before, sellable_before = counter_units(variant_id)
                connections.close_all()
                print(f"round {round_}: counter {'ON ' if on else 'OFF'} ...", end=" ", flush=True)
                done, elapsed = run_round(url, args.seconds, args.workers, seed=round_ * 10 + on)
                runs[on].append(done / elapsed)
                units, expected = counter_units(variant_id)
                commits = done + WARMUP * args.workers
                print(f"{done / elapsed:,.0f} commits/s ({done:,} in {elapsed:.1f} s)", flush=True)
                if sellable_before - expected != commits:
                    wrong.append(f"round {round_} {'ON' if on else 'OFF'}: sellable units fell by "
                                 f"{sellable_before - expected:,}, the workers committed {commits:,}")
                if on:
                    print(f"  counter {units:,}, sum over stores {expected:,}: "
                          + ("right" if units == expected else "WRONG"))
                    if units != expected:
                        wrong.append(f"round {round_} ON: counter {units}, sum over stores {expected:,}")
                else:
                    print(f"  counter {units:,}, unchanged while off "
                          + ("(stale by design)" if units == before else "NO: the trigger was not off"))
                    if units != before:
                        wrong.append(f"round {round_} OFF: the counter moved from {before} to {units}")

        rate_on, rate_off = statistics.median(runs[True]), statistics.median(runs[False])
        spread = f"  (median of {args.rounds}; min-max)" if args.rounds > 1 else ""
        print(f"\n{'scenario':<20}{'commits/s':>12}{'mean latency':>15}{spread}")
        for on, rate in ((True, rate_on), (False, rate_off)):
            extent = f"  {min(runs[on]):,.0f}-{max(runs[on]):,.0f}" if args.rounds > 1 else ""
            print(f"{'counter ON' if on else 'counter OFF':<20}{rate:>12,.0f}{1000 * args.workers / rate:>12.2f} ms"
                  f"{extent}")
        ratio = rate_on / rate_off
        print(f"\nON / OFF: {ratio:.2f}  (target >= {TARGET:.2f})")
        if wrong:
            print("\nCOUNTER WRONG:\n  " + "\n  ".join(wrong))
        print(f"\nresult: {'PASS' if ratio >= TARGET else 'FAIL'}: {rate_on:,.0f} commits/s with the counter, "
              f"{rate_off:,.0f} without, {ratio:.2f} x (target {TARGET:.2f} x); counter "
              + ("WRONG" if wrong else "right after every ON round"))
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep:
            print(f"kept database {BENCH_DB}")
        else:
            drop_database(server, BENCH_DB)
            print(f"dropped database {BENCH_DB}")
        print(f"reproduce:  {command}")
    if wrong:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
