"""Benchmark: orders.routing.route_delivery choosing where a 5-line delivery order is sent from, among 1,000
shipping locations × 20,000 variants on PostgreSQL, with the default policy and with one set in the admin.

Creates (dropping it first) the database `bench_routing` on the server DATABASE_URL names, migrates, and loads
with SQL (not through inventory.services: no ledger rows; SellableOnline is backfilled as its migration does):

- 1,000 active locations that ship orders, around 30 towns of Great Britain weighted by size (8 of them
  warehouses near the motorways, ranked first), 12 in Ireland (country IE); a share of the stores with a daily
  ship capacity, a share sending only on some weekdays (some of them not today), plus 50 stores that do not
  ship and 10 closed locations (which routing must leave out);
- 20,000 variants, each stocked at 5-30% of the locations (warehouses 3.5× as many, to 95%); a tenth of the
  rows sold out, some all promised or damaged (nothing available), a quarter of the store rows keeping a unit
  back for the shop floor (safety stock);
- fulfilments, each with its order, a quarter of them pickups: a whole day's made between midnight and now
  (so the capacity rule counts, some locations at or past their capacity: a busy evening) and as many on each
  of the --history-days before, in the order they were made.

Then it routes random orders of 5 lines (variants weighted by how widely stocked, 1-3 units) to random addresses
in Great Britain (around the same towns, wider), first with the default policy (no RoutingPolicy row), then with
a policy set in the admin with every rule (RoutingPolicy + RoutingRule rows, another order, split limit 2),
each after --warmup untimed routings, and prints p50/p95/p99 of the wall time of the call (its SQL included),
its Python CPU, the statements it sent (and how long each took) and the cache reads it made. Steady state: the
locations and the policy come from this process's memory (core.reference), warm; --cold routings just after a
reference table changed (each reads every shipping location again) are timed apart, not in the figures. The cache is Redis as in production
(--cache; db 14, flushed at the start). A routing refused for want of stock within the split limit counts too.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/routing.py [--profile]
"""
import argparse
import os
import random
import re
import shlex
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock
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

DB_NAME = "bench_routing"
DEFAULT_CACHE = "redis://127.0.0.1:6379/14"
TARGET_P95_MS = 20.0
LINES = 5
# (latitude, longitude, weight ~ population): where the stores are, and where the addresses are.
TOWNS = [
    (51.507, -0.128, 9.0), (52.486, -1.890, 1.2), (53.480, -2.242, 1.4), (53.801, -1.549, 0.8),
    (55.864, -4.252, 1.0), (53.408, -2.991, 0.9), (54.978, -1.618, 0.8), (53.381, -1.470, 0.6),
    (51.455, -2.588, 0.7), (55.953, -3.188, 0.5), (51.481, -3.179, 0.5), (52.637, -1.135, 0.5),
    (52.954, -1.158, 0.7), (50.910, -1.404, 0.6), (50.822, -0.137, 0.5), (50.376, -4.143, 0.3),
    (52.630, 1.297, 0.3), (57.149, -2.094, 0.2), (57.478, -4.224, 0.1), (50.718, -3.534, 0.2),
    (52.205, 0.119, 0.3), (51.752, -1.258, 0.3), (53.960, -1.087, 0.2), (53.767, -0.327, 0.3),
    (51.621, -3.944, 0.3), (53.003, -2.180, 0.4), (54.893, -2.936, 0.1), (56.462, -2.971, 0.15),
    (50.263, -5.051, 0.05), (52.057, 1.148, 0.2),
]
WAREHOUSES = [(52.04, -0.76), (52.26, -1.16), (53.52, -1.13), (55.82, -4.02), (51.50, -2.70), (53.39, -2.59),
              (51.48, 0.33), (52.60, -1.20)]
IRELAND = [(53.350, -6.260), (51.897, -8.470), (53.270, -9.057)]
SHIP_DAY_PATTERNS = [["mon", "tue", "wed", "thu", "fri"], ["mon", "tue", "wed", "thu", "fri", "sat"],
                     ["tue", "wed", "thu", "fri", "sat"]]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def say(message: str = "") -> None:
    print(message, flush=True)


def near(rng: random.Random, place: tuple[float, float], spread: float) -> tuple[float, float]:
    latitude, longitude = place
    return latitude + rng.gauss(0, spread), longitude + rng.gauss(0, spread * 1.6)


