"""Benchmark: "which stores near this point have this variant" and a product page of 50 with availability,
on PostgreSQL with 1,000 stores across the UK and 20,000 variants, each store stocking a random ~5% of them.

Creates (dropping it first) the database `bench_availability` on the server named by DATABASE_URL, migrates,
loads the data through inventory.services, runs VACUUM ANALYZE, times each read after a warm-up and prints median
and p95 against the targets (10 ms, 50 ms, and 30 ms for delivery, through the selectors). Drops the database unless --keep.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/availability.py
"""
import argparse
import os
import random
import statistics
import sys
import time
import warnings
from decimal import Decimal
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

DB_NAME = "bench_availability"
UK = {"lat": (50.0, 58.6), "lng": (-5.7, 1.8)}  # a box around Great Britain; some points fall in the sea
HOURS = {d: "09:00-18:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": "11:00-17:00"}
TARGET_NEAREST_MS, TARGET_PAGE_MS, TARGET_DELIVERY_PAGE_MS = 10.0, 50.0, 30.0  # the last: the checkout-CPU issue


def load(rng: random.Random, *, stores: int, variants: int, stocked_share: float):
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone
    from tqdm import tqdm

    from catalog.models import Category, Channel, Price, Product, Variant
    from inventory.models import Location, SellableOnline
    from inventory.services import StockLine, stock_receive_many

    web, till = Channel.objects.get(code=Channel.WEB), Channel.objects.get(code=Channel.TILL)
    locations = Location.objects.bulk_create(
        Location(
            code=f"S{i:04d}", name=f"Store {i}", city=f"Town {i % 300}", postcode=f"AB{i % 99} {i % 9}CD",
            address_line=f"{i} High Street", latitude=rng.uniform(*UK["lat"]), longitude=rng.uniform(*UK["lng"]),
            opening_hours=HOURS, offers_pickup=True, ships_orders=rng.random() < 0.2,
        )
        for i in range(stores)
    )
    root = Category.objects.create(name="All", slug="all")
    categories = Category.objects.bulk_create(
        Category(name=f"Department {i}", slug=f"department-{i}", parent=root) for i in range(10)
    )
    per_product = 10
    products = Product.objects.bulk_create(
        Product(
            name=f"Product {i:05d}", slug=f"product-{i:05d}", brand=f"Brand {i % 40}",
            category=categories[i % len(categories)], description="Benchmark product.",
        )
        for i in range(variants // per_product)
    )
    sizes = ["XS", "S", "M", "L", "XL"]
    all_variants = Variant.objects.bulk_create(
        Variant(
            product=product, sku=f"P{p:05d}-{v}", barcode=f"50{p * per_product + v:011d}",
            options={"size": sizes[v % 5], "colour": "Navy" if v < 5 else "Oat"},
        )
        for p, product in enumerate(products)
        for v in range(per_product)
    )
    now = timezone.now()
    prices = []
    for variant in all_variants:
        amount = Decimal(rng.randrange(500, 9000)) / 100
        prices.append(Price(variant=variant, channel=till, amount=amount))
        if rng.random() < 0.1:  # a sale running now: the regular price ends where it starts and resumes after
            start, end = now - timedelta(days=1), now + timedelta(days=6)
            sale = (amount * Decimal("0.8")).quantize(Decimal("0.01"))
            prices += [Price(variant=variant, channel=web, amount=amount, valid_until=start),
                       Price(variant=variant, channel=web, amount=sale, valid_from=start, valid_until=end),
                       Price(variant=variant, channel=web, amount=amount, valid_from=end)]
        else:
            prices.append(Price(variant=variant, channel=web, amount=amount))
    Price.objects.bulk_create(prices, batch_size=5000)

    per_store = max(1, round(len(all_variants) * stocked_share))
    for location in tqdm(locations, desc="stock (one stock_receive_many per store)", unit="store", mininterval=5):
        stock_receive_many(
            lines=[
                StockLine(location=location, variant=variant, quantity=rng.randint(1, 12))
                for variant in rng.sample(all_variants, per_store)
            ],
            reference="bench:load",
        )
    with connection.cursor() as cursor:
        # The load (one connection) put each variant's units sellable online into one of its stripes; a busy
        # shop's sales spread them over all of them, each stripe's row rewritten many times.
        cursor.execute(
            "UPDATE inventory_sellableonline c SET units = CASE WHEN c.stripe = 0 THEN t.total - %s * (t.total / %s)"
            " ELSE t.total / %s END FROM (SELECT variant_id, SUM(units) AS total FROM inventory_sellableonline"
            " GROUP BY variant_id) AS t WHERE c.variant_id = t.variant_id",
            [SellableOnline.STRIPES - 1, SellableOnline.STRIPES, SellableOnline.STRIPES])
        cursor.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps: no dead row versions from the load
    return web, locations, all_variants


def loaded():
    from catalog.models import Channel, Variant
    from inventory.models import Location

    return Channel.objects.get(code=Channel.WEB), list(Location.objects.all()), list(Variant.objects.all())


def timed(label: str, call, *, calls: int, warmup: int, target_ms: float | None) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    median, p95 = statistics.median(samples), statistics.quantiles(samples, n=100)[94]
    verdict = ""
    if target_ms is not None:
        verdict = f"  target p95 < {target_ms:.0f} ms: " + ("met" if p95 < target_ms else "MISSED")
    print(f"{label:<58} median {median:7.2f} ms   p95 {p95:7.2f} ms{verdict}")
    return samples


def benchmark(rng: random.Random, web, locations, variants, *, calls: int, warmup: int, explain: bool) -> None:
    from django.test import Client

    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic here

    from catalog.selectors import product_list
    from inventory.selectors import product_availability_attach, stores_nearest_with_variant

    def random_point():
        return rng.uniform(*UK["lat"]), rng.uniform(*UK["lng"])

    def nearest():
        latitude, longitude = random_point()
        rows = stores_nearest_with_variant(variant=rng.choice(variants), channel=web, latitude=latitude,
                                           longitude=longitude, quantity=rng.choice((1, 1, 2, 5)), limit=10)
        return [(r.location.code, r.location.opening_hours, r.distance_km, r.sellable) for r in rows]

    pages = -(-product_list(channel=web).count() // 50)

    def product_page(store):
        queryset = product_list(channel=web)
        queryset.count()  # the paginator's count
        start = rng.randrange(pages) * 50
        products = product_availability_attach(products=queryset[start:start + 50], channel=web, location=store)
        return [
            (p.slug, p.category.name, [(v.sku, v.options, v.price_amount, v.price_currency, v.available)
                                       for v in p.listed_variants])
            for p in products
        ]

    print(f"\n{calls} calls each after {warmup} warm-up calls; random points in the UK box and random variants."
          f"\nLoad average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
          " (other work on the machine inflates the p95).\n")
    timed("(a) stores_nearest_with_variant, limit 10", nearest, calls=calls, warmup=warmup, target_ms=TARGET_NEAREST_MS)
    timed("(b) product page of 50 + availability at a store", lambda: product_page(rng.choice(locations)),
          calls=calls, warmup=warmup, target_ms=TARGET_PAGE_MS)
    timed("    product page of 50 + availability for delivery", lambda: product_page(None),
          calls=calls, warmup=warmup, target_ms=TARGET_DELIVERY_PAGE_MS)

    print("\nThe same through the HTTP API (in-process test client: routing, channel, serializers, JSON):")
    try:
        client = Client(raise_request_exception=True)
        client.get("/api/v1/stores/S0000/")
    except Exception as error:  # another app's module failing to import must not cost the figures above
        print(f"    skipped: the URLconf did not load ({type(error).__name__}: {error})")
    else:
        timed("    GET /api/v1/variants/{sku}/availability/?near=", lambda: client.get(
            f"/api/v1/variants/{rng.choice(variants).sku}/availability/", {"near": "%f,%f" % random_point()}),
            calls=calls, warmup=warmup, target_ms=None)
        timed("    GET /api/v1/products/?store=&page_size=50", lambda: client.get("/api/v1/products/", {
            "store": rng.choice(locations).code, "page_size": 50, "page": rng.randrange(pages) + 1}),
            calls=calls, warmup=warmup, target_ms=None)

    if explain:
        latitude, longitude = random_point()
        query = stores_nearest_with_variant(variant=rng.choice(variants), channel=web, latitude=latitude,
                                            longitude=longitude)
        print("\nPlan of (a):\n" + query.explain(analyze=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=1000)
    parser.add_argument("--variants", type=int, default=20_000)
    parser.add_argument("--stocked-share", type=float, default=0.05, help="share of variants each store stocks")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of one nearest-stores query")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    parser.add_argument("--reuse", action="store_true", help=f"time the data a --keep run left in {DB_NAME}")
    args = parser.parse_args()

    server = server_url()
    rng = random.Random(args.seed)
    if not args.reuse:
        recreate_database(server, DB_NAME)
    try:
        setup_django(server, DB_NAME, ALLOWED_HOSTS="testserver")
        started = time.perf_counter()
        if args.reuse:
            web, locations, variants = loaded()
        else:
            web, locations, variants = load(rng, stores=args.stores, variants=args.variants,
                                            stocked_share=args.stocked_share)
        from inventory.models import StockLevel, StockMovement

        print(f"loaded {len(locations):,} stores, {len(variants):,} variants, {StockLevel.objects.count():,} stock "
              f"levels and {StockMovement.objects.count():,} movements in {time.perf_counter() - started:.0f} s")
        benchmark(rng, web, locations, variants, calls=args.calls, warmup=args.warmup, explain=args.explain)
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            drop_database(server, DB_NAME)
    print(f"\nreproduce: DATABASE_URL={without_password(server)} .venv/bin/python bench/availability.py"
          + (f" --seed {args.seed}" if args.seed != 2024 else ""))


if __name__ == "__main__":
    main()
