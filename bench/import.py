"""Benchmark: import a catalogue of 100,000 variants from CSV (products, variants, prices, stock counts at two
stores) on PostgreSQL, then import the same files again, which must change nothing. Target: under 60 s.

Creates (dropping it first) the database `bench_import` on the server named by DATABASE_URL, migrates, writes
the CSV files into a temporary directory, imports each kind through backoffice.imports.csv_import (what
`manage.py import_csv` runs) and prints seconds per kind and in total, for the first and the second run.
Checks that the second run wrote nothing and that the stock ledger balances. Drops the database unless --keep.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/import.py
"""
import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.database import (  # noqa: E402  (after the path is set)
    drop_database,
    recreate_database,
    server_url,
    setup_django,
    without_password,
)

DB_NAME = "bench_import"
TARGET_SECONDS = 60.0
STORES = [("LDN-OXF", "London Oxford Street", 51.5154, -0.1410), ("MAN-ARN", "Manchester Arndale", 53.4831, -2.2399),
          ("BHM-BUL", "Birmingham Bullring", 52.4776, -1.8946), ("GLA-BUC", "Glasgow Buchanan", 55.8625, -4.2533)]
KINDS = ("products", "variants", "prices", "stock")


def prepare(stores: int) -> None:
    """What the files refer to and an import does not create: categories and stores."""
    from catalog.models import Category
    from inventory.models import Location

    root = Category.objects.create(name="All", slug="all")
    Category.objects.bulk_create(Category(name=f"Department {i}", slug=f"department-{i}", parent=root) for i in range(10))
    Location.objects.bulk_create(Location(code=code, name=name, latitude=lat, longitude=lng, offers_pickup=True)
                                 for code, name, lat, lng in STORES[:stores])


def write_files(directory: Path, rng: random.Random, *, variants: int, stores: int, per_product: int) -> dict[str, int]:
    """One CSV per kind; returns the rows of each. Every variant has a web and a till price; one in ten has
    its web price end on 1 June and a sale price from then on; every store counts every variant."""
    rows = {kind: 0 for kind in KINDS}
    sizes, colours = ["XS", "S", "M", "L", "XL"], ["Navy", "Oat", "Black", "Sage"]
    files = {kind: (directory / f"{kind}.csv").open("w", encoding="utf-8", newline="") for kind in KINDS}
    writers = {kind: csv.writer(handle) for kind, handle in files.items()}
    from backoffice.imports import COLUMNS

    for kind, writer in writers.items():
        writer.writerow(COLUMNS[kind])
    for p in range(-(-variants // per_product)):
        slug = f"product-{p:06d}"
        writers["products"].writerow([slug, f"Product {p:06d}", f"Brand {p % 40}", f"department-{p % 10}",
                                      "Benchmark product, cotton.", "standard", "true"])
        rows["products"] += 1
        for v in range(per_product):
            n = p * per_product + v
            if n >= variants:
                break
            sku = f"P{p:06d}-{v}"
            options = f"size={sizes[v % 5]};colour={colours[v // 5 % 4]}"
            writers["variants"].writerow([sku, slug, f"50{n:011d}", options, 150 + v * 10, "true"])
            rows["variants"] += 1
            amount = rng.randrange(500, 9000)
            if rng.random() < 0.1:
                prices = [["web", "", f"{amount / 100:.2f}", "GBP", "", "2025-06-01T00:00:00+01:00"],
                          ["web", "", f"{amount * 0.8 / 100:.2f}", "GBP", "2025-06-01T00:00:00+01:00", ""]]
            else:
                prices = [["web", "", f"{amount / 100:.2f}", "GBP", "", ""]]
            prices.append(["till", "", f"{amount / 100:.2f}", "GBP", "", ""])
            for price in prices:
                writers["prices"].writerow([sku, *price])
            rows["prices"] += len(prices)
            for code, *_ in STORES[:stores]:
                writers["stock"].writerow([code, sku, rng.randint(0, 12)])
                rows["stock"] += 1
    for handle in files.values():
        handle.close()
    return rows


def import_all(directory: Path, label: str) -> dict[str, tuple[float, object]]:
    from backoffice.imports import csv_import

    timings = {}
    for kind in KINDS:
        started = time.perf_counter()
        with (directory / f"{kind}.csv").open(encoding="utf-8-sig", newline="") as handle:
            result = csv_import(kind=kind, file=handle, reference=f"bench:{kind}.csv")
        seconds = time.perf_counter() - started
        timings[kind] = (seconds, result)
        print(f"  {label:<7} {kind:<9} {seconds:7.2f} s   {result.summary()}", flush=True)
        if result.refused:
            sys.exit("refused: " + "; ".join(str(e) for e in result.errors[:10]))
    return timings


def tables() -> dict[str, int]:
    from catalog.models import Price, Product, Variant
    from inventory.models import StockLevel, StockMovement

    return {model.__name__: model.objects.count() for model in (Product, Variant, Price, StockLevel, StockMovement)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=100_000)
    parser.add_argument("--stores", type=int, default=2, choices=range(1, len(STORES) + 1),
                        help="stores that count every variant (default 2)")
    parser.add_argument("--per-product", type=int, default=5, help="variants per product (default 5)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    args = parser.parse_args()

    server = server_url()
    recreate_database(server, DB_NAME)
    try:
        setup_django(server, DB_NAME)
        prepare(args.stores)
        with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
            directory = Path(tmp)
            started = time.perf_counter()
            rows = write_files(directory, random.Random(args.seed), variants=args.variants, stores=args.stores,
                               per_product=args.per_product)
            print(f"wrote {', '.join(f'{n:,} {kind}' for kind, n in rows.items())} rows in "
                  f"{time.perf_counter() - started:.1f} s\n")
            first = import_all(directory, "first")
            after_first = tables()
            print()
            second = import_all(directory, "second")
            after_second = tables()

        from django.core.management import call_command

        call_command("verify_ledger", verbosity=0)
        total_first, total_second = (sum(t for t, _ in run.values()) for run in (first, second))
        unchanged = after_first == after_second and not any(r.created or r.updated for _, r in second.values())
        print(f"\nrows now: {', '.join(f'{n:,} {name}' for name, n in after_first.items())}")
        print(f"first import, all kinds:  {total_first:6.1f} s   target < {TARGET_SECONDS:.0f} s: "
              + ("met" if total_first < TARGET_SECONDS else "MISSED"))
        print(f"second import (no-op):    {total_second:6.1f} s   changed nothing: " + ("yes" if unchanged else "NO"))
        print(f"Load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work on the machine slows it).")
        if not unchanged:
            sys.exit("the second import changed rows")
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            drop_database(server, DB_NAME)
    flags = "".join(f" --{name} {value}" for name, value, default in (
        ("variants", args.variants, 100_000), ("stores", args.stores, 2), ("per-product", args.per_product, 5),
        ("seed", args.seed, 2024)) if value != default)
    print(f"\nreproduce: DATABASE_URL={without_password(server)} .venv/bin/python bench/import.py{flags}")


if __name__ == "__main__":
    main()
