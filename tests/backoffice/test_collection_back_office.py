"""The back office around collection, as staff see it: the store home's collection windows today (booked against
capacity, what is still to hand over), who is here now (shelf, bay, collector, minutes waiting) and the
ship-to-store transfers on their way, in a few queries however many; the Location page's collection windows,
saved by head office and refused with a reason when they make no sense, read-only for a store manager; the
analytics of arrival to hand-over (median and 90th percentile) and of ship-to-store pickups; and the demo's
stores with windows on their open days and their transfer lead times."""
import csv
import html as html_lib
import io
import json
import re
from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.roles import MERCHANDISER, STORE_MANAGER, STORE_STAFF, role_assign
from demo.places import STORES, WAREHOUSES, upsert_locations
from fulfillment.models import Fulfillment
from inventory import services as stock
from inventory.models import WEEKDAYS, CollectionWindow, Location
from orders.models import Order
from tests.factories import FulfillmentFactory, OrderFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db

Status = Fulfillment.Status
PICKUP = Order.Fulfilment.PICKUP
HOME = "/admin/store/"
LOCATIONS = "/admin/inventory/location/"
ANALYTICS = "/admin/analytics/"
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
HIGH_STREET = {"mon": "09:00-18:00", "tue": "09:00-18:00", "wed": "09:00-18:00", "thu": "09:00-19:00",
               "fri": "09:00-18:00", "sat": "09:00-18:00", "sun": "closed"}


def signed_in(role: str, *stores, username: str = "sam") -> Client:
    client = Client()
    client.force_login(role_assign(user=UserFactory(username=username), role=role, stores=stores))
    return client


def text(response) -> str:
    """The page as a person reads it: tags gone, white space folded."""
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def section(response, title_id: str) -> str:
    """The words of one section of the store home, found by its heading's id."""
    found = re.search(rf'<section[^>]*aria-labelledby="{title_id}">(.*?)</section>', response.content.decode(), re.S)
    assert found, f"no section {title_id}"
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def today_window(store, starts: int, ends: int, capacity: int) -> CollectionWindow:
    weekday = WEEKDAYS[timezone.localdate().weekday()]
    return CollectionWindow.objects.create(location=store, weekday=weekday, starts=time(starts), ends=time(ends),
                                           capacity=capacity)


def booked(store, window, number: str, status: str = Status.NEW, *, name: str = "", order_status: str = "",
           **fulfilment) -> Fulfillment:
    order = OrderFactory(number=number, fulfilment=PICKUP, pickup_store=store, collect_window=window,
                         collect_on=timezone.localdate() if window else None, ship_to_name=name or f"Shopper {number}",
                         **({"status": order_status} if order_status else {}))
    return FulfillmentFactory(order=order, location=store, status=status, **fulfilment)


# The store home ---------------------------------------------------------------------------------------------


def test_the_store_home_shows_todays_windows_booked_against_capacity_and_what_is_left_to_hand_over(store):
    morning, midday = today_window(store, 10, 12, 6), today_window(store, 12, 14, 2)
    other_day = WEEKDAYS[(timezone.localdate().weekday() + 1) % 7]
    CollectionWindow.objects.create(location=store, weekday=other_day, starts=time(16), ends=time(18), capacity=4)
    booked(store, morning, "W100", Status.NEW, name="Ada Lovelace")
    booked(store, morning, "W101", Status.READY, name="Grace Hopper", shelf="B4", ready_at=timezone.now())
    booked(store, morning, "W102", Status.COLLECTED, completed_at=timezone.now())  # booked, handed over already
    booked(store, midday, "W200", Status.PICKING, picked_at=timezone.now())
    booked(store, midday, "W201", Status.READY, ready_at=timezone.now())
    booked(store, midday, "W202", Status.CANCELLED, order_status=Order.Status.CANCELLED)  # frees its place

    home = signed_in(STORE_STAFF, store).get(HOME)

    windows = section(home, "windows-title")
    assert re.search(r"10:00–12:00 3 of 6 booked W100 · Ada Lovelace · To pick W101 · Grace Hopper · Ready · Hand over "
                     r"12:00–14:00 2 of 2 booked · full W200 · Shopper W200 · Picked, waiting for a transfer W201", windows)
    assert "W102" not in windows and "W202" not in windows and "16:00" not in windows
    assert f'/scan/?store={store.code}&amp;open={Fulfillment.objects.get(order__number="W101").pk}' in (
        home.content.decode())


