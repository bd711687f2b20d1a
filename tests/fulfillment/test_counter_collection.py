"""Collection at the store's counter, as staff see it in a browser: who is here now (a fragment the page polls,
scoped to the counter's store, with the collector, the shelf, the bay, the car and the minutes waited), today's
collection windows, a transfer received by its number (the pickup it brings units for becomes ready and is
shelved; every refusal says why and changes nothing), the pick list's lines coming on a transfer, and marking a
pickup ready on a shelf, or picked while its transfer is still to come."""
import re
import uuid
from datetime import time, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from backoffice.roles import STORE_MANAGER, STORE_STAFF, role_assign
from catalog.models import Channel
from fulfillment.collection import pickup_arrived
from fulfillment.models import Fulfillment
from fulfillment.services import fulfillment_shelve
from inventory import services as stock
from inventory.models import WEEKDAYS, CollectionWindow, StockLevel, StockMovement, Transfer
from inventory.selectors import ledger_drift
from orders.models import Order
from orders.services import order_set_collector
from tests.customers.conftest import app_client, register
from tests.factories import PriceFactory, UserFactory, VariantFactory, card
from tests.fulfillment.test_station import browser_of, counter_at, pickup_order, ready

pytestmark = pytest.mark.django_db


def staff_in(role, *stores, username="kim"):
    return browser_of(role_assign(user=UserFactory(username=username), role=role, stores=stores))


def arrived(pickup: Fulfillment, *, bay="", car="", minutes_ago=0) -> Fulfillment:
    """The shopper said "I'm here" (`minutes_ago`)."""
    pickup_arrived(fulfillment=pickup, bay=bay, note=car)
    Fulfillment.objects.filter(pk=pickup.pk).update(arrived_at=timezone.now() - timedelta(minutes=minutes_ago))
    pickup.refresh_from_db()
    return pickup


def level(location, variant) -> tuple[int, int, int]:
    row = StockLevel.objects.get(location=location, variant=variant)
    return row.on_hand, row.committed, row.incoming


@pytest.fixture
def far_tee(db, warehouse):
    """A tee only Daventry DC holds: a pickup of it in London comes on a transfer."""
    tee = VariantFactory(sku="TEE-SAGE-S")
    for channel in Channel.objects.all():
        PriceFactory(variant=tee, channel=channel, amount="20.00")
    stock.stock_receive(location=warehouse, variant=tee, quantity=5)
    return tee