def a_town(rng: random.Random) -> tuple[float, float]:
    latitude, longitude, _ = rng.choices(TOWNS, weights=[w for _, _, w in TOWNS])[0]
    return latitude, longitude


# Loading ------------------------------------------------------------------------------------------


def load_locations(rng: random.Random, *, shipping: int) -> None:
    """`shipping` active locations that ship orders (8 warehouses, 12 in Ireland, the rest stores in Great
    Britain), 50 stores that do not ship and 10 closed locations. Each location's stock breadth (how many
    variants it stocks, relative to the average) goes in the temporary table bench_breadth."""
    from django.db import connection
    from django.utils import timezone

    from inventory.models import Location

    today = WEEKDAYS[timezone.localdate().weekday()]
    places, breadth = [], []

    def add(code: str, latitude: float, longitude: float, *, wide: float, **fields) -> None:
        fields.setdefault("offers_pickup", fields.get("kind", Location.Kind.STORE) == Location.Kind.STORE)
        places.append(Location(code=code, name=code.replace("-", " ").title(), latitude=latitude, longitude=longitude,
                               city=f"Town {len(places) % 300}", postcode=f"AB{len(places) % 99} {len(places) % 9}CD",
                               address_line=f"{len(places)} High Street", **fields))
        breadth.append(wide)

    for n, place in enumerate(WAREHOUSES[:shipping], 1):
        add(f"WH-{n:02d}", *place, wide=3.5, kind=Location.Kind.WAREHOUSE, ships_orders=True, sells_in_store=False,
            routing_rank=10, daily_ship_capacity=rng.choice([None, 5000]))
    for n in range(1, min(12, shipping - len(places)) + 1):
        add(f"IE-{n:02d}", *near(rng, IRELAND[n % len(IRELAND)], 0.1), wide=0.8, country="IE", ships_orders=True)
    stores = shipping - len(places)
    for n in range(1, stores + 1):
        capacity = rng.randint(5, 60) if rng.random() < 0.3 else None
        ship_days: list[str] = []
        if rng.random() < 0.15:  # some send only on some weekdays; a random three of them are often not today
            ship_days = rng.choice(SHIP_DAY_PATTERNS + [sorted(rng.sample(WEEKDAYS, 3), key=WEEKDAYS.index)])
        add(f"ST-{n:04d}", *near(rng, a_town(rng), 0.12), wide=rng.uniform(0.5, 1.5), ships_orders=True,
            daily_ship_capacity=capacity, ship_days=ship_days,
            routing_rank=50 if rng.random() < 0.05 else 100)  # a few flagships
    for n in range(1, 51):
        add(f"PU-{n:02d}", *near(rng, a_town(rng), 0.12), wide=rng.uniform(0.5, 1.5), ships_orders=False)
    for n in range(1, 11):
        add(f"XX-{n:02d}", *near(rng, a_town(rng), 0.12), wide=1.0, ships_orders=True, is_active=False)
    made = Location.objects.bulk_create(places)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_breadth AS SELECT * FROM unnest(%s::bigint[], %s::float8[])"
                       " AS b(location_id, breadth)", [[p.pk for p in made], breadth])
    off = sum(1 for p in made if p.ship_days and today not in p.ship_days)
    say(f"  {len(made):,} locations: {shipping:,} shipping ({sum(p.daily_ship_capacity is not None for p in made)} "
        f"with a daily capacity, {sum(bool(p.ship_days) for p in made)} on some weekdays only, {off} of them not "
        f"today ({today})), 50 that do not ship, 10 closed")


