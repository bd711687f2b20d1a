"""Reservations per second through inventory.services.stock_reserve with concurrent connections on
PostgreSQL, for one hot SKU and for stock spread over 50 stores x 2,000 SKUs, against raw-SQL ceilings."""
import argparse
import os
import platform
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

BENCH_DB = "bench_stock_reserve"
STORES, SKUS = 50, 2_000
ON_HAND = 10**9  # stock never runs out, so every reservation succeeds
WARMUP = 20  # reservations per worker before the start barrier, not timed
HOT_STORE, HOT_SKU = "BENCH-STORE-01", "BENCH-HOT"

RAW_UPDATE = """
    UPDATE inventory_stocklevel SET reserved = reserved + 1
     WHERE location_id = %s AND variant_id = %s
       AND on_hand >= committed + reserved + unavailable + safety_stock + 1"""
RAW_LOCK = """
    SELECT id, on_hand - committed - reserved - unavailable - safety_stock
      FROM inventory_stocklevel WHERE location_id = %s AND variant_id = %s FOR UPDATE"""
RAW_UPDATE_BY_ID = "UPDATE inventory_stocklevel SET reserved = reserved + 1 WHERE id = %s"
RAW_LEDGER = """
    INSERT INTO inventory_stockmovement
           (location_id, variant_id, reason, on_hand_delta, committed_delta, reserved_delta, unavailable_delta,
            incoming_delta, reference, note, actor_id, created_at, idempotency_key)
    VALUES (%s, %s, 'reservation', 0, 0, 1, 0, 0, 'bench:raw', '', NULL, now(), NULL)"""

# (key, label, kind, hot): kind is the code path, hot means every reservation hits one pair
SCENARIOS = [
    ("service-hot", "service  stock_reserve           hot SKU", "service", True),
    ("update-hot", "raw SQL  conditional UPDATE      hot SKU", "update", True),
    ("lock-hot", "raw SQL  SELECT FOR UPDATE       hot SKU", "lock", True),
    ("service-spread", "service  stock_reserve           spread", "service", False),
    ("update-spread", "raw SQL  conditional UPDATE      spread", "update", False),
    ("lock-spread", "raw SQL  SELECT FOR UPDATE       spread", "lock", False),
]
RAW_ROUND_TRIPS = {"update": 4, "lock": 5}  # BEGIN, statements, COMMIT
TARGET_SHARE = 0.6  # of the raw conditional UPDATE's rate, hot and spread (the checkout-CPU issue)


# Setup ----------------------------------------------------------------------------------------


