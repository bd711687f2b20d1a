"""The four back-office roles as their users meet them: what each can open in the admin and the staff API,
scoped to the stores they work at, and what each is refused."""
import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient

from backoffice.roles import MERCHANDISER, PICKUP_STAFF, STORE_MANAGER, STORE_STAFF, role_assign
from catalog.models import Channel, Price, Range
from fulfillment.models import Fulfillment
from inventory import services as stock
from inventory.models import StockLevel, StockMovement, Transfer
from orders.models import Order
from tests.factories import (
    FulfillmentFactory,
    LocationFactory,
    OrderLineFactory,
    PriceFactory,
    ReturnFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

STOCK_LEVELS = "/admin/inventory/stocklevel/"
MOVEMENTS = "/admin/inventory/stockmovement/"
TRANSFERS = "/admin/inventory/transfer/"
COUNTS = "/admin/inventory/stockcount/"
RECEIVE = "/admin/inventory/stocklevel/receive/"
FULFILMENTS = "/admin/fulfillment/fulfillment/"
RETURNS = "/admin/fulfillment/return/"
ORDERS = "/admin/orders/order/"
LOCATIONS = "/admin/inventory/location/"
QUEUE = "/api/v1/staff/fulfillments/"
TILL = "/api/v1/staff/till/sales/"


def member(role: str, stores, username: str = ""):
    return role_assign(user=UserFactory(username=username or role.lower().replace(" ", "-")), role=role,
                       stores=stores)


def signed_in(role: str, *stores, username: str = "") -> Client:
    client = Client()
    client.force_login(member(role, stores, username))
    return client


def api_of(role: str, *stores, username: str = "") -> APIClient:
    client = APIClient()
    client.force_authenticate(member(role, stores, username))
    return client


def html(response) -> str:
    return response.content.decode()


def pickup_at(store, number: str) -> Fulfillment:
    line = OrderLineFactory(order__number=number, order__fulfilment=Order.Fulfilment.PICKUP,
                            order__pickup_store=store, location=store)
    return FulfillmentFactory(order=line.order, location=store)


@pytest.fixture
def stocked(store, other_store):
    """The same tee stocked at both stores, so a page showing both would show two rows."""
    tee = VariantFactory(sku="TEE-NAVY-M")
    stock.stock_receive(location=store, variant=tee, quantity=7)
    stock.stock_receive(location=other_store, variant=tee, quantity=11)
    return tee


def test_the_migration_makes_the_four_roles(db):
    perms = {group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
             for group in Group.objects.prefetch_related("permissions__content_type")}

    assert {MERCHANDISER, STORE_MANAGER, STORE_STAFF, PICKUP_STAFF} <= set(perms)
    assert {"catalog.change_price", "catalog.change_range", "catalog.add_taxrate", "backoffice.import_data",
            "backoffice.view_analytics", "inventory.all_locations"} <= perms[MERCHANDISER]
    assert {"inventory.add_stockmovement", "inventory.view_stocklevel", "inventory.add_transfer",
            "inventory.add_stockcount", "inventory.change_location", "fulfillment.change_fulfillment",
            "fulfillment.view_return", "orders.view_order", "backoffice.view_analytics"} <= perms[STORE_MANAGER]
    assert {"fulfillment.change_fulfillment", "fulfillment.view_return", "orders.view_order",
            "fulfillment.use_scan_station"} <= perms[STORE_STAFF]
    assert perms[PICKUP_STAFF] == {"fulfillment.use_scan_station"}
    assert not {p for p in perms[MERCHANDISER] if p.startswith(("inventory.add_", "inventory.change_"))}
    assert "inventory.all_locations" not in perms[STORE_MANAGER] | perms[STORE_STAFF]
    assert not {"inventory.add_stockmovement", "backoffice.view_analytics"} & perms[STORE_STAFF]


# Store staff ----------------------------------------------------------------------------------------


def test_store_staff_see_their_stores_fulfilments_orders_and_returns_and_not_another_stores(store, other_store):
    mine, theirs = pickup_at(store, "RMINE001"), pickup_at(other_store, "RTHEIRS01")
    ReturnFactory(order=mine.order, code="RETMINE1", location=store)
    ReturnFactory(order=theirs.order, code="RETTHEIR", location=other_store)
    counter = signed_in(STORE_STAFF, store)

    pages = {url: html(counter.get(url)) for url in (FULFILMENTS, ORDERS, RETURNS)}

    assert "RMINE001" in pages[FULFILMENTS] and "RTHEIRS01" not in pages[FULFILMENTS]
    assert "RMINE001" in pages[ORDERS] and "RTHEIRS01" not in pages[ORDERS]
    assert "RETMINE1" in pages[RETURNS] and "RETTHEIR" not in pages[RETURNS]
    assert "MAN-ARN" not in pages[FULFILMENTS] + pages[ORDERS]  # not even in the filters
    assert counter.get(f"{FULFILMENTS}{theirs.pk}/change/").status_code == 302  # "does not exist" for them
    assert counter.get(f"{ORDERS}{theirs.order.pk}/change/").status_code == 302


def test_store_staff_cannot_open_stock_pages_or_cancel_orders(store, stocked):
    mine = pickup_at(store, "RMINE001")
    counter = signed_in(STORE_STAFF, store)

    for url in (STOCK_LEVELS, MOVEMENTS, TRANSFERS, COUNTS, RECEIVE):
        assert counter.get(url).status_code == 403, url
    listing = html(counter.get(ORDERS))
    assert "cancel_orders" not in listing
    counter.post(ORDERS, {"action": "cancel_orders", "_selected_action": [mine.order.pk]})
    assert Order.objects.get(pk=mine.order.pk).status == Order.Status.PLACED


def test_store_staff_asking_the_api_about_another_store_get_403_and_an_unknown_store_404(store, other_store):
    pickup_at(store, "RMINE001")
    pickup_at(other_store, "RTHEIRS01")
    counter = api_of(STORE_STAFF, store)

    own = counter.get(QUEUE, {"store": store.code})
    other = counter.get(QUEUE, {"store": other_store.code})
    unknown = counter.get(QUEUE, {"store": "NOPE-123"})
    till = counter.post(TILL, {"store": other_store.code, "payment_method": "cash", "lines": [{"sku": "X"}]},
                        format="json")

    assert own.status_code == 200 and [f["order"] for f in own.json()["results"]] == ["RMINE001"]
    assert other.status_code == 403
    assert other.json() == {"code": "not_on_staff", "message": "You are not on the staff of Manchester Arndale "
                            "(MAN-ARN).", "detail": {"store": "MAN-ARN"}}
    assert unknown.status_code == 404
    assert unknown.json()["message"] == "No location has code 'NOPE-123'."
    assert till.status_code == 403 and till.json()["code"] == "not_on_staff"
    assert [f["order"] for f in counter.get(QUEUE).json()["results"]] == ["RMINE001"]


# Pickup staff ---------------------------------------------------------------------------------------


def test_pickup_staff_use_the_scan_station_and_nothing_in_the_admin(store, stocked):
    pickup = signed_in(PICKUP_STAFF, store)

    station = pickup.get("/scan/")

    assert station.status_code == 200 and 'id="code"' in html(station)
    assert pickup.get(f"/scan/pick-list/{store.code}/").status_code == 200
    for url in (STOCK_LEVELS, MOVEMENTS, RECEIVE, FULFILMENTS, ORDERS, "/admin/analytics/"):
        assert pickup.get(url).status_code == 403, url


def test_pickup_staff_hand_over_through_the_api_but_cannot_sell_at_the_till_or_work_the_queue(store, stocked):
    pickup_at(store, "RPICK0001")
    counter = api_of(PICKUP_STAFF, store)

    lookup = counter.post("/api/v1/staff/pickups/lookup/", {"store": store.code, "code": "NOSUCH"}, format="json")
    till = counter.post(TILL, {"store": store.code, "payment_method": "cash", "lines": [{"sku": "X"}]},
                        format="json")
    queue = counter.get(QUEUE, {"store": store.code})

    assert (lookup.status_code, lookup.json()["detail"]) == (409, {"reason": "unknown_code"})  # let in; no such code
    assert (till.status_code, till.json()["message"]) == (403, "Your role does not sell at the till.")
    assert (queue.status_code, queue.json()["message"]) == (403, "Your role does not work on fulfilments.")


def test_staff_without_the_scan_station_permission_are_refused_it_and_superusers_are_not(store):
    no_role = UserFactory(username="no-role")
    store.staff.add(no_role)
    refused, boss = Client(), Client()
    refused.force_login(no_role)
    boss.force_login(UserFactory(username="boss", is_superuser=True))

    assert refused.get("/scan/").status_code == 403
    assert refused.get(f"/scan/pick-list/{store.code}/").status_code == 403
    assert boss.get("/scan/").status_code == 200


# Store manager --------------------------------------------------------------------------------------


def test_a_store_manager_sees_and_moves_only_their_stores_stock(store, other_store, stocked):
    manager = signed_in(STORE_MANAGER, store)

    levels = html(manager.get(STOCK_LEVELS))
    movements = html(manager.get(MOVEMENTS))
    form = html(manager.get(RECEIVE))
    received = manager.post(RECEIVE, {"location": store.pk, "variant": "TEE-NAVY-M", "quantity": "3"})
    elsewhere = manager.post(RECEIVE, {"location": other_store.pk, "variant": "TEE-NAVY-M", "quantity": "3"})

    assert '<td class="field-on_hand">7</td>' in levels and '<td class="field-on_hand">11</td>' not in levels
    assert "MAN-ARN" not in levels and "MAN-ARN" not in movements
    assert "LDN-OXF" in form and "MAN-ARN" not in form
    assert received.status_code == 302
    assert elsewhere.status_code == 200 and "Select a valid choice" in html(elsewhere)
    on_hand = dict(StockLevel.objects.values_list("location__code", "on_hand"))
    assert on_hand == {"LDN-OXF": 10, "MAN-ARN": 11}
    other_level = StockLevel.objects.get(location=other_store)
    assert manager.get(f"{STOCK_LEVELS}{other_level.pk}/change/").status_code == 302


def test_a_store_manager_sees_transfers_from_or_to_their_store_and_their_counts_only(store, other_store, stocked):
    warehouse = LocationFactory(code="WH-DAV", kind="warehouse")
    inbound = Transfer.objects.create(source=warehouse, destination=store, note="restock London")
    elsewhere = Transfer.objects.create(source=warehouse, destination=other_store, note="restock Manchester")
    manager = signed_in(STORE_MANAGER, store)

    listing = html(manager.get(TRANSFERS))
    refused = manager.post(f"{TRANSFERS}add/", {
        "source": warehouse.pk, "destination": other_store.pk, "note": "not mine",
        "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "0",
    })
    shipped = manager.post(TRANSFERS, {"action": "ship_transfers", "_selected_action": [inbound.pk]}, follow=True)

    assert f"{TRANSFERS}{inbound.pk}/change/" in listing and f"{TRANSFERS}{elsewhere.pk}/change/" not in listing
    assert manager.get(f"{TRANSFERS}{elsewhere.pk}/change/").status_code == 302
    assert "A transfer must leave from or arrive at a location you work at." in html(refused)
    assert Transfer.objects.count() == 2
    assert "you do not work at its source" in html(shipped)
    assert Transfer.objects.get(pk=inbound.pk).status == Transfer.Status.DRAFT
    count_form = html(manager.get(f"{COUNTS}add/"))
    assert "LDN-OXF" in count_form and "MAN-ARN" not in count_form


def test_a_store_manager_manages_who_works_at_their_store_and_nothing_else_about_stores(store, other_store):
    manager = signed_in(STORE_MANAGER, store)
    newcomer = UserFactory(username="newcomer")

    listing = html(manager.get(LOCATIONS))
    page = manager.get(f"{LOCATIONS}{store.pk}/change/")
    saved = manager.post(f"{LOCATIONS}{store.pk}/change/", {
        "staff": list(store.staff.values_list("pk", flat=True)) + [newcomer.pk], "name": "Renamed",
    })

    assert "LDN-OXF" in listing and "MAN-ARN" not in listing
    assert 'name="staff"' in html(page) and 'name="name"' not in html(page)
    assert saved.status_code == 302
    store.refresh_from_db()
    assert newcomer in store.staff.all() and store.name == "London Oxford Street"
    assert manager.get(f"{LOCATIONS}{other_store.pk}/change/").status_code == 302
    assert manager.get(f"{LOCATIONS}add/").status_code == 403


# Merchandiser ---------------------------------------------------------------------------------------


def test_a_merchandiser_edits_prices_and_ranges_but_not_stock(store, stocked):
    price = PriceFactory(variant=stocked, amount="20.00")
    merch = signed_in(MERCHANDISER)

    repriced = merch.post(f"/admin/catalog/price/{price.pk}/change/", {
        "variant": stocked.pk, "channel": price.channel_id, "location": "", "amount": "18.50", "currency": "GBP",
        "valid_from_0": "", "valid_from_1": "", "valid_until_0": "", "valid_until_1": "",
    })
    ranged = merch.post("/admin/catalog/range/add/", {
        "name": "Summer", "code": "summer", "starts_at_0": "2026-06-01", "starts_at_1": "00:00:00",
        "variants": [stocked.pk], "channels": [Channel.objects.get(code=Channel.WEB).pk],
    })

    assert repriced.status_code == 302, html(repriced)
    assert str(Price.objects.get(pk=price.pk).amount) == "18.50"
    assert ranged.status_code == 302, html(ranged)
    assert list(Range.objects.get(code="summer").variants.values_list("sku", flat=True)) == ["TEE-NAVY-M"]
    for url in (STOCK_LEVELS, MOVEMENTS, TRANSFERS, RECEIVE):
        assert merch.get(url).status_code == 403, url
    merch.post(RECEIVE, {"location": store.pk, "variant": "TEE-NAVY-M", "quantity": "5"})
    assert StockMovement.objects.count() == 2  # the two receipts of the fixture only


def test_the_back_office_links_to_analytics_for_those_who_may_see_them(store):
    """Head office lands on the admin's index, store roles on their store home: both link to analytics
    when the role may see it."""
    assert "/admin/analytics/" in html(signed_in(MERCHANDISER).get("/admin/"))
    assert "/admin/analytics/" in html(signed_in(STORE_MANAGER, store).get("/admin/", follow=True))
    assert "/admin/analytics/" not in html(signed_in(STORE_STAFF, store).get("/admin/", follow=True))


def test_role_assign_keeps_one_role_and_adds_the_stores(store, other_store):
    user = role_assign(user=UserFactory(username="sam", is_staff=False), role=STORE_STAFF, stores=[store])
    role_assign(user=user, role=STORE_MANAGER, stores=[other_store])

    assert list(user.groups.values_list("name", flat=True)) == [STORE_MANAGER]
    assert set(user.stores.values_list("code", flat=True)) == {"LDN-OXF", "MAN-ARN"}
    user.refresh_from_db()
    assert user.is_staff
