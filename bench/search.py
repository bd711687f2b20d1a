"""Benchmark: product search and sorts on PostgreSQL over 20,000 products × 5 variants, through what the products API
and the shop's catalogue page run: catalog.filters.ProductFilter (catalog.search) over catalog.selectors.product_list,
the paginator's count and a page of 24 with its variants and their prices.

Creates (dropping it first) the database `bench_search` (--database) on the server DATABASE_URL names and migrates
it; loads a catalogue made from the demo's vocabulary (demo/assortment.py: names, brands, categories, colours, sizes,
descriptions), one web price per variant (a tenth of them on sale through price windows) and 60 days of orders, by
bulk inserts (the search triggers keep each document); runs the popularity and lowest-price jobs' services and
VACUUM ANALYZE. Then times typical searches (single words, plurals, colour + kind, typos, brands, prefixes, codes),
each with every sort, after a warm-up round, and prints p50/p95/max per kind of search, per sort and overall,
against the target (p95 < 30 ms), where the time goes, and a page without a search for reference; for the API's
list and for the shop's (which lists only what can be bought); then the same searches as whole requests (the API's
JSON, the shop's catalogue page) through Django's test client. --alternatives also times the designs not chosen
(popularity summed from order lines, prices worked out for every match, typos by trigram over product names).
Drops the database unless --keep; --reuse times a kept one. Other work on the machine inflates the figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/search.py
"""
import argparse
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.database import (  # noqa: E402  (after the path is set)
    drop_database,
    recreate_database,
    server_url,
    setup_django,
    with_database,
    without_password,
)

DB_NAME = "bench_search"
TARGET_MS = 30.0
PAGE_SIZE = 24  # the shop's page (storefront.views.shop.PAGE_SIZE)
DESCRIBED = ("Essential", "Everyday", "Classic", "Heritage", "Weekend", "Signature", "Soft", "Premium")
MORE_BRANDS = ("Northwind", "Fellside", "Kestrel", "Bramble", "Larkhill", "Moorland", "Oakham", "Tideway", "Wren & Co.",
               "Harbour", "Millbank", "Greyfriars", "Lowther", "Calder", "Stourton", "Alder")
STATEMENTS = [  # (how its SQL starts, what it is)
    ("SELECT numnode", "words looked up"), ("SELECT %s, array", "misspellings"), ('SELECT COUNT(*)', "count"),
    ('SELECT "catalog_product"', "page"), ('SELECT "catalog_variant"', "variants and prices"),
]
QUERIES = {
    "single word": ["jumper", "dress", "jeans", "shirt", "mug", "towel", "coat", "cushion", "candle", "hoodie"],
    "plural": ["jumpers", "dresses", "shirts", "mugs", "towels", "coats", "cushions", "candles", "scarves",
               "trousers"],
    "colour + kind": ["navy jumper", "black jeans", "white shirt", "sage cushion", "camel coat", "pink dress",
                      "grey marl hoodie", "olive chinos"],
    "typo": ["jeens", "jumpr", "trousres", "cardigna", "navy jumpr", "blak dress", "cushon", "shrit"],
    "brand": ["nordvik", "saltmarsh", "ashby denim", "copperleaf", "fernhill linen", "pennine", "kestrel"],
    "prefix": ["cardi", "jum", "tea", "linen tr"],
    "code": [],  # filled from the data: an SKU, an SKU's product prefix, a barcode
}