def load_catalog(*, variants: int) -> None:
    from catalog.models import Category, Product, Variant

    per_product = 10
    category = Category.objects.create(name="Bench", slug="bench")
    products = Product.objects.bulk_create(
        Product(name=f"Product {i:05d}", slug=f"product-{i:05d}", category=category)
        for i in range(-(-variants // per_product)))
    sizes = ["XS", "S", "M", "L", "XL"]
    Variant.objects.bulk_create(
        (Variant(product=products[i // per_product], sku=f"P{i // per_product:05d}-{i % per_product}",
                 options={"size": sizes[i % 5], "colour": "Navy" if i % per_product < 5 else "Oat"})
         for i in range(variants)), batch_size=5000)
    say(f"  {variants:,} variants of {len(products):,} products")


# u(x, salt): a number in [0, 1) from a hash of x, the same for the same seed whatever the plan's row order.
UNIFORM = "(hashint8extended({x}, {seed} * 16 + {salt}) & 2147483647) / 2147483648.0"


def load_stock(*, seed: int, chunks: int = 20) -> None:
    """Stock rows in one INSERT … SELECT per chunk of variants, the triggers off (session_replication_role:
    no SellableOnline per row, no foreign key checks), then SellableOnline backfilled as its migration does."""
    from importlib import import_module

    from django.db import connection
    from tqdm import tqdm

    from inventory.models import StockLevel

    def u(x: str, salt: int) -> str:
        return UNIFORM.format(x=x, seed=seed, salt=salt)

    pair = "(v.id * 1000003 + b.location_id)"
    warehouse = "l.kind = 'warehouse'"
    healthy_units = f"CASE WHEN {warehouse} THEN 10 + floor({u(pair, 3)} * 300) ELSE 1 + floor({u(pair, 3)} * 12) END"
    # (on_hand, committed, reserved, unavailable) by the row's lot: sold out, all promised, damaged, or in stock
    # with some of it already promised to orders.
    lot = u(pair, 2)
    columns = {
        "on_hand": f"CASE WHEN {lot} < 0.10 THEN 0 WHEN {lot} < 0.18 THEN 2 ELSE {healthy_units} END",
        "committed": f"CASE WHEN {lot} < 0.10 THEN 0 WHEN {lot} < 0.15 THEN 1 WHEN {lot} < 0.18 THEN 0"
                     f" ELSE floor(({healthy_units}) * {u(pair, 4)} * 0.3) END",
        "reserved": f"CASE WHEN {lot} >= 0.10 AND {lot} < 0.15 THEN 1 ELSE 0 END",
        "unavailable": f"CASE WHEN {lot} >= 0.15 AND {lot} < 0.18 THEN 2 ELSE 0 END",
        "incoming": "0",
        "safety_stock": f"CASE WHEN NOT {warehouse} AND {u(pair, 5)} < 0.25 THEN 1 ELSE 0 END",
        "reorder_point": "0",
    }
    fields = [f.column for f in StockLevel._meta.concrete_fields if not f.primary_key]
    if sorted(fields) != sorted(["location_id", "variant_id", *columns]):
        raise SystemExit(f"inventory_stocklevel has columns this bench does not fill: {fields}")
    share = f"(0.05 + 0.25 * {u('v.id', 1)})"  # of the locations that stock the variant, on average
    insert = (f"INSERT INTO {StockLevel._meta.db_table} (location_id, variant_id, {', '.join(columns)})"
              f" SELECT b.location_id, v.id, {', '.join(columns.values())}"
              f"   FROM catalog_variant v CROSS JOIN bench_breadth b JOIN inventory_location l ON l.id = b.location_id"
              f"  WHERE v.id %% %s = %s AND {u(pair, 0)} < least(0.95, {share} * b.breadth)")
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        try:
            for chunk in tqdm(range(chunks), desc="  stock rows (INSERT … SELECT per 1/20 of the variants)",
                              unit="chunk", mininterval=5):
                cursor.execute(insert, [chunks, chunk])
        finally:
            cursor.execute("RESET session_replication_role")
        backfill = import_module("inventory.migrations.0008_sellable_online").BACKFILL
        cursor.execute(backfill.format(stripes="SELECT generate_series(0, 7) AS stripe"))


def insert_select(cursor, model, source: str, params: list, values: dict[str, str]) -> int:
    """INSERT INTO model's table one row per row of `source` (SQL naming its rows g): the columns in `values`
    from their SQL, every other column its field's default. Returns the rows inserted."""
    from django.db import connection

    columns, expressions, defaults = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        if field.column in values:
            expressions.append(values[field.column])
        else:
            expressions.append("%s")
            defaults.append(field.get_db_prep_save(field.get_default(), connection))
    cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(expressions)}"
                   f" FROM {source}", defaults + params)
    return cursor.rowcount


def load_fulfillments(rng: random.Random, *, history_days: int) -> None:
    """Fulfilments today (a store with a capacity has taken 20-115% of it, one without 0-15, a warehouse 50-400),
    as many on each of the `history_days` before, a quarter of them pickups; one order each."""
    from django.db import connection
    from django.utils import timezone

    from catalog.models import Channel
    from fulfillment.models import Fulfillment
    from inventory.models import Location
    from orders.models import Order

    now = timezone.now()
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), clock.min))
    rows: list[tuple[int, datetime, str, str]] = []  # location, created at, method, status
    for location in Location.objects.active().filter(ships_orders=True):
        capacity = location.daily_ship_capacity
        for day in range(history_days + 1):
            if location.kind == Location.Kind.WAREHOUSE:
                taken = rng.randint(50, 400)
            elif capacity is not None:
                taken = int(capacity * rng.uniform(0.2, 1.15))
            else:
                taken = rng.randint(0, 15)
            start, span = ((midnight, now - midnight) if day == 0
                           else (midnight - timedelta(days=day), timedelta(days=1)))
            for _ in range(taken):
                method = Fulfillment.Method.SHIP if rng.random() < 0.75 else Fulfillment.Method.PICKUP
                status = ("new" if day == 0 else "delivered") if method == Fulfillment.Method.SHIP else (
                    "ready_for_pickup" if day == 0 else "collected")
                rows.append((location.pk, start + span * rng.random(), method, status))
    rows.sort(key=lambda row: row[1])  # made as time went by: today's rows lie together at the table's end
    web = Channel.objects.get(code=Channel.WEB)
    source = ("unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[]) WITH ORDINALITY"
              " AS g(location_id, created_at, method, status, n)")
    params = [list(column) for column in zip(*rows)]
    with connection.cursor() as cursor:
        orders = insert_select(cursor, Order, source, params, {
            "number": "'BR' || lpad(g.n::text, 9, '0')", "channel_id": str(web.pk),
            "status": "CASE WHEN g.status IN ('delivered', 'collected') THEN 'fulfilled' ELSE 'placed' END",
            "fulfilment": "CASE WHEN g.method = 'ship' THEN 'delivery' ELSE 'pickup' END",
            "pickup_store_id": "CASE WHEN g.method = 'pickup' THEN g.location_id END",
            "email": "'shopper' || g.n || '@bench.example'", "currency": "'GBP'", "subtotal_amount": "42.00",
            "total_amount": "42.00", "placed_at": "g.created_at", "ship_to_country": "'GB'",
        })
        fulfilments = insert_select(
            cursor, Fulfillment, source + " JOIN orders_order o ON o.number = 'BR' || lpad(g.n::text, 9, '0')",
            params, {"order_id": "o.id", "location_id": "g.location_id", "method": "g.method",
                     "status": "g.status", "created_at": "g.created_at"})
    today = sum(1 for _, created, method, _ in rows if created >= midnight and method == Fulfillment.Method.SHIP)
    say(f"  {orders:,} orders and {fulfilments:,} fulfilments over {history_days + 1} days, {today:,} of them "
        f"ship fulfilments made today")