def test_the_store_home_lists_who_is_here_with_shelf_bay_collector_and_minutes_waiting(store):
    window = today_window(store, 10, 12, 6)
    now = timezone.now()
    booked(store, window, "W300", Status.READY, name="Ada Lovelace", shelf="C2", ready_at=now - timedelta(hours=3),
           arrived_at=now - timedelta(minutes=12, seconds=20), arrival_bay="4", arrival_note="Blue Fiat 500")
    here = booked(store, None, "W301", Status.READY, name="Grace Hopper", ready_at=now - timedelta(hours=1),
                  arrived_at=now - timedelta(minutes=3, seconds=20))
    Order.objects.filter(pk=here.order.pk).update(collector_name="Alan Turing")
    booked(store, None, "W302", Status.READY, ready_at=now)  # ready, not here yet
    booked(store, None, "W303", Status.COLLECTED, arrived_at=now - timedelta(hours=2))  # here earlier, gone

    home = signed_in(STORE_STAFF, store).get(HOME)

    arrivals = section(home, "here-title")
    assert arrivals.startswith("Here now (2), waiting longest first")
    assert ("W300 Ada Lovelace C2 Bay 4 Blue Fiat 500 waiting 12 min" in arrivals
            and "W301 Grace Hopper collected by Alan Turing not shelved At the counter waiting 3 min" in arrivals)
    assert "W302" not in arrivals and "W303" not in arrivals
    assert re.search(r"2 Here now", text(home))
    assert f"/scan/?store={store.code}&amp;open={here.pk}" in home.content.decode()


def test_the_store_home_lists_ship_to_store_transfers_on_their_way_with_their_status(store, warehouse):
    tee = VariantFactory(sku="TEE-SAGE-S")
    stock.stock_receive(location=warehouse, variant=tee, quantity=10)
    waiting = booked(store, None, "W400", Status.NEW)
    Order.objects.filter(pk=waiting.order.pk).update(collect_from=timezone.localdate() + timedelta(days=2))
    on_the_road = booked(store, None, "W401", Status.PICKING, picked_at=timezone.now())
    collected = booked(store, None, "W402", Status.COLLECTED)
    not_sent = stock.transfer_create(source=warehouse, destination=store, lines=[(tee, 1)])
    sent = stock.transfer_create(source=warehouse, destination=store, lines=[(tee, 2)])
    old = stock.transfer_create(source=warehouse, destination=store, lines=[(tee, 1)])
    restock = stock.transfer_create(source=warehouse, destination=store, lines=[(tee, 3)])  # for no pickup
    waiting.transfers.add(not_sent)
    on_the_road.transfers.add(sent)
    collected.transfers.add(old)
    stock.transfer_ship(transfer=sent)
    stock.transfer_ship(transfer=restock)

    manager = signed_in(STORE_MANAGER, store)
    home = manager.get(HOME)

    coming = section(home, "ship-to-store-title")
    sent_on = timezone.localdate().strftime("%-d %b")
    assert coming.startswith("Ship-to-store coming in (2)")
    assert f"Transfer T{sent.pk} from Daventry DC On its way, sent {sent_on} Receive it order W401" in coming
    assert f"Transfer T{not_sent.pk} from Daventry DC Not sent yet order W400 from " in coming
    assert f"Transfer T{old.pk} " not in coming and f"Transfer T{restock.pk} " not in coming
    assert f'href="/admin/inventory/transfer/{sent.pk}/change/"' in home.content.decode()
    assert f'href="/scan/transfer/?store={store.code}&amp;number=T{sent.pk}">Receive it</a>' in home.content.decode()
    # Store staff may not open transfers: they read them without a link.
    staff_home = signed_in(STORE_STAFF, store, username="kim").get(HOME)
    assert f"Transfer T{sent.pk}" in section(staff_home, "ship-to-store-title")
    assert f'href="/admin/inventory/transfer/{sent.pk}/change/"' not in staff_home.content.decode()