def ship_to_store_pickup(stripe_double, store, sku="TEE-SAGE-S", quantity=2, email="ada@example.com",
                         first_name="Ada") -> Fulfillment:
    """`quantity` of `sku` checked out from the app for pickup at `store`, paid by card."""
    app = app_client(register(email, first_name))
    assert app.post("/api/v1/cart/lines/", {"sku": sku, "quantity": quantity}, format="json").status_code == 201
    placed = app.post("/api/v1/checkout/", {"fulfilment": "pickup", "store": store.code, "payment_method": "card",
                                            "payment_method_id": card(stripe_double)}, format="json",
                      headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.json()
    return Fulfillment.objects.get(order__number=placed.json()["number"])


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="(?:field-)?error" id="{field}-error" role="alert">([^<]+)</p>', html)
    return found.group(1) if found else ""


# Here now ---------------------------------------------------------------------------------------------------


def test_here_now_lists_arrivals_with_the_collector_shelf_bay_car_and_minutes_waited(shelf, store, stripe_double):
    bob_collects = ready(pickup_order(stripe_double, store), store)
    order_set_collector(order=bob_collects.order, name="Bob Smith")
    fulfillment_shelve(fulfillment=bob_collects, shelf="B3")
    arrived(bob_collects, bay="4", car="Red Fiat 500", minutes_ago=7)
    unshelved = arrived(ready(pickup_order(stripe_double, store, "grace@example.com", "Grace"), store), minutes_ago=2)
    not_here = ready(pickup_order(stripe_double, store, "lin@example.com", "Lin"), store)

    fragment = counter_at(store).get("/scan/here-now/", {"store": store.code})

    assert fragment.status_code == 200 and fragment["Cache-Control"] == "no-store"
    html = fragment.content.decode()
    cards = re.findall(r'<li class="arrival" data-order="(\w+)">(.*?)</li>', html, re.S)
    assert [number for number, _ in cards] == [bob_collects.order.number, unshelved.order.number]  # oldest first
    bob = cards[0][1]
    assert "Bob Smith collecting for Ada" in bob
    assert re.search(r'<dd class="arrival-shelf">B3</dd>', bob)
    assert "<dd>4</dd>" in bob and "<dd>Red Fiat 500</dd>" in bob and "waiting 7 min" in bob
    assert f"open={bob_collects.pk}" in bob  # staff open the order from here and hand over as ever
    assert re.search(r'<dd class="arrival-shelf">not shelved</dd>', cards[1][1]) and "waiting 2 min" in cards[1][1]
    assert not_here.order.number not in html
    assert "Here now (2)" in html


def test_the_counter_page_shows_here_now_and_polls_it_with_a_refresh_link_for_no_script(shelf, store,
                                                                                         stripe_double):
    pickup = arrived(ready(pickup_order(stripe_double, store), store))

    html = counter_at(store).get("/scan/").content.decode()

    panel = re.search(r'<section class="card here-now"[^>]*data-refresh-from="([^"]+)"[^>]*>(.*?)</section>', html,
                      re.S)
    assert panel and panel.group(1) == f"/scan/here-now/?store={store.code}"
    assert pickup.order.number in panel.group(2)
    assert f'<a href="/scan/?store={store.code}">Refresh now</a>' in panel.group(2)
    assert "fulfillment/here_now" in html  # the script that polls it


def test_here_now_is_scoped_to_the_counters_store(shelf, store, other_store, stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    here = arrived(ready(pickup_order(stripe_double, store), store))
    there = arrived(ready(pickup_order(stripe_double, other_store, "grace@example.com", "Grace"), other_store))
    both = counter_at(store, other_store, username="roz")

    london = both.get("/scan/here-now/", {"store": store.code}).content.decode()
    manchester = both.get("/scan/here-now/", {"store": other_store.code}).content.decode()
    not_mine = counter_at(store).get("/scan/here-now/", {"store": other_store.code})

    assert here.order.number in london and there.order.number not in london
    assert there.order.number in manchester and here.order.number not in manchester
    assert not_mine.status_code == 404
    assert there.order.number not in not_mine.content.decode()


def test_the_counter_shows_the_collector_wherever_it_offers_a_hand_over(shelf, store, stripe_double):
    pickup = ready(pickup_order(stripe_double, store), store)
    order_set_collector(order=pickup.order, name="Bob Smith")
    counter = counter_at(store)

    scanned = counter.post("/scan/", {"code": pickup.pickup_code}).content.decode()
    searched = counter.post("/scan/", {"code": "bob smith"}).content.decode()  # the collector gives his own name
    listed = counter.get("/scan/").content.decode()

    assert "Bob Smith collecting for Ada" in scanned
    assert re.search(r'value="hand_over">Hand over order ' + pickup.order.number, searched)  # found by his name
    assert re.search(rf"<td>{pickup.order.number}</td><td>Bob Smith collecting for Ada", listed)


def test_the_counter_lists_todays_collection_windows_with_counts(shelf, store, stripe_double):
    today = WEEKDAYS[timezone.localdate().weekday()]
    morning = CollectionWindow.objects.create(location=store, weekday=today, starts=time(10), ends=time(12))
    evening = CollectionWindow.objects.create(location=store, weekday=today, starts=time(17), ends=time(19))
    first = ready(pickup_order(stripe_double, store), store)
    second = pickup_order(stripe_double, store, "grace@example.com", "Grace")
    third = pickup_order(stripe_double, store, "lin@example.com", "Lin")
    tomorrow = pickup_order(stripe_double, store, "mo@example.com", "Mo")
    for pickup, window, day in ((first, morning, 0), (second, morning, 0), (third, evening, 0), (tomorrow, morning, 1)):
        Order.objects.filter(pk=pickup.order_id).update(collect_window=window,
                                                        collect_on=timezone.localdate() + timedelta(days=day))

    html = counter_at(store).get("/scan/").content.decode()

    assert "10:00–12:00: 2 orders (1 ready, 1 not ready yet)" in html
    assert "17:00–19:00: 1 order (0 ready, 1 not ready yet)" in html
    assert html.index("10:00–12:00") < html.index("17:00–19:00")
    assert re.search(rf"<td>{second.order.number}</td><td>Grace</td><td>To pick</td>", html)
    assert tomorrow.order.number not in html


# Receiving a transfer by its number ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["T{pk}", "{pk}", "TRANSFER-{pk}", "t-{pk}"])
def test_a_transfer_is_found_by_its_number_however_it_is_typed(store, warehouse, far_tee, stripe_double, typed):
    pickup = ship_to_store_pickup(stripe_double, store)
    transfer = stock.transfer_ship(transfer=pickup.transfers.get())

    page = staff_in(STORE_MANAGER, store).get("/scan/transfer/", {"number": typed.format(pk=transfer.pk)})

    assert page.status_code == 200
    html = page.content.decode()
    assert f"Transfer T{transfer.pk} from Daventry DC" in html
    assert f"order {pickup.order.number}" in html
    assert re.search(r'<td>TEE-SAGE-S</td><td>[^<]+</td><td class="num">2</td>', html)
    assert re.search(rf'<button type="submit" name="action" value="receive">Receive transfer T{transfer.pk}</button>',
                     html)


def test_a_transfer_number_typed_at_the_counter_opens_the_transfer(store, warehouse, far_tee, stripe_double):
    pickup = ship_to_store_pickup(stripe_double, store)
    transfer = pickup.transfers.get()

    scanned = staff_in(STORE_MANAGER, store).post("/scan/", {"code": f"T{transfer.pk}"})

    assert scanned.status_code == 302
    assert scanned["Location"] == f"/scan/transfer/?store={store.code}&number=T{transfer.pk}"


def test_receiving_a_transfer_by_number_readies_the_pickup_and_asks_where_it_was_shelved(
        store, warehouse, far_tee, stripe_double):
    pickup = ship_to_store_pickup(stripe_double, store)
    transfer = stock.transfer_ship(transfer=pickup.transfers.get())
    assert level(store, far_tee) == (0, 0, 2) and level(warehouse, far_tee) == (3, 0, 0)
    manager = staff_in(STORE_MANAGER, store)

    received = manager.post("/scan/transfer/", {"store": store.code, "number": f"T{transfer.pk}", "action": "receive"})

    assert received.status_code == 302
    assert received["Location"] == f"/scan/transfer/?store={store.code}&received={transfer.pk}"
    transfer.refresh_from_db()
    pickup.refresh_from_db()
    assert transfer.status == Transfer.Status.RECEIVED and transfer.received_by.username == "kim"
    assert pickup.status == Fulfillment.Status.READY
    assert level(store, far_tee) == (2, 2, 0)  # arrived and promised to the order at once
    assert ledger_drift(location=store) == [] and ledger_drift(location=warehouse) == []
    html = manager.get(received["Location"]).content.decode()
    assert f"Transfer T{transfer.pk} received at London Oxford Street." in html
    assert f"Order {pickup.order.number} (Ada) is ready for pickup; the shopper is told." in html
    assert re.search(rf'<label for="shelf">Where did you put order {pickup.order.number}\? Shelf or bin</label>', html)

    shelved = manager.post("/scan/transfer/", {"store": store.code, "action": "shelve", "transfer": transfer.pk,
                                               "fulfillment": pickup.pk, "shelf": "  C 2 "}, follow=True)

    pickup.refresh_from_db()
    assert pickup.shelf == "C 2"
    assert f"Order {pickup.order.number} is on shelf C 2." in shelved.content.decode()


def test_units_counted_per_line_are_what_the_store_receives(store, warehouse, far_tee, stripe_double):
    pickup = ship_to_store_pickup(stripe_double, store)
    transfer = stock.transfer_ship(transfer=pickup.transfers.get())
    line = transfer.lines.get()
    manager = staff_in(STORE_MANAGER, store)

    wrong = manager.post("/scan/transfer/", {"store": store.code, "number": f"T{transfer.pk}", "action": "receive",
                                             f"received-{line.pk}": "one"})
    assert wrong.status_code == 409
    assert "TEE-SAGE-S: give the units that arrived as a whole number, 0 or more." in field_error(
        wrong.content.decode(), f"received-{line.pk}")
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.SHIPPED and level(store, far_tee) == (0, 0, 2)

    short = manager.post("/scan/transfer/", {"store": store.code, "number": f"T{transfer.pk}", "action": "receive",
                                             f"received-{line.pk}": "1"}, follow=True)

    line.refresh_from_db()
    pickup.refresh_from_db()
    assert line.received_quantity == 1
    assert level(store, far_tee) == (1, 1, 0)  # one arrived, and it is promised to the order
    assert pickup.status != Fulfillment.Status.READY
    assert ledger_drift(location=store) == [] and ledger_drift(location=warehouse) == []
    assert (f"Order {pickup.order.number} (Ada) is not ready yet: fewer units arrived than were sent "
            "(TEE-SAGE-S: 1 of 2)") in short.content.decode()


@pytest.mark.parametrize("case", ["unknown", "other_store", "already_received", "draft"])
def test_each_refusal_shows_its_reason_next_to_the_field_and_changes_nothing(
        store, other_store, warehouse, far_tee, stripe_double, case):
    pickup = ship_to_store_pickup(stripe_double, store)
    transfer = pickup.transfers.get()
    if case in ("unknown", "already_received"):
        stock.transfer_ship(transfer=transfer)
    if case == "already_received":
        stock.transfer_receive(transfer=transfer)
    if case == "other_store":
        transfer = stock.transfer_ship(transfer=stock.transfer_create(source=warehouse, destination=other_store,
                                                                      lines=[(far_tee, 1)]))
    number = f"T{transfer.pk + 1000}" if case == "unknown" else f"T{transfer.pk}"
    expected = {
        "unknown": f"No transfer has the number {number}.",
        "other_store": f"Transfer {number} goes to Manchester Arndale, not London Oxford Street",
        "already_received": f"Transfer {number} was already received on",
        "draft": f"Transfer {number} has not been sent yet: Daventry DC still has to ship it.",
    }[case]
    transfer.refresh_from_db()
    before = (transfer.status, StockMovement.objects.count(), Fulfillment.objects.get(pk=pickup.pk).status)
    manager = staff_in(STORE_MANAGER, store)

    looked_up = manager.get("/scan/transfer/", {"number": number})
    posted = manager.post("/scan/transfer/", {"store": store.code, "number": number, "action": "receive"})

    for page in (looked_up, posted):
        assert page.status_code == 409
        html = page.content.decode()
        assert expected in field_error(html, "number")
        assert html.index('id="number"') < html.index('id="number-error"') < html.index("Find the transfer")
        assert 'aria-invalid="true"' in re.search(r'<input[^>]*id="number"[^>]*>', html).group(0)
        assert 'value="receive"' not in html
    transfer.refresh_from_db()
    assert (transfer.status, StockMovement.objects.count(), Fulfillment.objects.get(pk=pickup.pk).status) == before


def test_a_role_that_cannot_receive_stock_is_refused_politely(store, warehouse, far_tee, stripe_double):
    pickup = ship_to_store_pickup(stripe_double, store)
    transfer = stock.transfer_ship(transfer=pickup.transfers.get())
    staff = staff_in(STORE_STAFF, store)

    shown = staff.get("/scan/transfer/", {"number": f"T{transfer.pk}"}).content.decode()
    refused = staff.post("/scan/transfer/", {"store": store.code, "number": f"T{transfer.pk}", "action": "receive"})

    assert "Your role cannot receive transfers: ask a store manager to receive it." in shown
    assert 'value="receive"' not in shown
    assert refused.status_code == 403
    assert "Your role cannot receive transfers" in field_error(refused.content.decode(), "number")
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.SHIPPED and level(store, far_tee) == (0, 0, 2)


def test_the_transfer_page_needs_the_scan_station_permission(store):
    user = role_assign(user=UserFactory(username="merch"), role=STORE_STAFF, stores=[store])
    user.groups.clear()
    user.user_permissions.add(Permission.objects.get(codename="change_transfer"))

    assert browser_of(user).get("/scan/transfer/").status_code == 403
    assert browser_of(user).get("/scan/here-now/", {"store": store.code}).status_code == 403


# The pick list and marking ready ------------------------------------------------------------------------------


def test_the_pick_list_shows_lines_coming_on_a_transfer_as_nothing_to_pick(shelf, store, warehouse, stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=warehouse, variant=tee, quantity=5)
    pickup = ship_to_store_pickup(stripe_double, store, sku="TEE-NAVY-M", quantity=11)  # 10 here, 1 from Daventry
    transfer = pickup.transfers.get()
    picker = staff_in(STORE_STAFF, store)

    before = picker.get(f"/scan/pick-list/{store.code}/").content.decode()
    stock.transfer_ship(transfer=transfer)
    after = picker.get(f"/scan/pick-list/{store.code}/").content.decode()

    to_pick = re.findall(r'data-order="(\w+)" aria-label="Picked (\d+) × ', before)
    assert to_pick == [(pickup.order.number, "10")]  # the tee coming from Daventry is not among them
    coming = re.search(r'<tbody class="coming">(.*?)</tbody>', before, re.S).group(1)
    assert re.search(rf"<td>TEE-NAVY-M</td><td>[^<]+</td><td>1</td><td>{pickup.order.number}</td>", coming)
    assert f"Coming from Daventry DC on transfer T{transfer.pk} (not sent yet) — nothing to pick" in coming
    assert f"Coming from Daventry DC on transfer T{transfer.pk} (on its way) — nothing to pick" in after
    assert f"Waiting for transfer T{transfer.pk} from Daventry DC (not sent yet)" in before


def test_marking_ready_with_a_shelf_from_the_pick_list_stores_the_shelf(shelf, store, stripe_double):
    pickup = pickup_order(stripe_double, store)
    picker = staff_in(STORE_STAFF, store)
    pick_list = f"/scan/pick-list/{store.code}/"
    form = picker.get(pick_list).content.decode()
    assert re.search(rf'<label for="ready-shelf-{pickup.pk}">Shelf \(optional\)</label>', form)

    done = picker.post(f"/admin/fulfillment/fulfillment/{pickup.pk}/step/ready/", {"shelf": "A1", "next": pick_list},
                       follow=True)

    pickup.refresh_from_db()
    assert (pickup.status, pickup.shelf) == (Fulfillment.Status.READY, "A1")
    assert done.redirect_chain[-1][0] == pick_list
    assert (f"{pickup.order.number}: ready for pickup with code {pickup.pickup_code}; the shopper is told. "
            "On shelf A1.") in done.content.decode()


def test_a_shelf_too_long_is_refused_and_the_pickup_is_not_marked_ready(shelf, store, stripe_double):
    pickup = pickup_order(stripe_double, store)

    done = staff_in(STORE_STAFF, store).post(f"/admin/fulfillment/fulfillment/{pickup.pk}/step/ready/",
                                             {"shelf": "X" * 21}, follow=True)

    pickup.refresh_from_db()
    assert (pickup.status, pickup.shelf) == (Fulfillment.Status.NEW, "")
    assert "The shelf is too long (20 characters at most)." in done.content.decode()


def test_marking_ready_while_its_transfer_is_coming_says_so_in_words_on_the_fulfilment_page(
        store, warehouse, far_tee, stripe_double):
    pickup = ship_to_store_pickup(stripe_double, store)
    transfer = stock.transfer_ship(transfer=pickup.transfers.get())
    staff = staff_in(STORE_STAFF, store)
    page = f"/admin/fulfillment/fulfillment/{pickup.pk}/change/"
    assert 'id="ready-shelf"' in staff.get(page).content.decode()

    done = staff.post(f"/admin/fulfillment/fulfillment/{pickup.pk}/step/ready/", {"shelf": "D4"}, follow=True)

    assert done.status_code == 200
    html = done.content.decode()
    said = (f"{pickup.order.number}: Picked. It becomes ready by itself, and the shopper is told, when transfer "
            f"T{transfer.pk} from Daventry DC arrives.")
    assert re.search(rf'<li class="success">{re.escape(said)}</li>', html)
    assert f"Coming from Daventry DC on transfer T{transfer.pk} (on its way)" in html
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.PICKING and pickup.picked_at is not None and pickup.shelf == "D4"

    stock.transfer_receive(transfer=transfer)
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY and pickup.shelf == "D4"