def load(rng: random.Random, *, locations: int, variants: int, history_days: int, seed: int) -> None:
    from django.db import connection

    started = time.perf_counter()
    load_locations(rng, shipping=locations)
    load_catalog(variants=variants)
    load_stock(seed=seed)
    load_fulfillments(rng, history_days=history_days)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_breadth")
        cursor.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps
    say(f"  loaded in {time.perf_counter() - started:.0f} s")


# Routing ------------------------------------------------------------------------------------------


@dataclass
class Sample:
    ms: float
    cpu_ms: float
    statements: int
    cache_reads: int
    locations: int  # that send it; 0: refused
    rule: str
    sql: list[tuple[str, float, int]]  # (table read, ms from sending to having the rows, rows)


class Meter:
    """Times the statements sent through Django's connection and counts the reads of the shared cache."""

    def __init__(self):
        from django.core.cache import caches

        self.statements: list[tuple[str, float, int]] = []
        self.cache_reads = 0
        self.logged: list[str] | None = None
        backend = caches["default"]
        read = backend.get

        def counted_read(*args, **kwargs):
            self.cache_reads += 1
            return read(*args, **kwargs)

        backend.get = counted_read

    def __call__(self, execute, sql, params, many, context):
        if self.logged is not None:
            self.logged.append(cursor_sql(context, sql, params))
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            table = re.search(r'\bFROM "?(\w+)', sql)
            self.statements.append((table[1] if table else sql.split()[0], (time.perf_counter() - started) * 1000,
                                    context["cursor"].rowcount))

    def take(self) -> tuple[list[tuple[str, float, int]], int]:
        taken = self.statements, self.cache_reads
        self.statements, self.cache_reads = [], 0
        return taken


