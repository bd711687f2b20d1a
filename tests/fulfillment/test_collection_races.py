"""Collection under load, on PostgreSQL with one connection per shopper or member of staff: a collection window is
never booked beyond its capacity however many checkouts book it at once (the refused cards are not charged);
"I'm here" said twice at once counts once; a ship-to-store transfer sent or received while its order is being
cancelled keeps the ledger true whichever comes first."""
from datetime import time, timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fulfillment.models import Fulfillment, FulfillmentEvent
from inventory import services as stock
from inventory.models import WEEKDAYS, CollectionWindow, StockLevel
from inventory.selectors import ledger_drift
from orders.models import Order, Payment
from orders.services import order_cancel
from tests.customers.conftest import app_client, register
from tests.factories import card
from tests.fulfillment.test_pickup import ready_pickup
from tests.fulfillment.test_ship_to_store import far_store, level, tee  # noqa: F401  (fixtures)
from tests.inventory.test_concurrency import run_at_once
from tests.journeys.test_pickup_and_returns import order_from_the_app, staff_of
from tests.orders.test_checkout import checkout
from tests.orders.test_concurrency import intents_at_stripe
from tests.orders.test_races import crashes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def guest_with_a_tee() -> APIClient:
    guest = APIClient()
    added = guest.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 1}, format="json")
    assert added.status_code == 201, added.json()
    guest.credentials(HTTP_X_CART_TOKEN=added.json()["token"])
    return guest


def test_twelve_checkouts_at_once_for_a_window_with_three_places_book_three_and_charge_only_those(
        shelf, store, stripe_double):
    tee, _ = shelf
    tomorrow = timezone.localdate() + timedelta(days=1)
    window = CollectionWindow.objects.create(location=store, weekday=WEEKDAYS[tomorrow.weekday()],
                                             starts=time(10), ends=time(12), capacity=3)
    shoppers = [guest_with_a_tee() for _ in range(12)]  # guests: twelve sign-ins would be throttled
    cards = [card(stripe_double) for _ in range(6)]  # half pay by card, half when they collect
    intents_before = intents_at_stripe(stripe_double)

    def book(i: int):
        paying = {"payment_method": "card", "payment_method_id": cards[i]} if i < 6 else {
            "payment_method": "pay_at_pickup"}
        return checkout(shoppers[i], fulfilment="pickup", store=store.code, email=f"shopper{i}@example.com",
                        collect_window=f"{window.pk}:{tomorrow.isoformat()}", **paying)

    responses = run_at_once(12, book)

    assert not crashes(responses), [getattr(r, "content", r) for r in responses]
    placed = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(placed) == 3, [r.json() for r in responses]
    assert {(r.status_code, r.json()["detail"].get("field")) for r in refused} == {(422, "collect_window")}
    assert all("fully booked" in r.json()["message"] for r in refused)
    booked = Order.objects.filter(collect_window=window, collect_on=tomorrow)
    assert booked.count() == Order.objects.count() == 3
    level_row = StockLevel.objects.get(location=store, variant=tee)
    assert (level_row.committed, level_row.reserved) == (3, 0)  # refused checkouts hold nothing
    assert ledger_drift(location=store) == []
    # A refused card is released, never charged: only the booked card orders' authorisations stand.
    new_intents = {pk: status for pk, status in intents_at_stripe(stripe_double).items() if pk not in intents_before}
    kept = set(Payment.objects.filter(method="card").values_list("stripe_payment_intent", flat=True))
    assert all(status == "canceled" for pk, status in new_intents.items() if pk not in kept), new_intents
    assert all(new_intents[pk] == "requires_capture" for pk in kept)


def test_im_here_sent_twice_at_once_counts_once(shelf, store, stripe_double):
    ada = register("ada@example.com")
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store, phone=app_client(ada))
    phones = [app_client(ada), app_client(ada)]

    responses = run_at_once(2, lambda i: phones[i].post(f"/api/v1/orders/{pickup.order.number}/here/",
                                                        {"bay": str(i + 1), "car": "Blue Golf"}, format="json"))

    assert [r.status_code for r in responses] == [200, 200], [getattr(r, "content", r) for r in responses]
    pickup.refresh_from_db()
    assert pickup.arrived_at is not None and pickup.arrival_bay in {"1", "2"}
    assert {r.json()["arrival_bay"] for r in responses} == {pickup.arrival_bay}  # both answered the one arrival
    assert FulfillmentEvent.objects.filter(fulfillment=pickup, note__startswith="shopper is here").count() == 1


@pytest.mark.parametrize("step", ["ship", "receive"])
def test_a_ship_to_store_transfer_moving_while_its_order_is_cancelled_keeps_the_ledger_true(
        step, far_store, warehouse, tee, stripe_double):  # noqa: F811
    order = order_from_the_app(app_client(register()), stripe_double, fulfilment="pickup", store=far_store.code)
    placed = Order.objects.get(number=order["number"])
    transfer = Fulfillment.objects.get(order=placed).transfers.get()
    if step == "receive":
        stock.transfer_ship(transfer=transfer)
    move = stock.transfer_ship if step == "ship" else stock.transfer_receive

    results = run_at_once(2, lambda i: move(transfer=transfer) if i == 0 else order_cancel(order=placed))

    assert not [r for r in results if isinstance(r, Exception)], results
    transfer.refresh_from_db()
    placed.refresh_from_db()
    assert placed.status == Order.Status.CANCELLED
    # Whichever came first, nothing stays promised: the units are the warehouse's again (a draft transfer
    # dropped), or they travel and become the store's own stock.
    warehouse_level, store_level = level(warehouse, tee), level(far_store, tee)
    assert warehouse_level[1] == 0 and store_level[1] == 0
    if transfer.status == "cancelled":
        assert warehouse_level == (5, 0, 0) and store_level == (0, 0, 0)
    else:
        assert warehouse_level == (3, 0, 0)
        assert store_level == ((2, 0, 0) if transfer.status == "received" else (0, 0, 2))
    assert ledger_drift(location=warehouse) == [] and ledger_drift(location=far_store) == []
