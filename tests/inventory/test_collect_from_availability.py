"""From when a variant can be collected at a store, as the API tells the app: today (or the store's next open
day) when the store has it, later when a location that ships orders must send it first, null when nowhere has
it; and the stores near a point that can get it, after those that hold it."""
from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Channel
from inventory import selectors
from inventory import services as stock
from inventory.selectors import collection_at_store
from tests.factories import LocationFactory, PriceFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

MONDAY_MORNING = timezone.make_aware(datetime(2026, 11, 30, 10, 0))  # Monday 30 November 2026, 10:00 in London
NEAR_OXFORD_STREET = "51.5154,-0.1410"
CLOSED_ON_SUNDAY = {day: "09:00-17:30" for day in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": "closed"}


@pytest.fixture
def at(monkeypatch):
    """Set the shop's clock: at(moment)."""
    def set_clock(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)
    set_clock(MONDAY_MORNING)
    return set_clock


@pytest.fixture
def tees(db, store, warehouse):
    """A tee in three sizes on the web: M at the London store (3) and the warehouse (5), L only at the warehouse
    (5), S nowhere. The warehouse sends a transfer out in two working days; the London store ships no orders."""
    store.ships_orders = False
    store.save()
    warehouse.transfer_lead_days = 2
    warehouse.save()
    product = ProductFactory(name="Organic Tee", slug="organic-tee")
    web = Channel.objects.get(code=Channel.WEB)
    sizes = {}
    for size in ("S", "M", "L"):
        sizes[size] = VariantFactory(product=product, sku=f"TEE-{size}", options={"size": size})
        PriceFactory(variant=sizes[size], channel=web, amount="20.00")
    stock.stock_receive(location=store, variant=sizes["M"], quantity=3)
    stock.stock_receive(location=warehouse, variant=sizes["M"], quantity=5)
    stock.stock_receive(location=warehouse, variant=sizes["L"], quantity=5)
    return sizes


def variants_at(client, store_code: str) -> dict[str, tuple[int, str | None]]:
    response = client.get("/api/v1/products/organic-tee/", {"store": store_code})
    assert response.status_code == 200, response.content
    return {v["sku"]: (v["available"], v["collect_from"]) for v in response.json()["variants"]}


def test_collect_from_is_today_in_stock_later_when_the_warehouse_sends_it_and_null_when_nowhere_has_it(
        client, at, tees):
    # The store has no hours set: open every day. L leaves the warehouse after two working days (Wednesday),
    # spends a day on the road (Daventry to London is well under 250 miles) and is in on Thursday.
    assert variants_at(client, "LDN-OXF") == {
        "TEE-S": (0, None), "TEE-M": (3, "2026-11-30"), "TEE-L": (0, "2026-12-03"),
    }
    listed = client.get("/api/v1/products/", {"store": "LDN-OXF"}).json()["results"][0]["variants"]
    assert {v["sku"]: v["collect_from"] for v in listed} == {"TEE-S": None, "TEE-M": "2026-11-30", "TEE-L": "2026-12-03"}
    without_store = client.get("/api/v1/products/organic-tee/").json()["variants"]
    assert {v["collect_from"] for v in without_store} == {None}


def test_the_warehouses_lead_days_move_the_date(client, at, tees, warehouse):
    warehouse.transfer_lead_days = 5
    warehouse.save()

    assert variants_at(client, "LDN-OXF")["TEE-L"] == (0, "2026-12-06")  # sent Saturday, in on Sunday


def test_a_store_with_no_hours_is_open_every_day_and_one_closed_on_sunday_hands_over_on_monday(
        client, at, tees, store, other_store):
    other_store.opening_hours = CLOSED_ON_SUNDAY
    other_store.save()
    stock.stock_receive(location=other_store, variant=tees["M"], quantity=2)
    at(timezone.make_aware(datetime(2026, 12, 6, 12, 0)))  # Sunday noon

    assert variants_at(client, "LDN-OXF")["TEE-M"] == (3, "2026-12-06")
    assert variants_at(client, "MAN-ARN")["TEE-M"] == (2, "2026-12-07")
    at(timezone.make_aware(datetime(2026, 12, 6, 22, 30)))  # too late for today even at a store open all day
    assert variants_at(client, "LDN-OXF")["TEE-M"] == (3, "2026-12-07")


def test_a_store_that_does_not_offer_pickup_has_no_collection_date(client, at, tees, store):
    store.offers_pickup = False
    store.save()

    assert variants_at(client, "LDN-OXF") == {"TEE-S": (0, None), "TEE-M": (3, None), "TEE-L": (0, None)}


def test_the_estimate_takes_the_nearest_location_that_ships_orders(client, at, tees, store):
    """A London warehouse that needs a week is nearer than Daventry: the estimate (like a shopper's guess at
    checkout's routing) takes it."""
    london = LocationFactory(code="WH-LDN", kind="warehouse", latitude=51.52, longitude=-0.10, ships_orders=True,
                             offers_pickup=False, transfer_lead_days=7)
    stock.stock_receive(location=london, variant=tees["L"], quantity=1)

    assert variants_at(client, "LDN-OXF")["TEE-L"] == (0, "2026-12-08")


def test_the_nearest_that_can_send_enough_is_found_beyond_the_locations_asked_first(
        at, tees, store, warehouse, monkeypatch):
    monkeypatch.setattr(selectors, "NEAREST_FIRST", 1)  # only the nearest shipping location is asked first
    london = LocationFactory(code="WH-LDN", kind="warehouse", latitude=51.52, longitude=-0.10, ships_orders=True,
                             offers_pickup=False, transfer_lead_days=7)
    edinburgh = LocationFactory(code="WH-EDI", kind="warehouse", latitude=55.95, longitude=-3.19, ships_orders=True,
                                offers_pickup=False)
    stock.stock_receive(location=london, variant=tees["L"], quantity=1)
    stock.stock_receive(location=edinburgh, variant=tees["L"], quantity=9)
    web = Channel.objects.get(code=Channel.WEB)

    def estimate(wanted):
        found = collection_at_store(variant_ids=[tees["L"].pk], store=store, channel=web, wanted=wanted)[tees["L"].pk]
        return found.source, found.collect_from

    assert estimate(1) == (london, date(2026, 12, 8))  # the nearest has one: a week's lead time
    assert estimate(2) == (warehouse, date(2026, 12, 3))  # it lacks the second: Daventry, nearer than Edinburgh
    assert estimate(6) == (edinburgh, date(2026, 12, 3))  # only Edinburgh has six: sent Tuesday, two days on the road


def test_near_lists_the_stores_holding_it_then_those_that_can_get_it_each_with_collect_from(
        client, at, tees, store, other_store):
    LocationFactory(code="LDN-KEN", name="Kensington", latitude=51.5010, longitude=-0.1920, offers_pickup=False)
    url = "/api/v1/variants/{}/availability/"

    def near(sku, **params):
        response = client.get(url.format(sku), {"near": NEAR_OXFORD_STREET, **params})
        assert response.status_code == 200, response.content
        return [(row["code"], row["available"], row["collect_from"]) for row in response.json()]

    # Manchester holds none but the warehouse can send it; Kensington holds none and offers no pickup.
    assert near("TEE-M") == [("LDN-OXF", 3, "2026-11-30"), ("MAN-ARN", 0, "2026-12-03")]
    assert near("TEE-L") == [("LDN-OXF", 0, "2026-12-03"), ("MAN-ARN", 0, "2026-12-03")]
    assert near("TEE-M", quantity=4) == [("LDN-OXF", 3, "2026-12-03"), ("MAN-ARN", 0, "2026-12-03")]
    assert near("TEE-M", limit=1) == [("LDN-OXF", 3, "2026-11-30")]
    assert near("TEE-S") == []


def test_collection_at_a_store_costs_the_same_queries_for_2_or_12_variants(at, store, warehouse):
    web = Channel.objects.get(code=Channel.WEB)
    variants = [VariantFactory() for _ in range(12)]
    for index, variant in enumerate(variants):
        stock.stock_receive(location=store if index % 2 else warehouse, variant=variant, quantity=2)
    collection_at_store(variant_ids=[variants[0].pk], store=store, channel=web)  # fills the shipping locations

    counts = []
    for few in (variants[:2], variants):
        with CaptureQueriesContext(connection) as queries:
            found = collection_at_store(variant_ids=[v.pk for v in few], store=store, channel=web)
        assert all(c.collect_from is not None for c in found.values())
        counts.append(len(queries))

    assert counts[0] == counts[1] == 2, counts


def test_near_costs_the_same_queries_for_2_or_6_stores(client, at, tees):
    for n in range(6):
        LocationFactory(code=f"LDN-{n}", latitude=51.52 + n / 100, longitude=-0.14, ships_orders=False)
    url = "/api/v1/variants/TEE-L/availability/"
    client.get(url, {"near": NEAR_OXFORD_STREET})  # fills the process's reference tables (channels, locations)

    counts = {}
    for limit in (2, 6):
        with CaptureQueriesContext(connection) as queries:
            rows = client.get(url, {"near": NEAR_OXFORD_STREET, "limit": limit}).json()
        assert len(rows) == limit and all(row["collect_from"] == "2026-12-03" for row in rows)
        counts[limit] = len(queries)

    assert counts[2] == counts[6], counts