def cursor_sql(context, sql, params) -> str:
    cursor = context["cursor"]
    return cursor.mogrify(sql, params) if params is not None else sql


@dataclass(frozen=True)
class Order:
    lines: list  # [(Variant, quantity)]
    latitude: float
    longitude: float


def random_orders(rng: random.Random, variants: list, weights: list[int], count: int) -> list[Order]:
    orders = []
    for _ in range(count):
        picked: dict = {}
        while len(picked) < LINES:
            variant = rng.choices(variants, weights=weights)[0]
            picked[variant.pk] = (variant, rng.choices((1, 2, 3), weights=(80, 15, 5))[0])
        orders.append(Order(list(picked.values()), *near(rng, a_town(rng), 0.25)))
    return orders


def route(order: Order, web, meter: Meter) -> Sample:
    from django.db import connection

    from inventory.exceptions import InsufficientStock
    from orders.routing import route_delivery

    meter.take()
    with connection.execute_wrapper(meter):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            routing = route_delivery(lines=order.lines, channel=web, latitude=order.latitude,
                                     longitude=order.longitude, country="GB")
        except InsufficientStock:
            routing = None
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    sql, cache_reads = meter.take()
    return Sample(wall * 1000, cpu * 1000, len(sql), cache_reads, len(routing.locations) if routing else 0,
                  routing.rule if routing else "refused", sql)


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def report(label: str, samples: list[Sample], cold: list[Sample]) -> list[str]:
    ms = [s.ms for s in samples]
    p50, p95, p99 = (percentile(ms, p) for p in (50, 95, 99))
    statements = Counter(s.statements for s in samples)
    sent = Counter(s.locations for s in samples)
    rules = Counter(s.rule for s in samples)
    sql_ms = [sum(took for _, took, _ in sample.sql) for sample in samples]
    tables: dict[str, list[float]] = {}
    rows: dict[str, list[int]] = {}
    for sample in samples:
        for table, took, count in sample.sql:
            tables.setdefault(table, []).append(took)
            rows.setdefault(table, []).append(count)
    routings = Counter(table for sample in samples for table in {table for table, _, _ in sample.sql})
    verdict = "met" if p95 < TARGET_P95_MS else "MISSED"
    return [
        f"{label}: {len(samples)} routings",
        f"  wall per routing   p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   p99 {p99:6.2f} ms   max {max(ms):6.2f} ms"
        f"   target p95 < {TARGET_P95_MS:.0f} ms: {verdict}",
        f"  Python CPU         p50 {percentile([s.cpu_ms for s in samples], 50):6.2f} ms   "
        f"p95 {percentile([s.cpu_ms for s in samples], 95):6.2f} ms   (the rest of the wall time: waiting on "
        f"PostgreSQL and Redis)",
        "  SQL statements     " + ", ".join(f"{n} in {c}" for n, c in sorted(statements.items()))
        + f" routings; cache reads {statistics.median([s.cache_reads for s in samples]):g} per routing (median)",
        f"  SQL wall           p50 {percentile(sql_ms, 50):6.2f} ms   p95 {percentile(sql_ms, 95):6.2f} ms   (from "
        f"sending each statement to having its rows, summed per routing); per statement, by table read:",
        *(f"    {table:<24} p50 {percentile(times, 50):6.2f} ms   p95 {percentile(times, 95):6.2f} ms   "
          f"{len(times)} statements in {routings[table]} routings, {statistics.median(rows[table]):g} rows (median)"
          for table, times in tables.items()),
        "  sent from          " + ", ".join(f"{n} location{'s' * (n != 1)}: {c}" for n, c in sorted(sent.items())
                                            if n) + f"; refused (not enough within the split limit): {sent[0]}",
        "  decided by         " + ", ".join(f"{rule} {c}" for rule, c in rules.most_common()),
        f"  cold (just after a reference table changed: every shipping location read again; not in the figures "
        f"above): median {statistics.median([s.ms for s in cold]):.1f} ms over {len(cold)}, "
        f"{statistics.median([s.statements for s in cold]):g} statements",
    ]


def set_policy(rules: list[str] | None, split_limit: int = 2) -> None:
    from core.reference import reference_changed
    from orders.models import RoutingPolicy, RoutingRule

    RoutingPolicy.objects.all().delete()
    if rules is not None:
        policy = RoutingPolicy.objects.create(split_limit=split_limit)
        RoutingRule.objects.bulk_create(RoutingRule(policy=policy, rule=rule, position=n)
                                        for n, rule in enumerate(rules))
        reference_changed()  # bulk_create sends no post_save