def load_data() -> None:
    """50 stores, 2,000 variants, stock for every pair, and one hot variant at one store."""
    from catalog.models import Category, Product, Variant
    from inventory.models import Location
    from inventory.services import StockLine, stock_receive, stock_receive_many

    started = time.perf_counter()
    category = Category.objects.create(name="Bench", slug="bench")
    products = Product.objects.bulk_create(
        [Product(name=f"Bench tee {i}", slug=f"bench-tee-{i}", category=category) for i in range(SKUS // 5 + 1)]
    )
    sizes = ["XS", "S", "M", "L", "XL"]
    Variant.objects.bulk_create(
        [
            Variant(product=products[i // 5], sku=f"BENCH-{i:05d}", options={"size": sizes[i % 5]})
            for i in range(SKUS)
        ]
        + [Variant(product=products[-1], sku=HOT_SKU, options={"size": "M"})]
    )
    Location.objects.bulk_create(
        [
            Location(code=f"BENCH-STORE-{i + 1:02d}", name=f"Bench store {i + 1}",
                     latitude=50.0 + i * 0.1, longitude=-5.0 + i * 0.1)
            for i in range(STORES)
        ]
    )
    stores = list(Location.objects.filter(code__startswith="BENCH-STORE-").order_by("code"))
    variants = list(Variant.objects.exclude(sku=HOT_SKU).order_by("sku"))
    print(f"  {len(stores)} stores, {len(variants)} variants + {HOT_SKU}; receiving stock through the service layer")
    for n, store in enumerate(stores, 1):
        stock_receive_many(lines=[StockLine(store, v, ON_HAND) for v in variants], reference="bench:load")
        if n % 5 == 0 or n == len(stores):
            print(f"  stock received at {n:>2}/{len(stores)} stores ({n * len(variants):,} pairs, "
                  f"{time.perf_counter() - started:.0f} s)", flush=True)
    stock_receive(location=stores[0], variant=Variant.objects.get(sku=HOT_SKU), quantity=ON_HAND,
                  reference="bench:load")
    print(f"  hot pair: {HOT_SKU} at {HOT_STORE}; loaded in {time.perf_counter() - started:.0f} s")


def service_queries() -> list[str]:
    """The SQL one single-line stock_reserve sends, as Django logs it (BEGIN and COMMIT included)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.models import Channel, Variant
    from inventory.models import Location
    from inventory.services import StockLine, stock_reserve

    store, variant = Location.objects.get(code=HOT_STORE), Variant.objects.get(sku="BENCH-00000")
    web = Channel.objects.get(code="web")
    with CaptureQueriesContext(connection) as captured:
        stock_reserve(lines=[StockLine(store, variant, 1)], channel=web)
    return [q["sql"] for q in captured.captured_queries]


# Workers --------------------------------------------------------------------------------------


def worker(kind: str, hot: bool, url: str, seconds: float, seed: int, barrier, results) -> None:
    """Set up, warm up, wait for the others, then reserve one unit at a time until time is up."""
    try:
        setup_django(url, BENCH_DB, migrate=False, LOG_LEVEL="WARNING")
        from django.db import connection

        from catalog.models import Channel, Variant
        from inventory.models import Location
        from inventory.services import StockLine, stock_reserve

        if hot:
            stores = [Location.objects.get(code=HOT_STORE)]
            variants = [Variant.objects.get(sku=HOT_SKU)]
        else:
            stores = list(Location.objects.filter(code__startswith="BENCH-STORE-"))
            variants = list(Variant.objects.filter(sku__startswith="BENCH-").exclude(sku=HOT_SKU))
        rng = random.Random(seed)

        if kind == "service":
            web = Channel.objects.get(code="web")

            def reserve() -> None:
                stock_reserve(lines=[StockLine(rng.choice(stores), rng.choice(variants), 1)], channel=web)
        else:
            import psycopg

            store_ids, variant_ids = [s.pk for s in stores], [v.pk for v in variants]
            connection.close()
            conn = psycopg.connect(url)  # not autocommit: the first statement opens the transaction
            cur = conn.cursor()

            if kind == "update":
                def reserve() -> None:
                    pair = (rng.choice(store_ids), rng.choice(variant_ids))
                    cur.execute(RAW_UPDATE, pair)
                    if cur.rowcount != 1:
                        conn.rollback()
                        raise RuntimeError(f"conditional UPDATE refused {pair}")
                    cur.execute(RAW_LEDGER, pair)
                    conn.commit()
            else:
                def reserve() -> None:
                    pair = (rng.choice(store_ids), rng.choice(variant_ids))
                    cur.execute(RAW_LOCK, pair)
                    row = cur.fetchone()
                    if row is None or row[1] < 1:
                        conn.rollback()
                        raise RuntimeError(f"no stock to hold at {pair}")
                    cur.execute(RAW_UPDATE_BY_ID, (row[0],))
                    cur.execute(RAW_LEDGER, pair)
                    conn.commit()

        repeat_timed(reserve, warmup=WARMUP, seconds=seconds, barrier=barrier, results=results)
    except Exception:
        results.put(("error", traceback.format_exc(), 0.0))
        barrier.abort()


def run_scenario(kind: str, hot: bool, url: str, seconds: float, workers: int) -> tuple[int, float]:
    """Start the workers, release them together, and return (reservations, seconds)."""
    return run_workers(worker, lambda i: (kind, hot, url, seconds, 1000 * i + 7), workers=workers, seconds=seconds)


# Checks and report ----------------------------------------------------------------------------


def ledger_check() -> tuple[int, int, int]:
    """(pairs whose buckets differ from their movements, reservation movements, units reserved)."""
    from django.db.models import Count, Sum

    from inventory.models import Location, StockLevel, StockMovement
    from inventory.selectors import ledger_drift

    drifted = set()
    for location in Location.objects.filter(code__startswith="BENCH-STORE-"):
        drifted |= {(d.location, d.sku) for d in ledger_drift(location=location)}
    movements = StockMovement.objects.filter(reason=StockMovement.Reason.RESERVATION).aggregate(n=Count("id"))["n"]
    reserved = StockLevel.objects.aggregate(total=Sum("reserved"))["total"] or 0
    return len(drifted), movements, reserved


def machine_info() -> list[str]:
    import django
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        settings = {}
        for name in ("server_version", "synchronous_commit", "shared_buffers", "max_connections"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
    host = connection.settings_dict["HOST"] or "local socket"
    return [
        f"machine:    {os.cpu_count()} cores, {platform.platform()}, "
        f"load average {os.getloadavg()[0]:.2f} at start (other work on these cores lowers every figure)",
        f"software:   Python {platform.python_version()}, Django {django.__version__}, psycopg {psycopg.__version__}",
        f"PostgreSQL: {settings['server_version']} at {host} (synchronous_commit={settings['synchronous_commit']}, "
        f"shared_buffers={settings['shared_buffers']}, max_connections={settings['max_connections']})",
    ]


def reproduce_command(server: str, args: argparse.Namespace) -> str:
    python = Path(sys.executable)
    try:
        python = python.relative_to(ROOT) if Path.cwd() == ROOT else python
    except ValueError:
        pass
    extra = (f" --rounds {args.rounds}" if args.rounds != 1 else "") + (" --keep" if args.keep else "")
    return (f"DATABASE_URL={without_password(server)} {python} bench/stock_reserve.py "
            f"--seconds {args.seconds:g} --workers {args.workers}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed wall time per scenario (default 10)")
    parser.add_argument("--workers", type=int, default=8, help="concurrent processes/connections (default 8)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every scenario this many times, interleaved, and report the median (default 1)")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    args = parser.parse_args()

    server = server_url("")  # required: the bench creates its own database on that server
    url = with_database(server, BENCH_DB)
    command = reproduce_command(server, args)
    print(f"reproduce:  {command}")

    recreate_database(server, BENCH_DB)
    setup_django(url, BENCH_DB, migrate=False, LOG_LEVEL="WARNING")  # migrated below, with a progress line
    from django.core.management import call_command
    from django.db import connections

    print("\n".join(machine_info()))
    print(f"database:   {BENCH_DB} (created fresh; the database in DATABASE_URL is not touched)")
    print(f"run:        {args.workers} processes, one connection each, {args.seconds:g} s per scenario, "
          f"{args.rounds} round(s), {WARMUP} untimed reservations per worker first\n")

    print("migrating ...", flush=True)
    call_command("migrate", verbosity=0)
    print("loading ...", flush=True)
    load_data()
    tidy_tables("inventory_stocklevel", "inventory_stockmovement")

    queries = service_queries()
    statements = [sql for sql in queries if sql not in ("BEGIN", "COMMIT")]
    print(f"\none service stock_reserve = {len(statements)} statements + BEGIN + COMMIT = "
          f"{len(statements) + 2} round trips (raw conditional UPDATE: 2 + 2 = 4):")
    for sql in queries:
        print(f"  {sql[:110]}{' ...' if len(sql) > 110 else ''}")
    print()

    runs: dict[str, list[float]] = {key: [] for key, *_ in SCENARIOS}
    total_done = 0
    for round_ in range(1, args.rounds + 1):
        for key, label, kind, hot in SCENARIOS:
            tidy_tables("inventory_stocklevel", "inventory_stockmovement")
            connections.close_all()
            print(f"round {round_}: {label} ...", end=" ", flush=True)
            done, elapsed = run_scenario(kind, hot, url, args.seconds, args.workers)
            total_done += done + WARMUP * args.workers
            runs[key].append(done / elapsed)
            print(f"{done / elapsed:,.0f}/s ({done:,} in {elapsed:.1f} s)", flush=True)
    rates = {key: statistics.median(values) for key, values in runs.items()}

    trips = {"service": len(statements) + 2, **RAW_ROUND_TRIPS}
    spread_note = f"  (median of {args.rounds} rounds; min-max)" if args.rounds > 1 else ""
    print(f"\n{'scenario':<42}{'reservations/s':>16}{'mean latency':>15}{'round trips':>13}{spread_note}")
    for key, label, kind, hot in SCENARIOS:
        latency_ms = 1000 * args.workers / rates[key]
        extent = f"  {min(runs[key]):,.0f}-{max(runs[key]):,.0f}" if args.rounds > 1 else ""
        print(f"{label:<42}{rates[key]:>16,.0f}{latency_ms:>12.2f} ms{trips[kind]:>13}{extent}")
    print()
    for where in ("hot", "spread"):
        ratio = rates[f"service-{where}"] / rates[f"update-{where}"]
        verdict = "meets" if ratio >= TARGET_SHARE else "below"
        print(f"service / raw ceiling, {where + ':':<8} {ratio:.2f}  ({verdict} the {TARGET_SHARE:.2f} target)")
    for where in ("hot", "spread"):
        ratio = rates[f"update-{where}"] / rates[f"lock-{where}"]
        print(f"conditional UPDATE / lock-then-update, {where + ':':<8} {ratio:.2f}x")

    drift, movements, reserved = ledger_check()
    expected = total_done + 1  # plus the reservation made while counting queries
    print(f"\nledger drift: {drift} pairs (all {STORES * SKUS + 1:,} pairs: StockLevel buckets vs sum of movements)")
    print(f"reservations counted by workers: {expected:,}; reservation movements: {movements:,}; "
          f"units reserved in StockLevel: {reserved:,}")

    connections.close_all()
    if args.keep:
        print(f"kept database {BENCH_DB}")
    else:
        drop_database(server, BENCH_DB)
        print(f"dropped database {BENCH_DB}")
    print(f"reproduce:  {command}")
    if drift or movements != expected or reserved != expected:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