def test_the_store_home_reads_collection_in_as_many_queries_for_many_pickups_as_for_few(store, warehouse):
    window = today_window(store, 10, 12, 50)
    tee = VariantFactory()
    now = timezone.now()

    def add(n: int) -> None:
        for i in range(n):
            booked(store, window, f"Q{n}{i}A", Status.READY, ready_at=now, arrived_at=now)
            booked(store, window, f"Q{n}{i}B", Status.NEW).transfers.add(
                stock.transfer_create(source=warehouse, destination=store, lines=[(tee, 1)]))

    staff = signed_in(STORE_STAFF, store)
    add(1)
    staff.get(HOME)  # the session and permissions cached alike for both counts
    with CaptureQueriesContext(connection) as few:
        staff.get(HOME)
    add(6)
    with CaptureQueriesContext(connection) as many:
        home = staff.get(HOME)

    assert section(home, "here-title").startswith("Here now (7)")
    assert len(many.captured_queries) == len(few.captured_queries)


# The Location page: collection windows and routing --------------------------------------------------------


def location_form(location: Location, windows: list[dict], *, existing: int = 0, **changes) -> dict:
    """What the Location page posts: its fields as they are (with `changes`) and the collection windows."""
    fields = {
        "code": location.code, "name": location.name, "kind": location.kind, "is_active": "on",
        "address_line": location.address_line, "city": location.city, "postcode": location.postcode,
        "country": location.country, "latitude": location.latitude, "longitude": location.longitude,
        "phone": location.phone, "email": location.email, "opening_hours": json.dumps(location.opening_hours),
        "sells_in_store": "on", "offers_pickup": "on", "accepts_returns": "on",
        "pickup_hold_days": location.pickup_hold_days, "daily_ship_capacity": "", "routing_rank": 100,
        "transfer_lead_days": location.transfer_lead_days, "staff": [],
        "collection_windows-TOTAL_FORMS": len(windows), "collection_windows-INITIAL_FORMS": existing,
        "collection_windows-MIN_NUM_FORMS": 0, "collection_windows-MAX_NUM_FORMS": 1000,
    }
    for index, window in enumerate(windows):
        fields.update({f"collection_windows-{index}-{key}": value for key, value in window.items()})
    return {**fields, **changes}


def errors(response) -> list[str]:
    return [" ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", found)).split())
            for found in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)]


def test_head_office_adds_a_collection_window_and_sets_the_transfer_lead_time_where_routing_is(admin_client, store):
    Location.objects.filter(pk=store.pk).update(opening_hours=HIGH_STREET)
    store.refresh_from_db()
    page = html_lib.unescape(admin_client.get(f"{LOCATIONS}{store.pk}/change/").content.decode())
    routing = re.search(r"<h2[^>]*>Routing</h2>(.*?)</fieldset>", page, re.S).group(1)
    assert 'name="transfer_lead_days"' in routing and 'name="routing_rank"' in routing
    assert "Collection windows" in page and "within that day's hours" in page

    saved = admin_client.post(f"{LOCATIONS}{store.pk}/change/", location_form(
        store, [{"weekday": "sat", "starts": "10:00", "ends": "12:00", "capacity": 6}], transfer_lead_days=3))

    assert saved.status_code == 302, errors(saved)
    window = CollectionWindow.objects.get(location=store)
    assert (window.weekday, window.starts, window.ends, window.capacity) == ("sat", time(10), time(12), 6)
    store.refresh_from_db()
    assert store.transfer_lead_days == 3


