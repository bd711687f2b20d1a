"""Checkout under load through the HTTP API, on PostgreSQL with real concurrent connections and the
local Stripe double: the last units go to exactly as many shoppers as there are units, and a doubled
request with one Idempotency-Key places one order.

Each thread is one shopper with its own test client, so its own database connection. Each test
commits its data (transaction=True) so the other connections see it.
"""
import uuid
from collections import Counter

import pytest
from rest_framework.test import APIClient

from catalog.models import Channel
from inventory import services as stock
from inventory.models import Reservation, StockLevel
from inventory.selectors import ledger_drift
from notifications.models import OutboxMessage
from orders.models import CheckoutAttempt, Order, Payment
from tests.factories import PriceFactory, VariantFactory, card
from tests.inventory.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SKU = "TEE-LAST-10"


@pytest.fixture
def last_ten(store):
    """A tee priced on every channel with exactly 10 units at the store and no safety stock."""
    tee = VariantFactory(sku=SKU)
    for channel in Channel.objects.all():
        PriceFactory(variant=tee, channel=channel, amount="20.00")
    stock.stock_receive(location=store, variant=tee, quantity=10)
    return tee


def guest_with_one_in_the_cart() -> tuple[APIClient, str]:
    guest = APIClient()
    added = guest.post("/api/v1/cart/lines/", {"sku": SKU, "quantity": 1}, format="json")
    assert added.status_code == 201, added.json()
    token = added.json()["token"]
    guest.credentials(HTTP_X_CART_TOKEN=token)
    return guest, token


def intents_at_stripe(stripe_double) -> dict[str, str]:
    """Every PaymentIntent localstripe holds, by id, with its status."""
    listed = stripe_double.v1.payment_intents.list(params={"limit": 100})
    return {intent.id: intent.status for intent in listed.auto_paging_iter()}


def test_fifty_shoppers_for_ten_units_get_ten_orders_and_forty_clear_refusals(store, last_ten, stripe_double):
    shoppers = [guest_with_one_in_the_cart()[0] for _ in range(50)]
    cards = [card(stripe_double) for _ in shoppers]
    intents_before = intents_at_stripe(stripe_double)

    def check_out(i: int):
        return shoppers[i].post(
            "/api/v1/checkout/",
            {"fulfilment": "pickup", "store": store.code, "payment_method": "card", "payment_method_id": cards[i],
             "email": f"shopper{i}@example.com"},
            format="json", headers={"Idempotency-Key": str(uuid.uuid4())},
        )

    responses = run_at_once(50, check_out)

    crashed = [r for r in responses if isinstance(r, Exception)]
    assert not crashed, f"{len(crashed)} checkouts raised, e.g. {crashed[0]!r}"
    assert Counter(r.status_code for r in responses) == {201: 10, 409: 40}
    refusals = [r.json() for r in responses if r.status_code == 409]
    assert {r["code"] for r in refusals} == {"insufficient_stock"}
    assert all(SKU in r["message"] for r in refusals), refusals[0]
    assert all(r["detail"]["lines"] == [{"sku": SKU, "location": store.code, "wanted": 1, "available": 0}]
               for r in refusals), refusals[0]
    numbers = {r.json()["number"] for r in responses if r.status_code == 201}
    assert len(numbers) == 10 and set(Order.objects.values_list("number", flat=True)) == numbers
    level = StockLevel.objects.get(location=store, variant=last_ten)
    assert (level.on_hand, level.committed, level.reserved) == (10, 10, 0)
    assert Reservation.objects.filter(status=Reservation.Status.ACTIVE).count() == 0
    assert ledger_drift(location=store) == []
    assert not CheckoutAttempt.objects.filter(order__isnull=True).exists(), "a refused checkout kept its key"

    new_intents = {pk: status for pk, status in intents_at_stripe(stripe_double).items() if pk not in intents_before}
    paid_with = set(Payment.objects.values_list("stripe_payment_intent", flat=True))
    assert set(new_intents) == paid_with, "an authorisation at Stripe belongs to no order"
    assert Counter(new_intents.values()) == {"requires_capture": 10}