def benchmark(args, rng: random.Random) -> list[str]:
    from django.db.models import Count

    from catalog.models import Channel, Variant
    from core.reference import reference_changed
    from inventory.models import StockLevel
    from orders.models import RoutingRule
    from orders.routing import DEFAULT_RULES, DEFAULT_SPLIT_LIMIT, routing_policy

    web = Channel.objects.get(code=Channel.WEB)
    variants = {v.pk: v for v in Variant.objects.only("id", "sku")}
    stocked = dict(StockLevel.objects.values_list("variant").order_by().annotate(n=Count("id")))
    pool = [variants[pk] for pk in stocked]
    weights = [stocked[v.pk] for v in pool]
    warmup = random_orders(rng, pool, weights, args.warmup)
    measured = random_orders(rng, pool, weights, args.calls)
    meter = Meter()
    Rule = RoutingRule.Rule
    admin_rules = [Rule.DESTINATION_COUNTRY, Rule.SKIP_AT_CAPACITY, Rule.FEWEST_PARCELS, Rule.LOCATION_RANK,
                   Rule.NEAREST]
    scenarios = [
        (f"default policy (no RoutingPolicy row: {', '.join(DEFAULT_RULES)}; split limit {DEFAULT_SPLIT_LIMIT})",
         None),
        (f"policy set in the admin (RoutingPolicy + RoutingRule rows: {', '.join(admin_rules)}; split limit 2)",
         admin_rules),
    ]
    lines, profiles = [], []
    say(f"\n{args.calls} measured routings per policy after {args.warmup} warm-up ones; the same orders for both.")
    for label, rules in scenarios:
        set_policy(rules)
        say(f"{label} …")
        if list(routing_policy().rules) != list(rules or DEFAULT_RULES):
            raise SystemExit(f"routing_policy() did not answer the policy just set: {routing_policy()}")
        cold = []
        for order in measured[:args.cold]:
            reference_changed()
            cold.append(route(order, web, meter))
        for order in warmup:
            route(order, web, meter)
        samples = [route(order, web, meter) for order in measured]
        lines += [""] + report(label, samples, cold)
        if args.explain:
            lines += explain(measured[0], web, meter)
        if args.profile:
            profiles.append((label, profile(measured, web, meter)))
    if profiles:
        from bench.checkout_profile import own_time_table
    for label, profiler in profiles:
        lines += ["", f"top {args.top} functions by own CPU time over {args.calls} profiled routings, {label} "
                      f"(pyinstrument sampling time.process_time every 0.5 ms; % of the profiled CPU, ms per "
                      f"routing; profiling slows them down):"]
        lines += own_time_table(profiler, args.top, args.calls)
    return lines


def explain(order: Order, web, meter: Meter) -> list[str]:
    from django.db import connection

    meter.logged = []
    route(order, web, meter)
    logged, meter.logged = meter.logged, None
    lines = ["", "  the statements of one routing, with EXPLAIN ANALYZE:"]
    with connection.cursor() as cursor:
        for sql in logged:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            lines += ["", "    " + " ".join(sql.split())[:400]] + [f"      {row}" for (row,) in cursor.fetchall()]
    return lines


def profile(orders: list[Order], web, meter: Meter):
    from pyinstrument import Profiler
    from pyinstrument.stack_sampler import get_stack_sampler

    say("  profiling …")
    get_stack_sampler().timer_func = time.process_time  # sample CPU time, not wall time
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    try:
        for order in orders:
            profiler.start()
            route(order, web, meter)
            profiler.stop()
    finally:
        get_stack_sampler().timer_func = None
    return profiler


# Main ---------------------------------------------------------------------------------------------