@pytest.mark.parametrize(("window", "field", "message"), [
    ({"weekday": "mon", "starts": "14:00", "ends": "12:00", "capacity": 6}, "ends",
     "A window must start before it ends: this one starts at 14:00 and ends at 12:00."),
    ({"weekday": "mon", "starts": "12:00", "ends": "12:00", "capacity": 6}, "ends",
     "A window must start before it ends: this one starts at 12:00 and ends at 12:00."),
    ({"weekday": "mon", "starts": "17:00", "ends": "19:00", "capacity": 6}, "starts",
     "Monday 17:00–19:00 is outside the opening hours, 09:00–18:00: choose times within them."),
    ({"weekday": "sun", "starts": "12:00", "ends": "14:00", "capacity": 6}, "weekday",
     "London Oxford Street is closed on Sundays (see its opening hours), so it cannot hand over orders then."),
])
def test_a_window_that_makes_no_sense_is_refused_with_the_reason_and_nothing_is_saved(admin_client, store, window,
                                                                                        field, message):
    Location.objects.filter(pk=store.pk).update(opening_hours=HIGH_STREET)
    store.refresh_from_db()

    refused = admin_client.post(f"{LOCATIONS}{store.pk}/change/", location_form(store, [window]))

    assert refused.status_code == 200
    assert message in errors(refused)
    assert re.search(rf'<td class="field-{field}">\s*<ul class="errorlist', refused.content.decode())
    assert not CollectionWindow.objects.exists()


def test_overlapping_windows_on_one_day_are_refused_but_the_same_times_on_another_day_are_not(admin_client, store):
    windows = [{"weekday": "tue", "starts": "10:00", "ends": "12:00", "capacity": 6},
               {"weekday": "tue", "starts": "11:00", "ends": "13:00", "capacity": 6},
               {"weekday": "wed", "starts": "11:00", "ends": "13:00", "capacity": 6}]

    refused = admin_client.post(f"{LOCATIONS}{store.pk}/change/", location_form(store, windows))
    saved = admin_client.post(f"{LOCATIONS}{store.pk}/change/", location_form(store, [windows[0], windows[2]]))

    assert ("Tuesday 11:00–13:00 overlaps 10:00–12:00: one window must end before the next starts."
            in errors(refused))
    assert saved.status_code == 302, errors(saved)
    assert CollectionWindow.objects.filter(location=store).count() == 2


def test_new_opening_hours_that_leave_a_window_outside_them_are_refused_until_the_window_moves(admin_client, store):
    window = CollectionWindow.objects.create(location=store, weekday="sat", starts=time(16), ends=time(18), capacity=6)
    kept = {"id": window.pk, "location": store.pk, "weekday": "sat", "starts": "16:00", "ends": "18:00", "capacity": 6}
    shorter_saturday = json.dumps({**HIGH_STREET, "sat": "09:00-17:00"})

    refused = admin_client.post(f"{LOCATIONS}{store.pk}/change/", location_form(
        store, [kept], existing=1, opening_hours=shorter_saturday))
    moved = admin_client.post(f"{LOCATIONS}{store.pk}/change/", location_form(
        store, [{**kept, "ends": "17:00"}], existing=1, opening_hours=shorter_saturday))

    assert "Saturday 16:00–18:00 is outside the opening hours, 09:00–17:00: choose times within them." in errors(refused)
    assert moved.status_code == 302, errors(moved)
    window.refresh_from_db()
    store.refresh_from_db()
    assert window.ends == time(17) and store.opening_hours["sat"] == "09:00-17:00"


