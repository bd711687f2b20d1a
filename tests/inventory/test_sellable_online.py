"""What a product page offers for delivery (SellableOnline, kept by database triggers from every stock write):
it follows stock at the locations that ship, and only there; verify_ledger catches it when it is wrong; and on
PostgreSQL it stays right, without deadlocks, under concurrent multi-line orders across stores and a location
that stops and starts shipping meanwhile."""
import random
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Sum

from catalog.models import Channel
from inventory import services
from inventory.models import Location, StockLevel
from inventory.selectors import sellable_by_variant, sellable_online_drift
from inventory.services import StockLine
from tests.factories import LocationFactory, PriceFactory
from tests.inventory.test_concurrency import run_at_once


def delivery_units(client, variant) -> int:
    """Units the product API offers a shopper for delivery (no store chosen)."""
    response = client.get(f"/api/v1/products/{variant.product.slug}/")
    assert response.status_code == 200, response.content
    return next(v["available"] for v in response.json()["variants"] if v["sku"] == variant.sku)


@pytest.mark.django_db
def test_delivery_offers_what_shipping_locations_can_sell_online_and_follows_each_change(client, variant):
    web = Channel.objects.get(code=Channel.WEB)
    PriceFactory(variant=variant, channel=web)
    warehouse = LocationFactory(code="DC-1", kind=Location.Kind.WAREHOUSE, ships_orders=True)
    store = LocationFactory(code="SHOP-1", ships_orders=True)
    counter_only = LocationFactory(code="SHOP-2", ships_orders=False)
    services.stock_receive(location=warehouse, variant=variant, quantity=10)
    services.stock_receive(location=store, variant=variant, quantity=4)
    services.stock_receive(location=counter_only, variant=variant, quantity=50)
    assert delivery_units(client, variant) == 14  # the store that does not ship adds nothing

    services.stock_set_safety_stock(location=store, variant=variant, quantity=6)
    assert delivery_units(client, variant) == 10  # 4 − 6 offers none online, and takes none from the warehouse
    services.stock_reserve(lines=[StockLine(warehouse, variant, 3)], channel=web)
    services.stock_sell(lines=[StockLine(counter_only, variant, 5)])
    assert delivery_units(client, variant) == 7

    warehouse.ships_orders = False
    warehouse.save()
    assert delivery_units(client, variant) == 0
    store.is_active = False  # closed; its 4 were offered none anyway
    store.save()
    counter_only.ships_orders = True
    counter_only.save()
    assert delivery_units(client, variant) == 45
    warehouse.ships_orders = True
    warehouse.save()
    assert delivery_units(client, variant) == 52
    assert sellable_online_drift() == []


@pytest.mark.django_db
def test_verify_ledger_names_a_variant_whose_delivery_units_are_wrong(variant):
    store = LocationFactory(code="SHOP-1", ships_orders=True)
    services.stock_receive(location=store, variant=variant, quantity=5)
    call_command("verify_ledger", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE inventory_sellableonline SET units = units + 4 WHERE variant_id = %s AND stripe ="
                       " (SELECT MIN(stripe) FROM inventory_sellableonline WHERE variant_id = %s)", [variant.pk] * 2)

    with pytest.raises(CommandError, match=r"units sellable online wrong for 1 variant"):
        call_command("verify_ledger", verbosity=0)
    assert sellable_online_drift() == [(variant.sku, 9, 5)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_two_line_orders_across_stores_keep_delivery_units_right_without_deadlocks(variant, other_variant):
    """Each order takes one unit of both variants from two random stores, and then, like a checkout that
    reads what is left for delivery before it commits, brings its counter updates forward and holds them a
    moment. Every connection is put on one stripe of the counter (the worst case; normally they spread over
    eight), so orders contend for the same two rows. Stock rows are taken in (variant, location) order, so
    every order takes those rows in one order: in (location, variant) order, orders from (store 1, store 2) and
    (store 2, store 1) each hold one and wait for the other (deadlock detected). Meanwhile head office stops
    and starts one store shipping."""
    web = Channel.objects.get(code=Channel.WEB)
    stores = [LocationFactory(code=f"SHIP-{i}", ships_orders=True) for i in range(4)]
    for store in stores:
        services.stock_receive_many(lines=[StockLine(store, v, 500) for v in (variant, other_variant)])
    orders_each, done = 15, threading.Event()

    def shopper(i: int) -> int:
        rng = random.Random(i)
        for _ in range(orders_each):
            first, second = rng.sample(stores, 2)
            with transaction.atomic():
                services.stock_commit(lines=[StockLine(first, variant, 1), StockLine(second, other_variant, 1)],
                                      channel=web)
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS inventory_sellable_online IMMEDIATE")
                    cursor.execute("SELECT pg_sleep(0.005)")
        return orders_each

    def head_office(_: int) -> int:
        flips = 0
        while not done.is_set():
            location = Location.objects.get(code="SHIP-0")
            location.ships_orders = not location.ships_orders
            location.save()
            flips += 1
        return flips

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef('inventory_sellable_online_row'::regproc)")
        striped = cursor.fetchone()[0]
        assert "mod(pg_backend_pid(), 8)" in striped
        cursor.execute(striped.replace("mod(pg_backend_pid(), 8)", "0"))
    flipper = threading.Thread(target=lambda: run_at_once(1, head_office))
    flipper.start()
    try:
        results = run_at_once(12, shopper)
    finally:
        done.set()
        flipper.join(timeout=60)
        with connection.cursor() as cursor:
            cursor.execute(striped)

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, f"{len(errors)} shoppers failed, e.g. {errors[0]!r}"
    shipping = [store for store in Location.objects.filter(code__startswith="SHIP-") if store.ships_orders]
    sold = {v: sum(level.committed for level in StockLevel.objects.filter(variant=v, location__in=shipping))
            for v in (variant, other_variant)}
    assert sellable_by_variant(variant_ids=[variant.pk, other_variant.pk], channel=web) == {
        v.pk: 500 * len(shipping) - sold[v] for v in (variant, other_variant)
    }
    assert StockLevel.objects.filter(variant=variant).aggregate(Sum("committed"))["committed__sum"] == 12 * orders_each
    assert sellable_online_drift() == []


@pytest.mark.django_db(transaction=True)
def test_emptying_the_database_with_stock_rows_after_their_sums_leaves_nothing_behind(variant):
    """A test database is emptied table by table in no fixed order (Django flushes a set); stock rows deleted
    after the SellableOnline rows must not write them again, or the flush fails on their variants' keys."""
    from django.core.management.color import no_style

    shipping = LocationFactory(code="WH-ONE", ships_orders=True)
    services.stock_receive(location=shipping, variant=variant, quantity=4)
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    first = ["inventory_sellableonline", "inventory_stocklevel"]
    flush = connection.ops.sql_flush(no_style(), first + [t for t in tables if t not in first],
                                     allow_cascade=connection.vendor == "postgresql")
    connection.ops.execute_sql_flush(flush)  # refused at commit when a row was written again

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM inventory_sellableonline")
        assert cursor.fetchone()[0] == 0