def test_one_checkout_sent_eight_times_at_once_places_one_order(store, last_ten, stripe_double):
    _, token = guest_with_one_in_the_cart()
    key = str(uuid.uuid4())
    body = {"fulfilment": "pickup", "store": store.code, "payment_method": "card",
            "payment_method_id": card(stripe_double), "email": "retry@example.com"}
    tabs = []
    for _ in range(8):  # the same shopper's retries: same cart, same key, same body
        tab = APIClient()
        tab.credentials(HTTP_X_CART_TOKEN=token)
        tabs.append(tab)
    intents_before = intents_at_stripe(stripe_double)

    responses = run_at_once(
        8, lambda i: tabs[i].post("/api/v1/checkout/", body, format="json", headers={"Idempotency-Key": key})
    )

    crashed = [r for r in responses if isinstance(r, Exception)]
    assert not crashed, f"{len(crashed)} retries raised, e.g. {crashed[0]!r}"
    assert Order.objects.count() == 1, [(r.status_code, r.json()) for r in responses]
    order = Order.objects.get()
    placed = [r for r in responses if r.status_code in (200, 201)]
    waiting = [r for r in responses if r.status_code == 409]
    assert len(placed) + len(waiting) == 8, [(r.status_code, r.json()) for r in responses]
    assert [r.status_code for r in placed].count(201) >= 1
    assert {r.json()["number"] for r in placed} == {order.number}
    assert all(r.json()["code"] == "checkout_in_progress" and "retry shortly" in r.json()["message"]
               for r in waiting), [r.json() for r in waiting]
    level = StockLevel.objects.get(location=store, variant=last_ten)
    assert (level.on_hand, level.committed, level.reserved) == (10, 1, 0)
    assert ledger_drift(location=store) == []
    new_intents = {pk: status for pk, status in intents_at_stripe(stripe_double).items() if pk not in intents_before}
    assert list(new_intents.values()) == ["requires_capture"]

    later = APIClient()
    later.credentials(HTTP_X_CART_TOKEN=token)
    retried = later.post("/api/v1/checkout/", body, format="json", headers={"Idempotency-Key": key})

    assert retried.status_code == 200 and retried.json()["number"] == order.number
    assert Order.objects.count() == 1


def test_fifty_shoppers_paying_at_pickup_for_ten_units_get_ten_orders_in_one_transaction_each(store, last_ten):
    """Pay at pickup holds nothing: each checkout commits its unit with the guarded UPDATE in the transaction
    that records the order, so the race is decided there."""
    shoppers = [guest_with_one_in_the_cart()[0] for _ in range(50)]

    responses = run_at_once(50, lambda i: shoppers[i].post(
        "/api/v1/checkout/", {"fulfilment": "pickup", "store": store.code, "payment_method": "pay_at_pickup",
                              "email": f"shopper{i}@example.com"},
        format="json", headers={"Idempotency-Key": str(uuid.uuid4())}))

    crashed = [r for r in responses if isinstance(r, Exception)]
    assert not crashed, f"{len(crashed)} checkouts raised, e.g. {crashed[0]!r}"
    assert Counter(r.status_code for r in responses) == {201: 10, 409: 40}
    refusals = [r.json() for r in responses if r.status_code == 409]
    assert all(r["code"] == "insufficient_stock" and r["detail"]["lines"] == [
        {"sku": SKU, "location": store.code, "wanted": 1, "available": 0}] for r in refusals), refusals[0]
    numbers = {r.json()["number"] for r in responses if r.status_code == 201}
    assert set(Order.objects.values_list("number", flat=True)) == numbers and len(numbers) == 10
    level = StockLevel.objects.get(location=store, variant=last_ten)
    assert (level.on_hand, level.committed, level.reserved) == (10, 10, 0)
    assert not Reservation.objects.exists()  # nothing was held on the way
    assert ledger_drift(location=store) == []
    assert CheckoutAttempt.objects.filter(order__isnull=False).count() == 10
    assert not CheckoutAttempt.objects.filter(order__isnull=True).exists(), "a refused checkout kept its key"
    assert sorted(Order.objects.values_list("fulfillments__status", flat=True)) == ["new"] * 10
    assert OutboxMessage.objects.filter(template="order_confirmation").count() == 10


def test_one_pay_at_pickup_checkout_sent_eight_times_at_once_places_one_order_and_answers_it_to_all(store,
                                                                                                   last_ten):
    _, token = guest_with_one_in_the_cart()
    key = str(uuid.uuid4())
    body = {"fulfilment": "pickup", "store": store.code, "payment_method": "pay_at_pickup", "email": "r@example.com"}
    tabs = []
    for _ in range(8):
        tab = APIClient()
        tab.credentials(HTTP_X_CART_TOKEN=token)
        tabs.append(tab)

    responses = run_at_once(
        8, lambda i: tabs[i].post("/api/v1/checkout/", body, format="json", headers={"Idempotency-Key": key}))

    crashed = [r for r in responses if isinstance(r, Exception)]
    assert not crashed, f"{len(crashed)} retries raised, e.g. {crashed[0]!r}"
    order = Order.objects.get()
    # The claim is written with its order: a retry waits for it and answers that order, never "in progress".
    assert Counter(r.status_code for r in responses) == {201: 1, 200: 7}, [r.json() for r in responses]
    assert {r.json()["number"] for r in responses} == {order.number}
    level = StockLevel.objects.get(location=store, variant=last_ten)
    assert (level.on_hand, level.committed, level.reserved) == (10, 1, 0)
    assert ledger_drift(location=store) == []
    assert OutboxMessage.objects.filter(template="order_confirmation", reference=f"order:{order.number}").count() == 1
