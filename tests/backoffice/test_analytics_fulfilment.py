"""The analytics page's fulfilment tables on known data, every figure worked out by hand below: short picks and
re-routes per store over March, ship-from-store capacity over the last seven days, their CSVs, a store manager
seeing only their store, and queries that do not grow with the fulfilments."""
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.roles import MERCHANDISER, STORE_MANAGER
from fulfillment.models import Fulfillment, FulfillmentLine, LineProblem
from inventory.models import WEEKDAYS
from orders.models import Order
from tests.backoffice.test_analytics import ANALYTICS, MARCH, at, browser, table
from tests.backoffice.test_analytics_sources import headings
from tests.factories import FulfillmentFactory, LocationFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

SHIP, PICKUP = Fulfillment.Method.SHIP, Fulfillment.Method.PICKUP
S = Fulfillment.Status
R, O = LineProblem.Reason, LineProblem.Outcome


def fulfilment(location, method, status, created_at, *, kept: int, short=()) -> Fulfillment:
    """One order line asked of `location`: `kept` units still on its fulfilment line (none left: no line, as
    when every unit went elsewhere) and each (reason, units, outcome, sent_from) it could not send."""
    pickup = method == PICKUP
    line = OrderLineFactory(
        order__placed_at=created_at, order__fulfilment=Order.Fulfilment.PICKUP if pickup else Order.Fulfilment.DELIVERY,
        order__pickup_store=location if pickup else None, location=location,
        quantity=kept + sum(units for _, units, _, _ in short))
    sent = FulfillmentFactory(order=line.order, location=location, method=method, status=status,
                              created_at=created_at)
    if kept:
        FulfillmentLine.objects.create(fulfillment=sent, order_line=line, quantity=kept)
    for reason, units, outcome, sent_from in short:
        LineProblem.objects.create(fulfillment=sent, order_line=line, reason=reason, quantity=units, outcome=outcome,
                                   sent_from=sent_from, created_at=created_at + timedelta(hours=1))
    return sent


@pytest.fixture
def short_march(store, other_store, warehouse):
    """March 2026: fulfilments asked of London (LDN-OXF), Manchester (MAN-ARN) and the warehouse (WH-DAV).

    London       status      on its line  could not send
      F1  ship    shipped     2            1 not found, sent from the warehouse
      F2  pickup  collected   2            —
      F3  pickup  cancelled   0            2 damaged, dropped and refunded
      F4  pickup  picking     1            1 not found, awaiting the shopper's choice
      F5  pickup  expired     1            —
      F6  ship    delivered   4            1 worn display, cancelled (nowhere had it)
      F7  pickup  collected   1            1 not found, to be delivered instead
      asked 11 + 6 = 17, short 6 → 35.3 %; finished (F1–F3, F6, F7; F4 open, F5 not collected) asked 9 + 5 = 14,
      sent 2 + 2 + 4 + 1 = 9 → fill 64.3 %; re-routed 2 (F1, F7), dropped or cancelled 3, awaiting 1;
      reasons by units: not found 3, damaged 2, worn display 1.
    Manchester
      F8  ship    shipped     3            1 damaged, sent from London
      F9  pickup  collected   1            2 wrong size (one report), to collect at London
      asked 4 + 3 = 7, short 3 → 42.9 %; sent 4 of 7 → 57.1 %; re-routed 3; wrong size: 2 units in one report
      beats damaged's 1.
    Warehouse
      F10 ship    shipped     5            — → 0.0 % short, 100.0 % filled, no reason.
    Outside March: London, 28 Feb, 3 not found reported on 1 Mar; London, 1 Apr 00:00, 1 damaged.
    """
    fulfilment(store, SHIP, S.SHIPPED, at(2, 10), kept=2, short=[(R.NOT_FOUND, 1, O.REROUTED, warehouse)])
    fulfilment(store, PICKUP, S.COLLECTED, at(3, 10), kept=2)
    fulfilment(store, PICKUP, S.CANCELLED, at(4, 10), kept=0, short=[(R.DAMAGED, 2, O.DROPPED, None)])
    fulfilment(store, PICKUP, S.PICKING, at(31, 22), kept=1, short=[(R.NOT_FOUND, 1, O.AWAITING_CHOICE, None)])
    fulfilment(store, PICKUP, S.EXPIRED, at(6, 10), kept=1)
    fulfilment(store, SHIP, S.DELIVERED, at(7, 10), kept=4, short=[(R.WORN_DISPLAY, 1, O.CANCELLED, None)])
    fulfilment(store, PICKUP, S.COLLECTED, at(8, 10), kept=1, short=[(R.NOT_FOUND, 1, O.DELIVER, warehouse)])
    fulfilment(other_store, SHIP, S.SHIPPED, at(9, 10), kept=3, short=[(R.DAMAGED, 1, O.REROUTED, store)])
    fulfilment(other_store, PICKUP, S.COLLECTED, at(10, 10), kept=1,
               short=[(R.WRONG_ITEM, 2, O.COLLECT_ELSEWHERE, store)])
    fulfilment(warehouse, SHIP, S.SHIPPED, at(11, 10), kept=5)
    fulfilment(store, SHIP, S.SHIPPED, at(28, 18, month=2), kept=0, short=[(R.NOT_FOUND, 3, O.REROUTED, warehouse)])
    fulfilment(store, SHIP, S.NEW, at(1, 0, month=4), kept=0, short=[(R.DAMAGED, 1, O.REROUTED, warehouse)])