def test_a_store_manager_reads_the_windows_but_only_changes_who_works_there(store):
    CollectionWindow.objects.create(location=store, weekday="sat", starts=time(10), ends=time(12), capacity=6)
    manager = signed_in(STORE_MANAGER, store)

    page = manager.get(f"{LOCATIONS}{store.pk}/change/")
    saved = manager.post(f"{LOCATIONS}{store.pk}/change/", {
        "staff": list(store.staff.values_list("pk", flat=True)),
        "collection_windows-TOTAL_FORMS": 1, "collection_windows-INITIAL_FORMS": 0,
        "collection_windows-0-weekday": "sun", "collection_windows-0-starts": "10:00",
        "collection_windows-0-ends": "12:00", "collection_windows-0-capacity": 50})

    assert "Saturday 10:00–12:00, up to 6 orders" in text(page)
    assert 'name="collection_windows-TOTAL_FORMS"' not in page.content.decode()
    assert saved.status_code == 302
    assert list(CollectionWindow.objects.values_list("weekday", "capacity")) == [("sat", 6)]


def test_every_field_of_a_location_is_on_its_page(admin_client, store):
    page = admin_client.get(f"{LOCATIONS}{store.pk}/change/").content.decode()
    editable = [f.name for f in [*Location._meta.fields, *Location._meta.many_to_many] if f.editable and f.name != "id"]
    assert [name for name in editable if f'name="{name}"' not in page] == []


# Analytics ----------------------------------------------------------------------------------------------------


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, hour, minute))


def handed_over(store, number: str, *, arrived: datetime | None, waited: float, status: str = Status.COLLECTED,
                placed: datetime | None = None) -> Fulfillment:
    done = (arrived or at(10, 12)) + timedelta(minutes=waited)
    order = OrderFactory(number=number, fulfilment=PICKUP, pickup_store=store, placed_at=placed or at(9, 10))
    return FulfillmentFactory(order=order, location=store, status=status, ready_at=at(9, 12), arrived_at=arrived,
                              completed_at=done)