def reproduce_command(args: argparse.Namespace, server: str) -> str:
    defaults = {"locations": 1000, "variants": 20_000, "history_days": 7, "calls": 1000, "warmup": 100, "cold": 10,
                "seed": 2024, "cache": DEFAULT_CACHE, "top": 25}
    flags = [f"--{name.replace('_', '-')} {shlex.quote(str(getattr(args, name)))}"
             for name, default in defaults.items() if getattr(args, name) != default]
    flags += [f"--{name}" for name in ("profile", "explain", "keep", "reuse") if getattr(args, name)]
    return (f"DATABASE_URL={shlex.quote(without_password(server))} .venv/bin/python bench/routing.py "
            + " ".join(flags)).rstrip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--locations", type=int, default=1000, help="active locations that ship orders (1000)")
    parser.add_argument("--variants", type=int, default=20_000)
    parser.add_argument("--history-days", type=int, default=7, help="days of fulfilments before today (7)")
    parser.add_argument("--calls", type=int, default=1000, help="measured routings per policy (1000)")
    parser.add_argument("--warmup", type=int, default=100, help="routings per policy first, not measured (100)")
    parser.add_argument("--cold", type=int, default=10, help="routings timed just after a reference change (10)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--cache", default=DEFAULT_CACHE,
                        help=f"CACHE_URL the reference tables' token lives in, as in production ({DEFAULT_CACHE}, "
                             "flushed at the start); 'none': this process's memory")
    parser.add_argument("--profile", action="store_true",
                        help="profile --calls more routings per policy with pyinstrument (CPU time)")
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time with --profile (25)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the statements of one routing")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DB_NAME} database afterwards")
    parser.add_argument("--reuse", action="store_true", help=f"time the data a --keep run left in {DB_NAME}")
    args = parser.parse_args()
    if args.profile:
        try:
            import pyinstrument  # noqa: F401
        except ImportError:
            raise SystemExit("--profile needs pyinstrument: .venv/bin/pip install pyinstrument") from None

    server = server_url()
    command = reproduce_command(args, server)
    say(f"reproduce: {command}")
    rng = random.Random(args.seed)
    if not args.reuse:
        say(f"creating database {DB_NAME} …")
        recreate_database(server, DB_NAME)
    lines = []
    try:
        cache = {} if args.cache == "none" else {"CACHE_URL": args.cache}
        setup_django(server, DB_NAME, migrate=False, LOG_LEVEL="WARNING", **cache)
        from django.core.cache import cache as shared
        from django.core.management import call_command

        shared.clear()
        if not args.reuse:
            say("migrating …")
            call_command("migrate", verbosity=0)
            say("loading …")
            load(rng, locations=args.locations, variants=args.variants, history_days=args.history_days,
                 seed=args.seed)
        from bench.checkout_profile import machine_lines
        from catalog.models import Variant
        from inventory.models import Location, StockLevel

        shipping = Location.objects.active().filter(ships_orders=True).count()
        data = (f"{shipping:,} active shipping locations, {Variant.objects.count():,} variants, "
                f"{StockLevel.objects.count():,} stock rows")
        load_before = os.getloadavg()[0]
        lines = benchmark(args, random.Random(args.seed + 1))  # the same orders after a load or --reuse
        lines = [
            "", "=" * 110, f"reproduce: {command}", "",
            f"route_delivery, orders of {LINES} lines to random addresses in Great Britain: {data}",
            "steady state: the shipping locations and the policy come from this process's memory (core.reference, "
            "warm), checked current by a read of the shared cache (" + (
                "in-process" if args.cache == "none" else f"Redis, {args.cache}") + "); timed: the call, its SQL "
            "included; one process, one connection",
            f"1-minute load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after "
            f"({os.cpu_count()} cores; other work on the machine inflates the p95)",
            *lines, "", *machine_lines(_server_version(server))[:3], *database_lines(), "",
            f"reproduce: {command}", "=" * 110,
        ]
    finally:
        if "django.db" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep:
            say(f"kept database {DB_NAME}")
        else:
            drop_database(server, DB_NAME)
    say("\n".join(lines))


def database_lines() -> list[str]:
    """How much of what routing reads PostgreSQL can keep in its own memory."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('shared_buffers'), pg_size_pretty(pg_table_size('inventory_stocklevel')),"
                       " pg_size_pretty(pg_indexes_size('inventory_stocklevel')),"
                       " pg_size_pretty(pg_total_relation_size('fulfillment_fulfillment'))")
        buffers, stock, stock_indexes, fulfilments = cursor.fetchone()
    return [f"database:   shared_buffers {buffers}; inventory_stocklevel {stock} + {stock_indexes} of indexes, "
            f"fulfillment_fulfillment {fulfilments} (what does not fit is read from the OS's cache)"]


def _server_version(server: str) -> str:
    import psycopg

    with psycopg.connect(server) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


if __name__ == "__main__":
    main()
