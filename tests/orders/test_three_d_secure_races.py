"""3-D Secure checkouts on PostgreSQL with real concurrent connections and the local Stripe double: the
shopper's page coming back and Stripe's webhook racing for one authorised intent record one order; and after
many shoppers at once, each with a card that passes, asks the bank, fails the bank's check, is abandoned or is
declined, every authorised intent at Stripe belongs to exactly one recorded order and every recorded card
order has an authorised intent (nothing charged without an order, no order without its money)."""
import random
import uuid
from collections import Counter

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from inventory.models import Reservation, StockLevel
from inventory.selectors import ledger_drift
from orders.models import CheckoutAttempt, Order, Payment
from orders.services import checkouts_settle_unfinished
from tests.factories import PriceFactory, VariantFactory, card
from tests.inventory.test_concurrency import run_at_once
from tests.orders.test_concurrency import intents_at_stripe
from tests.orders.test_webhooks import deliver, stripe_event
from tests.storefront.helpers import idempotency_key
from tests.storefront.test_three_d_secure import bank_check, come_back, shopper_answers

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SKU = "TEE-3DS"


@pytest.fixture
def tees(store):
    from catalog.models import Channel, Product
    from inventory import services as stock

    tee = VariantFactory(sku=SKU)
    Product.objects.filter(pk=tee.product_id).update(slug="tee-3ds")
    for channel in Channel.objects.all():
        PriceFactory(variant=tee, channel=channel, amount="20.00")
    stock.stock_receive(location=store, variant=tee, quantity=100)
    return tee


def at_checkout() -> tuple[Client, str]:
    shopper = Client()
    shopper.post("/shop/tee-3ds/", {"sku": SKU, "quantity": 1})
    return shopper, idempotency_key(shopper.get("/checkout/"))


def place(shopper: Client, key: str, store, stripe_double, number: str):
    return shopper.post("/checkout/", {
        "fulfilment": "pickup", "store": store.code, "email": f"{uuid.uuid4().hex[:8]}@example.com",
        "payment_method": "card", "payment_method_id": card(stripe_double, number), "idempotency_key": key})


def capturable(check: dict, stripe_double) -> str:
    intent = stripe_double.v1.payment_intents.retrieve(check["client-secret"].split("_secret_")[0])
    return stripe_event("payment_intent.amount_capturable_updated", {
        "id": intent.id, "object": "payment_intent", "amount": intent.amount, "amount_capturable": intent.amount,
        "currency": "gbp", "status": "requires_capture", "client_secret": intent.client_secret})


def test_the_page_coming_back_and_the_webhook_racing_record_one_order(store, tees, stripe_double):
    shopper, key = at_checkout()
    check = bank_check(place(shopper, key, store, stripe_double, "4000002760003184"))
    assert shopper_answers(check, confirms=True).status_code == 200
    events = [capturable(check, stripe_double) for _ in range(4)]  # Stripe retrying: each its own event id

    def finish(i: int):
        if i % 2:
            return deliver(events[i // 2]).status_code
        return come_back(Client(), check).status_code

    answers = run_at_once(8, finish)

    assert not [a for a in answers if isinstance(a, Exception)], answers
    assert set(answers) <= {200, 302}, answers
    order = Order.objects.get()
    assert CheckoutAttempt.objects.get().order == order
    level = StockLevel.objects.get(location=store, variant=tees)
    assert (level.reserved, level.committed) == (0, 1)
    assert order.payment.stripe_payment_intent == check["client-secret"].split("_secret_")[0]
    assert order.payment.authorised_amount == order.total_amount


# What each shopper's card does: (card number, how the shopper answers the bank's check, if it asks).
KINDS = [("4242424242424242", None), ("4000002760003184", True), ("4000002760003184", False),
         ("4000002760003184", "abandon"), ("4000000000000341", None), ("4000008260003178", True)]


def test_after_many_mixed_checkouts_every_authorised_intent_has_its_order_and_no_order_lacks_one(store, tees,
                                                                                                stripe_double):
    before = set(intents_at_stripe(stripe_double))
    kinds = [KINDS[i % len(KINDS)] for i in range(30)]
    random.Random(7).shuffle(kinds)
    shoppers = [at_checkout() for _ in kinds]

    def shop(i: int) -> str:
        (shopper, key), (number, answer) = shoppers[i], kinds[i]
        placed = place(shopper, key, store, stripe_double, number)
        if placed.status_code == 302:
            return "placed"
        if placed.status_code != 200:
            return f"refused {placed.status_code}"
        check = bank_check(placed)
        if answer == "abandon":
            return "abandoned"
        shopper_answers(check, confirms=answer)
        landed = come_back(shopper, check)
        return "placed" if landed.url.startswith("/orders/") else "refused after the check"

    outcomes = run_at_once(len(kinds), shop)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    # The abandoned checks lapse with their holds, and the sweep lets them go.
    past = timezone.now() - settings.CHECKOUT_CLAIM_LEASE
    CheckoutAttempt.objects.filter(order__isnull=True).update(authenticate_by=past)
    Reservation.objects.filter(status=Reservation.Status.ACTIVE).update(expires_at=past)
    checkouts_settle_unfinished()

    expected = Counter("placed" if (n, a) in (KINDS[0], KINDS[1]) else
                       "abandoned" if a == "abandon" else
                       "refused 402" if n == "4000000000000341" else "refused after the check" for n, a in kinds)
    assert Counter(outcomes) == expected
    intents = {i: s for i, s in intents_at_stripe(stripe_double).items() if i not in before}
    authorised = {i for i, s in intents.items() if s in ("requires_capture", "succeeded")}
    recorded = set(Payment.objects.filter(method=Payment.Method.CARD).values_list("stripe_payment_intent", flat=True))
    assert authorised == recorded
    assert len(recorded) == Order.objects.count() == expected["placed"]
    assert set(intents.values()) <= {"requires_capture", "canceled", "requires_payment_method"}
    assert not CheckoutAttempt.objects.filter(order__isnull=True).exists()
    level = StockLevel.objects.get(location=store, variant=tees)
    assert (level.reserved, level.committed) == (0, expected["placed"])
    assert ledger_drift(location=store) == []