def load(rng: random.Random, *, products: int, variants_each: int, orders: int) -> None:
    from django.utils import timezone

    from catalog.models import Channel, Price, Product, Variant
    from demo.assortment import CATEGORY_PLANS, COLOURS, HOME_COLOURS
    from demo.catalog import ean13, upsert_categories
    from inventory.models import Location
    from orders.models import Order, OrderLine

    web = Channel.objects.get(code=Channel.WEB)
    categories = upsert_categories()
    now = timezone.now()
    plans = rng.choices(CATEGORY_PLANS, weights=[p.count for p in CATEGORY_PLANS], k=products)
    extra_brands = {p.code: rng.sample(MORE_BRANDS, 3) for p in CATEGORY_PLANS}
    made, variants, prices = [], [], []
    for n, plan in enumerate(plans):
        name = f"{rng.choice(plan.styles)} {rng.choice(plan.kinds)}"
        if rng.random() < 0.3:
            name = f"{rng.choice(DESCRIBED)} {name}"
        made.append(Product(
            name=name, slug=f"b{n:06d}", brand=rng.choice(plan.brands + tuple(extra_brands[plan.code])),
            category=categories[plan.slug], tax_class=plan.tax_class,
            description=f"{plan.blurb} {' '.join(rng.sample(plan.details, 2))} {rng.choice(plan.care)}",
            created_at=now - timedelta(days=rng.uniform(0, 730)),
        ))
    Product.objects.bulk_create(made, batch_size=2000)  # the triggers build each batch's documents in one statement
    for n, (product, plan) in enumerate(zip(made, plans, strict=True)):
        colours = list(plan.colours or HOME_COLOURS)
        rng.shuffle(colours)
        sizes = [size for size, _ in plan.sizes] or [None]
        combos = [(c, s) for c in colours for s in sizes][:variants_each]
        for k, (colour, size) in enumerate(combos):
            options = {"colour": colour} | ({"size": size} if size else {})
            sku = f"B{n:06d}-{COLOURS[colour]}-{k}"
            variants.append(Variant(product=product, sku=sku, barcode=ean13(f"50{n * 10 + k:010d}"), options=options))
    Variant.objects.bulk_create(variants, batch_size=5000)
    for variant in variants:
        amount = Decimal(rng.randrange(500, 12000)) / 100
        if rng.random() < 0.1:  # a sale running now: the regular price ends where it starts and resumes after
            start, end = now - timedelta(days=1), now + timedelta(days=6)
            prices += [Price(variant=variant, channel=web, amount=amount, valid_until=start),
                       Price(variant=variant, channel=web, amount=(amount * Decimal("0.8")).quantize(Decimal("0.01")),
                             valid_from=start, valid_until=end),
                       Price(variant=variant, channel=web, amount=amount, valid_from=end)]
        else:
            prices.append(Price(variant=variant, channel=web, amount=amount))
    Price.objects.bulk_create(prices, batch_size=5000)

    store = Location.objects.create(code="BENCH", name="Bench store", latitude=51.5, longitude=-0.12)
    popular = rng.sample(variants, len(variants) // 20)  # a twentieth of the range sells most of the units
    history, lines = [], []
    for n in range(orders):
        history.append(Order(number=f"B{n:08d}", channel=web, fulfilment=Order.Fulfilment.TILL, currency="GBP",
                             subtotal_amount=Decimal("10.00"), total_amount=Decimal("10.00"),
                             status=Order.Status.CANCELLED if rng.random() < 0.03 else Order.Status.FULFILLED,
                             placed_at=now - timedelta(days=rng.uniform(0, 60))))
    Order.objects.bulk_create(history, batch_size=5000)
    for order in history:
        for variant in rng.sample(popular if rng.random() < 0.7 else variants, rng.choice((1, 1, 2, 3))):
            lines.append(OrderLine(order=order, variant=variant, location=store, sku=variant.sku, name="Bench item",
                                   unit_price_amount=Decimal("10.00"), currency="GBP", quantity=rng.choice((1, 1, 2))))
    OrderLine.objects.bulk_create(lines, batch_size=5000)


def timed(call, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(label: str, samples: list[float], *, target: bool = False) -> str:
    p95 = statistics.quantiles(samples, n=100)[94] if len(samples) > 1 else samples[0]
    verdict = (f"  target p95 < {TARGET_MS:.0f} ms: " + ("met" if p95 < TARGET_MS else "MISSED")) if target else ""
    return (f"{label:<26} n={len(samples):<5} p50 {statistics.median(samples):6.2f} ms  p95 {p95:6.2f} ms"
            f"  max {max(samples):6.2f} ms{verdict}")


def benchmark(rng: random.Random, *, rounds: int) -> None:
    from django.core.paginator import Paginator
    from django.db import connection

    from catalog.filters import ProductFilter
    from catalog.models import Category, Channel, Variant
    from catalog.search import Sort
    from catalog.selectors import product_list

    web = Channel.objects.get(code=Channel.WEB)
    categories = list(Category.objects.filter(parent__isnull=False).values_list("slug", flat=True))
    some = list(Variant.objects.order_by("?")[:3])
    QUERIES["code"] = [some[0].sku, some[1].sku.split("-")[0], some[2].barcode]

    def page(q: str, sort: str, sold_only: bool, category: str = ""):
        filters = ProductFilter(data={"search": q, "sort": sort, "category": category},
                                queryset=product_list(channel=web, sold_only=sold_only), channel=web)
        found = Paginator(filters.qs, PAGE_SIZE).get_page(1)
        return found.paginator.count, [(p.slug, [v.price_amount for v in p.listed_variants]) for p in found]

    spent: dict[str, float] = defaultdict(float)  # SQL time by statement, of the call being timed

    def clock(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[next((label for start, label in STATEMENTS if sql.startswith(start)), "other SQL")] += (
                time.perf_counter() - started) * 1000

    sorts = [value for value, _ in Sort.CHOICES]
    calls = [(kind, q, sort) for kind, queries in QUERIES.items() for q in queries for sort in sorts]
    for listing, sold_only in (("the API's list (product_list)", False),
                               ("the shop's list (product_list(sold_only=True))", True)):
        for kind, q, sort in calls:  # warm-up: connection, plans, caches
            page(q, sort, sold_only)
        by_kind, by_sort, everything, parts = defaultdict(list), defaultdict(list), [], defaultdict(list)
        by_call = defaultdict(list)
        for _ in range(rounds):
            rng.shuffle(calls)
            for kind, q, sort in calls:
                spent.clear()
                with connection.execute_wrapper(clock):
                    took = timed(lambda: page(q, sort, sold_only), 1)  # noqa: B023 (called at once)
                by_kind[kind] += took
                by_sort[sort] += took
                by_call[q, sort] += took
                everything += took
                for _, label in [*STATEMENTS, (None, "other SQL")]:
                    parts[label].append(spent[label])
                parts["Python (the rest)"].append(took[0] - sum(spent.values()))
        print(f"\n{listing}: count + first page of {PAGE_SIZE} with variants and prices, {rounds} rounds of "
              f"{len(calls)} searches ({sum(map(len, QUERIES.values()))} queries × {len(sorts)} sorts)")
        for kind in QUERIES:
            print("  " + summary(kind, by_kind[kind]))
        for sort in sorts:
            print("  " + summary(f"sort={sort}", by_sort[sort]))
        print("  " + summary("overall", everything, target=not sold_only))
        print("  where the time goes (median of each part, ms): " + ", ".join(
            f"{label} {statistics.median(times):.1f}" for label, times in parts.items() if any(times)))
        slowest = sorted(by_call.items(), key=lambda item: -statistics.median(item[1]))[:5]
        print("  slowest searches (median ms): " + ", ".join(
            f"{q!r} {sort} {statistics.median(times):.1f}" for (q, sort), times in slowest))
        reference = [t for _ in range(rounds) for slug in categories
                     for t in timed(lambda: page("", Sort.NAME, sold_only, slug), 1)]  # noqa: B023
        print("  " + summary("reference: no search", reference) + "  (a leaf category's first page by name:"
              " the page itself, without a search)")
    counts = {q: page(q, Sort.RELEVANCE, False) for q in ("jumpers", "navy jumper", "jeens", "shrit", "nordvik")}
    print("\nWhat some searches find (count, first three):")
    for q, (count, rows) in counts.items():
        print(f"  {q!r:<14} {count:>5}  {', '.join(slug for slug, _ in rows[:3])}")


def over_http(*, rounds: int) -> None:
    """Whole requests through Django's test client (no server or network): the API's list as JSON, and the shop's
    catalogue page as HTML (with its counts, availability, picture reads and the brand filter)."""
    import warnings

    from django.conf import settings
    from django.test import Client

    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here: static files unused
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    client = Client()
    queries = [q for kind, found in QUERIES.items() if kind != "code" for q in found]

    def get(path: str, params: dict) -> None:
        response = client.get(path, params)
        assert response.status_code == 200, (path, params, response.status_code)

    print(f"\nWhole requests (Django's test client), {rounds} rounds of {len(queries)} searches in the default order:")
    for label, path, param in (("API /api/v1/products/", "/api/v1/products/", "search"), ("shop /shop/", "/shop/", "q")):
        for q in queries:  # warm-up
            get(path, {param: q})
        samples = [t for _ in range(rounds) for q in queries
                   for t in timed(lambda: get(path, {param: q}), 1)]  # noqa: B023 (called at once)
        print("  " + summary(label, samples))


def alternatives(rng: random.Random, *, rounds: int) -> None:
    """The designs not chosen, timed on the same data."""
    from django.db import connection, transaction
    from django.db.models import BooleanField, FloatField, IntegerField, OuterRef, Subquery, Sum
    from django.db.models.expressions import RawSQL
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from catalog.models import Channel, ProductPriceFrom
    from catalog.search import Sort, product_search, product_sort
    from catalog.selectors import product_list
    from orders.models import Order, OrderLine
    from orders.popularity import products_popularity_refresh

    web = Channel.objects.get(code=Channel.WEB)
    print("\nAlternatives (same data):")
    print("  " + summary("popularity refresh (job)", timed(products_popularity_refresh, 5)))

    since = timezone.now() - timedelta(days=30)
    sold = (OrderLine.objects.filter(variant__product=OuterRef("pk"), order__placed_at__gt=since)
            .exclude(order__status=Order.Status.CANCELLED).order_by().values("variant__product")
            .annotate(units=Sum("quantity")).values("units"))

    def popular_by_lines(q):
        found = product_search(product_list(channel=web), q=q).annotate(
            sold=Coalesce(Subquery(sold, output_field=IntegerField()), 0)).order_by("-sold", "name")
        return found.count(), list(found[:PAGE_SIZE])

    def popular_by_column(q):
        found = product_search(product_list(channel=web), q=q).order_by("-units_sold_30d", "name")
        return found.count(), list(found[:PAGE_SIZE])

    words = QUERIES["single word"] + QUERIES["colour + kind"]

    def over_words(call, queries=words) -> list[float]:
        return [t for _ in range(rounds) for q in queries for t in timed(lambda: call(q), 1)]  # noqa: B023

    for label, call in (("popular: column", popular_by_column), ("popular: sum of lines", popular_by_lines)):
        print("  " + summary(label, over_words(call)))

    def by_price(q):
        found = product_sort(product_search(product_list(channel=web), q=q, ranked=False), sort=Sort.PRICE_LOW,
                             channel=web)
        return found.count(), list(found[:PAGE_SIZE])

    print("  " + summary("price: kept lowest prices", over_words(by_price)))
    with transaction.atomic():  # without the kept prices, every match's is worked out; put back afterwards
        ProductPriceFrom.objects.all().delete()
        print("  " + summary("price: worked out", over_words(by_price)))
        transaction.set_rollback(True)

    def typo_by_name(q):  # the word's trigram similarity to each name, as the filter and the order
        found = (product_list(channel=web).filter(RawSQL("%s <%% catalog_product.name", [q], BooleanField()))
                 .annotate(rank=RawSQL("word_similarity(%s, catalog_product.name)", [q], FloatField()))
                 .order_by("-rank", "name"))
        return found.count(), list(found[:PAGE_SIZE])

    def typo_by_words(q):
        found = product_search(product_list(channel=web), q=q).order_by("-rank", "name")
        return found.count(), list(found[:PAGE_SIZE])

    typos = [q for q in QUERIES["typo"] if " " not in q]
    print("  " + summary("typo: words table + FTS", over_words(typo_by_words, typos)))
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX bench_name_trigram ON catalog_product USING gin (name gin_trgm_ops)")
        cursor.execute("ANALYZE catalog_product")
        cursor.execute("SET pg_trgm.word_similarity_threshold = 0.5")  # "jeens" is 0.5 like "Slim Jeans"
    try:
        print("  " + summary("typo: trigram on names", over_words(typo_by_name, typos)))
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX bench_name_trigram")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--variants", type=int, default=5, help="variants per product")
    parser.add_argument("--orders", type=int, default=60_000, help="orders over the last 60 days")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of every search with every sort")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--database", default=DB_NAME, help=f"the bench database's name (default {DB_NAME})")
    parser.add_argument("--alternatives", action="store_true", help="also time the designs not chosen")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="time the data a --keep run left")
    args = parser.parse_args()

    server = server_url()
    admin = with_database(server, "postgres")  # never the bench database itself, which is dropped
    rng = random.Random(args.seed)
    if not args.reuse:
        version = recreate_database(admin, args.database)
        print(f"PostgreSQL {version}, database {args.database}")
    try:
        setup_django(server, args.database)
        if not args.reuse:
            started = time.perf_counter()
            load(rng, products=args.products, variants_each=args.variants, orders=args.orders)
            print(f"loaded {args.products:,} products × {args.variants} variants and {args.orders:,} orders in "
                  f"{time.perf_counter() - started:.0f} s")
        from django.db import connection

        from catalog.services import prices_from_refresh
        from orders.popularity import products_popularity_refresh

        def vacuum():  # the steady state autovacuum keeps: statistics, and no dead row versions from the load
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

        vacuum()
        for label, job in (("popularity", products_popularity_refresh), ("lowest prices", prices_from_refresh)):
            started = time.perf_counter()
            written = job()
            print(f"{label} refreshed by its periodic job: {written:,} rows in "
                  f"{(time.perf_counter() - started) * 1000:.0f} ms")
        vacuum()
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work inflates the p95)")
        benchmark(rng, rounds=args.rounds)
        over_http(rounds=args.rounds)
        if args.alternatives:
            alternatives(rng, rounds=args.rounds)
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not args.keep:
            drop_database(admin, args.database)
    flags = "".join(f" --{name} {getattr(args, name)}" for name in ("database", "seed")
                    if getattr(args, name) != parser.get_default(name))
    print(f"\nreproduce: DATABASE_URL={without_password(server)} .venv/bin/python bench/search.py{flags}"
          + (" --alternatives" if args.alternatives else ""))


if __name__ == "__main__":
    main()