LONDON_SHORT = ["LDN-OXF", "London Oxford Street", "17", "6", "35.3", "64.3", "2", "3", "1", "Not found"]
MANCHESTER_SHORT = ["MAN-ARN", "Manchester Arndale", "7", "3", "42.9", "57.1", "3", "0", "0", "Wrong item or size"]
WAREHOUSE_SHORT = ["WH-DAV", "Daventry DC", "5", "0", "0.0", "100.0", "0", "0", "0", "–"]


def test_head_office_sees_short_picks_and_where_the_units_went_per_store(short_march):
    html = browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode()

    assert headings(html, "short_picks_by_store") == [
        "Store", "Name", "Units asked", "Units short", "Short-pick %", "Fill rate %", "Re-routed",
        "Dropped or cancelled", "Awaiting shopper&#x27;s choice", "Most common reason"]
    assert table(html, "short_picks_by_store") == [LONDON_SHORT, MANCHESTER_SHORT, WAREHOUSE_SHORT]
    assert 'aria-label="Short picks and re-routes by store: Short-pick %"' in html


def test_a_store_manager_sees_only_their_stores_short_picks(short_march, other_store):
    manager = browser(STORE_MANAGER, other_store)

    html = manager.get(ANALYTICS, MARCH).content.decode()
    csv = manager.get(ANALYTICS, {**MARCH, "format": "csv", "table": "short_picks_by_store"}).content.decode()

    assert table(html, "short_picks_by_store") == [MANCHESTER_SHORT]
    assert csv.splitlines()[1:] == ["MAN-ARN,Manchester Arndale,7,3,42.9,57.1,3,0,0,Wrong item or size"]


def test_short_picks_download_as_csv_with_reasons_in_words(short_march):
    response = browser(MERCHANDISER).get(ANALYTICS, {**MARCH, "format": "csv", "table": "short_picks_by_store"})

    assert response["Content-Disposition"] == (
        'attachment; filename="short-picks-by-store-2026-03-01-to-2026-03-31.csv"')
    assert response.content.decode().splitlines() == [
        "Store,Name,Units asked,Units short,Short-pick %,Fill rate %,Re-routed,Dropped or cancelled,"
        "Awaiting shopper's choice,Most common reason",
        "LDN-OXF,London Oxford Street,17,6,35.3,64.3,2,3,1,Not found",
        "MAN-ARN,Manchester Arndale,7,3,42.9,57.1,3,0,0,Wrong item or size",
        "WH-DAV,Daventry DC,5,0,0.0,100.0,0,0,0,"]


def test_a_store_whose_only_fulfilment_is_still_open_has_no_fill_rate_yet(store):
    fulfilment(store, SHIP, S.PICKING, at(5, 10), kept=1, short=[(R.DAMAGED, 1, O.REROUTED, None)])

    html = browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode()

    assert table(html, "short_picks_by_store") == [
        ["LDN-OXF", "London Oxford Street", "2", "1", "50.0", "–", "1", "0", "0", "Damaged"]]


def test_short_picks_take_as_many_queries_for_many_stores_and_problems_as_for_few(short_march, store):
    merch = browser(MERCHANDISER)
    query = {**MARCH, "format": "csv", "table": "short_picks_by_store"}

    with CaptureQueriesContext(connection) as few:
        merch.get(ANALYTICS, query)
    for n in range(5):
        fulfilment(store, SHIP, S.SHIPPED, at(12 + n, 10), kept=1, short=[(R.NOT_FOUND, 1, O.REROUTED, None)])
        fulfilment(LocationFactory(), SHIP, S.SHIPPED, at(12 + n, 11), kept=2,
                   short=[(R.DAMAGED, 1, O.DROPPED, None)])
    with CaptureQueriesContext(connection) as many:
        rows = merch.get(ANALYTICS, query).content.decode().splitlines()[1:]

    assert len(many.captured_queries) == len(few.captured_queries)
    assert rows[0] == "LDN-OXF,London Oxford Street,27,11,40.7,58.3,7,3,1,Not found"  # 16 + 11; sent 14 of 24