def table(page: str, key: str) -> list[list[str]]:
    part = re.search(rf'<section class="analytics-table" id="{key}">(.*?)</section>', page, re.S).group(1)
    body = re.search(r"<tbody>(.*?)</tbody>", part, re.S)
    return [] if body is None else [re.findall(r"<td[^>]*>(.*?)</td>", row)
                                    for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


@pytest.fixture
def handovers(store, other_store):
    """London: five hand-overs after "I'm here" in March, waits 2, 4, 6, 8 and 30 minutes (sorted). The median
    is the third, 6; the 90th percentile sits 0.9 × 4 = 3.6 places along: 8 + 0.6 × (30 − 8) = 21.2; the
    average 50 ÷ 5 = 10. Manchester: one of 5 minutes. Left out: a hand-over without "I'm here", one that
    expired after arriving, and one handed over in April."""
    for number, minute, waited in (("A1", 0, 6), ("A2", 10, 2), ("A3", 20, 30), ("A4", 30, 8), ("A5", 40, 4)):
        handed_over(store, number, arrived=at(10 + minute // 10, 12, minute), waited=waited)
    handed_over(other_store, "M1", arrived=at(20, 15), waited=5)
    handed_over(store, "X1", arrived=None, waited=90)
    handed_over(store, "X2", arrived=at(11, 9), waited=60, status=Status.EXPIRED)
    handed_over(store, "X3", arrived=at(31, 23, 50), waited=20)


def test_arrival_to_handover_gives_count_average_median_and_90th_percentile_minutes_per_store(handovers):
    merch = signed_in(MERCHANDISER, username="mo")

    page = merch.get(ANALYTICS, MARCH).content.decode()
    download = merch.get(ANALYTICS, {**MARCH, "format": "csv", "table": "arrival_to_handover"}).content.decode()

    assert table(page, "arrival_to_handover") == [
        ["LDN-OXF", "London Oxford Street", "5", "10.0", "6.0", "21.2"],
        ["MAN-ARN", "Manchester Arndale", "1", "5.0", "5.0", "5.0"]]
    assert list(csv.reader(io.StringIO(download))) == [
        ["Store", "Name", "Handed over after “I'm here”", "Avg minutes", "Median minutes", "90th percentile minutes"],
        ["LDN-OXF", "London Oxford Street", "5", "10.0", "6.0", "21.2"],
        ["MAN-ARN", "Manchester Arndale", "1", "5.0", "5.0", "5.0"]]


def test_a_store_manager_sees_arrival_to_handover_for_their_store_only(handovers, other_store):
    page = signed_in(STORE_MANAGER, other_store).get(ANALYTICS, MARCH).content.decode()
    assert table(page, "arrival_to_handover") == [["MAN-ARN", "Manchester Arndale", "1", "5.0", "5.0", "5.0"]]


def test_ship_to_store_pickups_are_counted_per_store_with_their_share(store, other_store, warehouse):
    tee = VariantFactory()
    for number, location, sent, placed in (("S1", store, True, at(3, 10)), ("S2", store, False, at(4, 10)),
                                           ("S3", store, False, at(5, 10)), ("S4", store, True, at(6, 10)),
                                           ("S5", other_store, False, at(7, 10)),
                                           ("S6", store, True, at(2, 10, month=4))):
        pickup = handed_over(location, number, arrived=None, waited=0, placed=placed)
        if sent:  # two transfers for S1: still one ship-to-store pickup
            for _ in range(2 if number == "S1" else 1):
                pickup.transfers.add(stock.transfer_create(source=warehouse, destination=location, lines=[(tee, 1)]))

    page = signed_in(MERCHANDISER, username="mo").get(ANALYTICS, MARCH).content.decode()

    assert table(page, "ship_to_store_by_store") == [
        ["LDN-OXF", "London Oxford Street", "4", "2", "50.0"], ["MAN-ARN", "Manchester Arndale", "1", "0", "0.0"]]


# Demo data ----------------------------------------------------------------------------------------------------


def test_the_demo_gives_each_pickup_store_windows_on_its_open_days_within_its_hours_and_lead_times(db):
    upsert_locations()

    pickup_stores = Location.objects.filter(kind=Location.Kind.STORE, offers_pickup=True)
    assert pickup_stores.count() == sum(1 for s in STORES if s.offers_pickup)
    for store in pickup_stores:
        windows = list(store.collection_windows.all())
        for day_index, day in enumerate(WEEKDAYS):
            hours = store.hours_on(timezone.localdate() + timedelta(
                days=(day_index - timezone.localdate().weekday()) % 7))
            on_day = [w for w in windows if w.weekday == day]
            assert (hours is None) == (not on_day), (store.code, day)
            assert all(hours[0] <= w.starts < w.ends <= hours[1] and w.capacity == 6 for w in on_day), store.code
    kensington_sunday = CollectionWindow.objects.filter(location__code="LDN-KEN", weekday="sun").order_by("starts")
    assert [(f"{w.starts:%H:%M}", f"{w.ends:%H:%M}") for w in kensington_sunday] == [
        ("11:00", "12:00"), ("12:00", "14:00"), ("14:00", "16:00"), ("16:00", "17:00")]
    assert not CollectionWindow.objects.exclude(location__in=pickup_stores).exists()
    warehouses = Location.objects.filter(kind=Location.Kind.WAREHOUSE)
    assert warehouses.count() == len(WAREHOUSES) and set(warehouses.values_list("transfer_lead_days", flat=True)) == {1}
    assert set(Location.objects.filter(kind=Location.Kind.STORE, ships_orders=True)
               .values_list("transfer_lead_days", flat=True)) == {2}

    windows_before = CollectionWindow.objects.count()
    upsert_locations()
    assert CollectionWindow.objects.count() == windows_before


def test_a_window_someone_booked_cannot_be_deleted_and_the_page_says_why(admin_client, store):
    window = today_window(store, 10, 12, 6)
    booked(store, window, "RBOOKED1")
    form = location_form(store, [{"id": window.pk, "location": store.pk, "weekday": window.weekday,
                                  "starts": "10:00", "ends": "12:00", "capacity": 6, "DELETE": "on"}], existing=1)

    refused = admin_client.post(f"{LOCATIONS}{store.pk}/change/", form)

    assert refused.status_code == 200
    assert any("RBOOKED1" in error for error in errors(refused)), errors(refused)
    assert CollectionWindow.objects.filter(pk=window.pk).exists()
