"""Orders races no other test covers, on PostgreSQL with one connection per thread and the local Stripe double:
two shoppers taking a voucher's last use at once, and one Stripe webhook event delivered twice at once.

Each race is made certain rather than likely: the threads are held just before the step they race for (after
their card is authorised, after the delivery's signature is checked), outside every lock, and let go together.
"""
import threading
from collections import Counter
from decimal import Decimal

import pytest

from customers.models import Cart
from inventory.models import StockLevel
from inventory.selectors import ledger_drift
from orders import stripe_gateway
from orders.models import CheckoutAttempt, Order, OrderEvent, Payment, StripeEvent, Voucher, VoucherRedemption
from tests.customers.conftest import app_client, register
from tests.factories import card
from tests.inventory.test_concurrency import run_at_once
from tests.orders.test_checkout import checkout, fill
from tests.orders.test_concurrency import intents_at_stripe
from tests.orders.test_payments import place_order
from tests.orders.test_webhooks import deliver, intent_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def held_until_all_arrive(monkeypatch, module, name: str, parties: int = 2) -> None:
    """Make `module.name`, once it has returned, wait until `parties` threads have got that far, so they all
    leave it at the same instant and meet at whatever comes next. It waits outside any lock it is not given."""
    original = getattr(module, name)
    meeting = threading.Barrier(parties, timeout=10)

    def then_wait(*args, **kwargs):
        result = original(*args, **kwargs)
        meeting.wait()
        return result

    monkeypatch.setattr(module, name, then_wait)


def crashes(responses: list) -> list:
    """What a user would see as a crash: an exception out of the view, or a 5xx."""
    return [r for r in responses if isinstance(r, Exception) or r.status_code >= 500]


# A voucher's last use -------------------------------------------------------------------------


@pytest.fixture
def last_use_left(db) -> Voucher:
    """£5 off, limited to 100 uses across everyone, 99 of them taken."""
    return Voucher.objects.create(code="LASTONE", kind="fixed", value=Decimal("5.00"), max_uses=100, uses=99)


def test_two_shoppers_taking_a_vouchers_last_use_at_once_one_gets_it_and_the_other_is_refused_and_not_charged(
        shelf, store, last_use_left, stripe_double, monkeypatch):
    tee, _ = shelf
    shoppers = [app_client(register(email)) for email in ("ada@example.com", "grace@example.com")]
    for shopper in shoppers:
        fill(shopper, ("TEE-NAVY-M", 1))
    cards = [card(stripe_double) for _ in shoppers]
    intents_before = intents_at_stripe(stripe_double)
    # Both have quoted with the code showing one use left and both cards said yes: they now reach the
    # voucher's re-check in the same instant.
    held_until_all_arrive(monkeypatch, stripe_gateway, "authorise")

    responses = run_at_once(2, lambda i: checkout(
        shoppers[i], fulfilment="pickup", store=store.code, payment_method="card", payment_method_id=cards[i],
        voucher="lastone"))

    assert not crashes(responses), responses
    assert sorted(r.status_code for r in responses) == [201, 422], [r.json() for r in responses]
    won = next(r.json() for r in responses if r.status_code == 201)
    refused = next(r.json() for r in responses if r.status_code == 422)
    assert (won["subtotal_amount"], won["discount_amount"], won["total_amount"]) == ("20.00", "5.00", "15.00")
    assert (refused["code"], refused["detail"]["reason"]) == ("voucher_refused", "used_up")
    assert refused["message"] == "LASTONE has been used up."

    last_use_left.refresh_from_db()
    assert last_use_left.uses == 100
    order = Order.objects.get()
    assert order.number == won["number"] and order.voucher == last_use_left
    assert list(VoucherRedemption.objects.values_list("order__number", flat=True)) == [won["number"]]

    new_intents = {pk: status for pk, status in intents_at_stripe(stripe_double).items() if pk not in intents_before}
    assert new_intents.pop(order.payment.stripe_payment_intent) == "requires_capture"
    assert order.payment.authorised_amount == Decimal("15.00")
    assert list(new_intents.values()) == ["canceled"], "the refused shopper's card hold was not let go"

    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.on_hand, level.committed, level.reserved) == (10, 1, 0)
    assert ledger_drift(location=store) == []
    assert not CheckoutAttempt.objects.filter(order__isnull=True).exists(), "the refused checkout kept its key"
    loser = shoppers[[r.status_code for r in responses].index(422)]
    basket = loser.get("/api/v1/cart/").json()
    assert [(line["sku"], line["quantity"]) for line in basket["lines"]] == [("TEE-NAVY-M", 1)]
    assert Cart.objects.filter(status=Cart.Status.OPEN).count() == 1


# One webhook event delivered twice at once ----------------------------------------------------


@pytest.fixture
def authorised_pickup(shelf, store, stripe_double) -> Payment:
    """The card payment of a pickup order for 85.00, authorised at the Stripe double and not yet captured."""
    return place_order(app_client(register()), store, stripe_double).payment


def test_one_webhook_event_delivered_twice_at_once_is_applied_once_and_both_deliveries_get_200(
        authorised_pickup, monkeypatch):
    """The bank let the pickup's card authorisation lapse and Stripe sends the cancellation twice at once: the
    pickup is paid at the counter instead, recorded once; the duplicate is told it was applied before."""
    payment = authorised_pickup
    payload = intent_event("payment_intent.canceled", payment.stripe_payment_intent)
    events_before = OrderEvent.objects.filter(order=payment.order).count()
    # Both signatures are checked: both deliveries now write the event's row in the same instant.
    held_until_all_arrive(monkeypatch, stripe_gateway, "verify_webhook")

    responses = run_at_once(2, lambda i: deliver(payload))

    assert not crashes(responses), responses
    assert [r.status_code for r in responses] == [200, 200]
    assert Counter(r.json()["applied"] for r in responses) == {True: 1, False: 1}
    assert StripeEvent.objects.count() == 1
    payment.refresh_from_db()
    assert (payment.method, payment.status) == (Payment.Method.PAY_AT_PICKUP, Payment.Status.PENDING)
    assert (payment.captured_amount, payment.refunded_amount) == (Decimal("0.00"), Decimal("0.00"))
    noted = OrderEvent.objects.filter(order=payment.order).order_by("id")[events_before:]
    assert ["take payment at the counter" in event.note for event in noted] == [True]