# Ship-from-store capacity: the last seven days, so that today is in them -----------------------------

def day(days_ago: int) -> datetime:
    """Noon, `days_ago` days before today, in the shop's time zone."""
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=days_ago), time(12)))


def weekday(days_ago: int) -> str:
    return WEEKDAYS[(timezone.localdate() - timedelta(days=days_ago)).weekday()]


def ships(location, when, count: int, status=S.NEW) -> None:
    for _ in range(count):
        fulfilment(location, SHIP, status, when, kept=1)


@pytest.fixture
def week():
    today = timezone.localdate()
    return {"start": f"{today - timedelta(days=6):%Y-%m-%d}", "end": f"{today:%Y-%m-%d}"}


@pytest.fixture
def capacity(store, other_store, warehouse):
    """London takes 4 ship orders a day on every weekday but the one 3 days ago; Manchester 2 a day, every
    weekday but today's; the warehouse has no limit (not listed).

    London: today 3 ship orders (and a pickup, not counted) → 75.0 %; yesterday 4 (at capacity); 3 days ago,
      its day off, 2 (routing's last resort; not in the average); 6 days ago 1, since cancelled (it still took
      the slot); 8 days ago 4 (before the week). 6 ship days × 4 = 24 slots, 3 + 4 + 1 = 8 used → 33.3 %.
    Manchester: today, not a ship day, 1 → today's use blank; no orders on its 6 ship days → 0.0 %.
    """
    store.daily_ship_capacity = 4
    store.ship_days = [d for d in WEEKDAYS if d != weekday(3)]
    store.save()
    other_store.daily_ship_capacity = 2
    other_store.ship_days = [d for d in WEEKDAYS if d != weekday(0)]
    other_store.save()
    ships(store, timezone.now(), 3)
    fulfilment(store, PICKUP, S.NEW, timezone.now(), kept=1)
    ships(store, day(1), 4, S.SHIPPED)
    ships(store, day(3), 2, S.SHIPPED)
    ships(store, day(6), 1, S.CANCELLED)
    ships(store, day(8), 4, S.SHIPPED)
    ships(other_store, timezone.now(), 1)
    ships(warehouse, day(1), 9, S.SHIPPED)


def ship_days_except(days_ago: int) -> str:
    return ", ".join(d.capitalize() for d in WEEKDAYS if d != weekday(days_ago))


def test_head_office_sees_ship_orders_today_and_average_use_against_capacity(capacity, week):
    html = browser(MERCHANDISER).get(ANALYTICS, week).content.decode()

    assert headings(html, "ship_capacity") == [
        "Location", "Name", "Ships on", "Ship orders a day", "Ship orders today", "Today % of capacity",
        "Ship days in period", "Ship orders on them", "Avg daily use %", "Days at capacity"]
    assert table(html, "ship_capacity") == [
        ["LDN-OXF", "London Oxford Street", ship_days_except(3), "4", "3", "75.0", "6", "8", "33.3", "1"],
        ["MAN-ARN", "Manchester Arndale", ship_days_except(0), "2", "1", "–", "6", "0", "0.0", "0"]]


def test_days_after_today_do_not_lower_the_average_use(capacity, week):
    later = {**week, "end": f"{timezone.localdate() + timedelta(days=7):%Y-%m-%d}"}

    rows = browser(MERCHANDISER).get(ANALYTICS, {**later, "format": "csv", "table": "ship_capacity"})

    assert rows.content.decode().splitlines()[1] == (
        f'LDN-OXF,London Oxford Street,"{ship_days_except(3)}",4,3,75.0,6,8,33.3,1')


def test_a_location_that_ships_every_day_says_so(store, week):
    store.daily_ship_capacity = 5
    store.save()
    ships(store, day(2), 5, S.SHIPPED)

    html = browser(MERCHANDISER).get(ANALYTICS, week).content.decode()

    assert table(html, "ship_capacity") == [
        ["LDN-OXF", "London Oxford Street", "Every day", "5", "0", "0.0", "7", "5", "14.3", "1"]]


def test_a_store_manager_sees_only_their_stores_capacity(capacity, week, other_store):
    html = browser(STORE_MANAGER, other_store).get(ANALYTICS, week).content.decode()

    assert table(html, "ship_capacity") == [
        ["MAN-ARN", "Manchester Arndale", ship_days_except(0), "2", "1", "–", "6", "0", "0.0", "0"]]
    assert "LDN-OXF" not in html
