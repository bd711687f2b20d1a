"""Checkout and payment paths no other test ran, against the local Stripe double: a voucher changed mid-checkout,
cancelling what has left, capturing a voided payment, voids that fail, and Stripe refusing a request."""
import logging
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import stripe
from django.utils import timezone

from backoffice.roles import STORE_MANAGER
from core.exceptions import InvalidTransition
from customers.models import Cart
from fulfillment import services as fulfilment
from fulfillment.models import Fulfillment
from inventory.models import StockLevel
from orders import services, stripe_gateway
from orders.exceptions import PaymentProviderError
from orders.models import CheckoutAttempt, Order, Payment, Refund, StrayAuthorisation, Voucher, VoucherRedemption
from orders.stripe_double import free_port
from tests.backoffice.test_store_day import signed_in, text
from tests.customers.conftest import app_client, register
from tests.factories import card
from tests.fulfillment.test_ship_and_returns import NEAR_LONDON, send
from tests.fulfillment.test_station import pickup_order, ready
from tests.journeys.test_pickup_and_returns import staff_of
from tests.orders.test_checkout import checkout, fill
from tests.orders.test_payments import place_order, received_at_stripe
from tests.orders.test_three_d_secure_api import NEEDS_CHECK, bank_answers, finish

pytestmark = pytest.mark.django_db

TWO_TEES = ("TEE-NAVY-M", 2)  # 40.00; with TENOFF, 30.00


@pytest.fixture
def shopper(db):
    return app_client(register())


@pytest.fixture
def tenoff(db) -> Voucher:
    """10.00 off, used 3 times of 5 so far."""
    voucher = Voucher.objects.create(code="TENOFF", kind="fixed", value=Decimal("10.00"), max_uses=5)
    Voucher.objects.filter(pk=voucher.pk).update(uses=3)
    return Voucher.objects.get(pk=voucher.pk)


def pickup_by_card(store, stripe_double, number="4242424242424242", **more) -> dict:
    return {"fulfilment": "pickup", "store": store.code, "payment_method": "card",
            "payment_method_id": card(stripe_double, number), **more}


def levels(location) -> list[tuple]:
    return list(StockLevel.objects.filter(location=location).order_by("variant_id")
                .values_list("variant__sku", "on_hand", "committed", "reserved"))


def while_the_card_is_asked(monkeypatch, then) -> list[str]:
    """Stripe authorises the card, then `then()` runs (staff editing the voucher in the back office at that
    moment): after the checkout was quoted, before its order is recorded. Returns the intents asked for."""
    asked, real = [], stripe_gateway.authorise

    def authorise(**kwargs):
        intent = real(**kwargs)
        asked.append(intent.id)
        then()
        return intent

    monkeypatch.setattr(stripe_gateway, "authorise", authorise)
    return asked


def edit(voucher: Voucher, **fields) -> None:
    """Save the voucher with these fields changed, as its admin form does."""
    for name, value in fields.items():
        setattr(voucher, name, value)
    voucher.save()


def assert_nothing_placed_and_the_card_let_go(shopper, store, stripe_double, asked):
    assert not Order.objects.exists() and not Payment.objects.exists()
    assert not VoucherRedemption.objects.exists()
    assert Voucher.objects.filter(code="TENOFF").values_list("uses", flat=True).first() in (3, None)  # (None: deleted)
    assert not CheckoutAttempt.objects.exists()  # the key is free for a corrected checkout
    assert levels(store) == [("TEE-NAVY-M", 10, 0, 0), ("HOOD-GREY-L", 3, 0, 0)]
    assert [stripe_double.v1.payment_intents.retrieve(i).status for i in asked] == ["canceled"]
    assert shopper.get("/api/v1/cart/").json()["item_count"] == 2  # the basket is as it was, to try again


# A voucher changed while the card is asked ---------------------------------------------------------


@pytest.mark.parametrize("change, code, reason, message", [
    ({"value": Decimal("15.00")}, "checkout_refused", None, "TENOFF changed while you checked out; review your total."),
    ({"valid_until": timezone.now() - timedelta(minutes=1)}, "voucher_refused", "expired",
     f"TENOFF expired on {timezone.now() - timedelta(minutes=1):%d %b %Y}."),
    ({"max_uses": 3}, "voucher_refused", "used_up", "TENOFF has been used up."),
    ({"is_active": False}, "voucher_refused", "unknown", "'TENOFF' is not a valid code."),
], ids=["value", "end-date", "use-limit", "switched-off"])
def test_a_voucher_changed_while_the_card_is_asked_is_refused_saying_why_and_the_card_is_let_go(
    shopper, shelf, store, stripe_double, tenoff, monkeypatch, change, code, reason, message,
):
    fill(shopper, TWO_TEES)
    asked = while_the_card_is_asked(monkeypatch, lambda: edit(tenoff, **change))

    refused = checkout(shopper, **pickup_by_card(store, stripe_double, voucher="tenoff"))

    assert refused.status_code == 422, refused.json()
    assert refused.json() == {"code": code, "message": message,
                              "detail": {"field": "voucher", **({"reason": reason} if reason else {})}}
    assert_nothing_placed_and_the_card_let_go(shopper, store, stripe_double, asked)


def test_a_voucher_deleted_while_the_card_is_asked_is_refused_as_unknown_and_the_card_is_let_go(
    shopper, shelf, store, stripe_double, tenoff, monkeypatch,
):
    fill(shopper, TWO_TEES)
    asked = while_the_card_is_asked(monkeypatch, lambda: Voucher.objects.filter(pk=tenoff.pk).delete())

    refused = checkout(shopper, **pickup_by_card(store, stripe_double, voucher="tenoff"))

    assert refused.status_code == 422, refused.json()
    assert refused.json() == {"code": "voucher_refused", "message": "'TENOFF' is not a valid code.",
                              "detail": {"field": "voucher", "reason": "unknown"}}
    assert_nothing_placed_and_the_card_let_go(shopper, store, stripe_double, asked)


def test_a_voucher_edit_that_leaves_the_discount_as_quoted_places_the_order_and_holds_exactly_its_total(
    shopper, shelf, store, stripe_double, tenoff, monkeypatch,
):
    fill(shopper, TWO_TEES)
    later = timezone.now() + timedelta(days=30)
    while_the_card_is_asked(monkeypatch, lambda: edit(tenoff, valid_until=later, max_uses=10))

    placed = checkout(shopper, **pickup_by_card(store, stripe_double, voucher="tenoff"))

    assert placed.status_code == 201, placed.json()
    order = Order.objects.get(number=placed.json()["number"])
    assert (order.discount_amount, order.total_amount, order.voucher) == (Decimal("10.00"), Decimal("30.00"), tenoff)
    intent = stripe_double.v1.payment_intents.retrieve(order.payment.stripe_payment_intent)
    assert (intent.amount, intent.status) == (3000, "requires_capture")
    assert Voucher.objects.get(pk=tenoff.pk).uses == 4


@pytest.mark.parametrize("change, status, code, message", [
    ({"value": Decimal("15.00")}, 409, "checkout_not_finished",
     "The total changed while your bank was checking your card, so nothing was charged: check the basket and check "
     "out again."),
    ({"is_active": False}, 422, "voucher_refused", "'tenoff' is not a valid code."),  # as typed
], ids=["value", "switched-off"])
def test_a_voucher_changed_while_the_bank_checks_the_shopper_is_refused_at_finish_and_the_card_is_let_go(
    shopper, shelf, store, stripe_double, tenoff, change, status, code, message,
):
    fill(shopper, TWO_TEES)
    key = str(uuid.uuid4())
    action = checkout(shopper, key, **pickup_by_card(store, stripe_double, NEEDS_CHECK, voucher="tenoff")).json()
    assert stripe_double.v1.payment_intents.retrieve(action["payment_intent"]).amount == 3000
    edit(tenoff, **change)
    bank_answers(action["client_secret"], confirms=True)

    refused = finish(shopper, key)

    assert (refused.status_code, refused.json()["code"], refused.json()["message"]) == (status, code, message)
    assert_nothing_placed_and_the_card_let_go(shopper, store, stripe_double, [action["payment_intent"]])


# Cancelling what has already left ------------------------------------------------------------------


def test_cancelling_a_shipped_order_is_refused_and_changes_nothing(shopper, shelf, store, stripe_double):
    fill(shopper, TWO_TEES)
    placed = checkout(shopper, fulfilment="delivery", delivery_method="standard", address=NEAR_LONDON,
                      payment_method="card", payment_method_id=card(stripe_double)).json()
    send(staff_of(store), Fulfillment.objects.get(order__number=placed["number"]))
    order = Order.objects.get(number=placed["number"])
    payment = Payment.objects.get(order=order)
    before = (levels(store), order.events.count(), payment.status, payment.captured_amount, payment.updated_at)
    assert (order.status, payment.status, payment.captured_amount) == (
        Order.Status.FULFILLED, Payment.Status.CAPTURED, order.total_amount)

    refused = shopper.post(f"/api/v1/orders/{order.number}/cancel/")

    assert refused.status_code == 409
    assert refused.json() == {"code": "order_not_cancellable", "detail": {},
                              "message": f"Order {order.number} has been fulfilled; return the items instead."}
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert (levels(store), order.events.count(), payment.status, payment.captured_amount, payment.updated_at) == before
    assert [line.quantity_cancelled for line in order.lines.all()] == [0]
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert received_at_stripe(intent) == order.total_amount * 100  # still all taken: nothing refunded
    assert not Refund.objects.exists()


def test_cancelling_a_collected_pickup_from_a_stale_order_page_is_refused_and_changes_nothing(
    shelf, store, stripe_double,
):
    pickup = ready(pickup_order(stripe_double, store), store)
    manager = signed_in(STORE_MANAGER, store)
    fulfilment.pickup_collect(fulfillment=pickup, code=pickup.pickup_code)
    order = Order.objects.get(pk=pickup.order_id)
    payment = Payment.objects.get(order=order)
    before = (levels(store), order.events.count(), payment.status, payment.captured_amount)
    assert (order.status, payment.status) == (Order.Status.FULFILLED, Payment.Status.CAPTURED)

    page = manager.post(f"/admin/orders/order/{order.pk}/cancel/", follow=True)  # the button on a page opened earlier

    assert page.status_code == 200
    assert f"{order.number}: Order {order.number} has been fulfilled; return the items instead." in text(page)
    assert "cancelled: what had not been sent" not in text(page)
    order.refresh_from_db()
    payment.refresh_from_db()
    assert order.status == Order.Status.FULFILLED
    assert (levels(store), order.events.count(), payment.status, payment.captured_amount) == before
    assert received_at_stripe(stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)) == 4000


# Capturing a voided payment ------------------------------------------------------------------------


def test_capturing_a_voided_payment_is_refused_and_nothing_is_taken_at_stripe(shopper, shelf, store, stripe_double):
    order = place_order(shopper, store, stripe_double)
    assert shopper.post(f"/api/v1/orders/{order.number}/cancel/").json()["payment"]["status"] == "voided"
    payment = Payment.objects.get(order=order)

    with pytest.raises(InvalidTransition, match=rf"for {order.number} \(voided\) cannot go from voided to captured"):
        services.payment_capture(order=order, amount=order.total_amount)

    again = Payment.objects.get(order=order)
    assert (again.status, again.captured_amount, again.updated_at) == (
        Payment.Status.VOIDED, Decimal("0.00"), payment.updated_at)
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert intent.status == "canceled" and not intent.latest_charge.captured


# A void that fails after a refused checkout --------------------------------------------------------


def test_a_void_that_fails_after_a_refused_checkout_is_logged_naming_the_intent_and_nothing_is_saved(
    shopper, shelf, store, stripe_double, tenoff, monkeypatch, settings, caplog,
):
    """The card is authorised, the voucher is switched off before the order is recorded, and Stripe is down when
    the authorisation is voided: the shopper is told why the checkout was refused, the stock hold goes back and
    nothing is saved but the stray authorisation, which the sweep voids once Stripe is back (the shopper's money
    is not held for the week the bank would keep it); the key is free for the shopper's next try."""
    fill(shopper, TWO_TEES)
    up = settings.STRIPE_API_BASE

    def voucher_off_then_stripe_down():
        edit(tenoff, is_active=False)
        settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    asked = while_the_card_is_asked(monkeypatch, voucher_off_then_stripe_down)
    key = str(uuid.uuid4())

    with caplog.at_level(logging.ERROR, logger="orders.services"):
        refused = checkout(shopper, key, **pickup_by_card(store, stripe_double, voucher="tenoff"))

    settings.STRIPE_API_BASE = up
    assert refused.status_code == 422 and refused.json()["detail"] == {"field": "voucher", "reason": "unknown"}
    [logged] = [r for r in caplog.records if r.name == "orders.services"]
    assert logged.getMessage() == f"could not void {asked[0]} after a failed checkout; payments_void_stray will retry"
    assert isinstance(logged.exc_info[1], PaymentProviderError)
    assert str(logged.exc_info[1]).startswith("Voiding the payment failed")
    assert not Order.objects.exists() and not Payment.objects.exists() and not VoucherRedemption.objects.exists()
    assert not CheckoutAttempt.objects.exists()
    assert levels(store) == [("TEE-NAVY-M", 10, 0, 0), ("HOOD-GREY-L", 3, 0, 0)]
    assert stripe_double.v1.payment_intents.retrieve(asked[0]).status == "requires_capture"
    assert list(StrayAuthorisation.objects.values_list("payment_intent", flat=True)) == [asked[0]]
    monkeypatch.undo()

    assert services.payments_void_stray() == 1  # Stripe is back
    assert stripe_double.v1.payment_intents.retrieve(asked[0]).status == "canceled"
    assert not StrayAuthorisation.objects.exists() and services.payments_void_stray() == 0

    retried = checkout(shopper, key, **pickup_by_card(store, stripe_double))  # same key, voucher taken off

    assert retried.status_code == 201, retried.json()
    assert Order.objects.get().payment.stripe_payment_intent != asked[0]


# Stripe refusing a request, and voids that fail ------------------------------------------------------


def test_a_request_stripe_finds_invalid_for_a_reason_other_than_the_card_answers_502_and_holds_nothing(
    shopper, shelf, store, stripe_double, monkeypatch,
):
    fill(shopper, TWO_TEES)
    intents = stripe_gateway._client().v1.payment_intents
    confirmed = []

    def refused_by_stripe(intent_id, *args, **kwargs):
        confirmed.append(intent_id)
        raise stripe.InvalidRequestError("Amount must be no more than 999,999.99", param="amount",
                                         code="amount_too_large", http_status=400)

    monkeypatch.setattr(intents, "confirm", refused_by_stripe)

    answer = checkout(shopper, **pickup_by_card(store, stripe_double))

    assert answer.status_code == 502
    assert answer.json() == {"code": "payment_provider_error", "detail": {},
                             "message": "The card could not be checked just now; nothing was charged."}
    assert not Order.objects.exists() and not CheckoutAttempt.objects.exists()
    assert levels(store) == [("TEE-NAVY-M", 10, 0, 0), ("HOOD-GREY-L", 3, 0, 0)]
    monkeypatch.undo()
    [intent] = [stripe_double.v1.payment_intents.retrieve(i) for i in confirmed]
    assert intent.status == "canceled" and intent.amount == 4000  # created before the refusal, then let go
    assert Cart.objects.get().status == Cart.Status.OPEN


def test_stripe_down_while_the_card_is_asked_answers_502_logs_it_and_holds_nothing(
    shopper, shelf, store, stripe_double, settings, caplog,
):
    fill(shopper, TWO_TEES)
    sent = pickup_by_card(store, stripe_double)
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    with caplog.at_level(logging.WARNING, logger="orders.stripe_gateway"):
        answer = checkout(shopper, **sent)

    assert answer.status_code == 502
    assert answer.json()["message"] == "The card could not be checked just now; nothing was charged."
    assert any(r.getMessage().startswith("authorising checkout:") and "failed at Stripe" in r.getMessage()
               for r in caplog.records if r.name == "orders.stripe_gateway")
    assert not Order.objects.exists() and not CheckoutAttempt.objects.exists()
    assert levels(store) == [("TEE-NAVY-M", 10, 0, 0), ("HOOD-GREY-L", 3, 0, 0)]


def test_cancelling_an_order_whose_authorisation_stripe_already_let_go_voids_it_without_an_error(
    shopper, shelf, store, stripe_double,
):
    order = place_order(shopper, store, stripe_double)
    intent_id = Payment.objects.get(order=order).stripe_payment_intent
    stripe_double.v1.payment_intents.cancel(intent_id)  # the bank let go; its webhook has not arrived

    cancelled = shopper.post(f"/api/v1/orders/{order.number}/cancel/")

    assert cancelled.status_code == 200, cancelled.json()
    assert (cancelled.json()["status"], cancelled.json()["payment"]["status"]) == ("cancelled", "voided")
    assert levels(store) == [("TEE-NAVY-M", 10, 0, 0), ("HOOD-GREY-L", 3, 0, 0)]
    assert stripe_double.v1.payment_intents.retrieve(intent_id).status == "canceled"


def test_voiding_an_intent_stripe_has_captured_is_refused_and_the_money_stays_taken(
    shopper, shelf, store, stripe_double,
):
    order = place_order(shopper, store, stripe_double)
    intent_id = Payment.objects.get(order=order).stripe_payment_intent
    stripe_double.v1.payment_intents.capture(intent_id)  # captured at Stripe, say from its dashboard

    with pytest.raises(PaymentProviderError, match="^Voiding the payment failed"):
        stripe_gateway.void(payment_intent=intent_id)

    intent = stripe_double.v1.payment_intents.retrieve(intent_id)
    assert intent.status == "succeeded" and received_at_stripe(intent) == 8500


def test_an_order_cancelled_while_stripe_is_down_is_cancelled_and_its_card_hold_let_go_when_stripe_is_back(
    shopper, shelf, store, stripe_double, settings,
):
    order = place_order(shopper, store, stripe_double)
    intent_id = Payment.objects.get(order=order).stripe_payment_intent
    up, settings.STRIPE_API_BASE = settings.STRIPE_API_BASE, f"http://127.0.0.1:{free_port()}"

    cancelled = shopper.post(f"/api/v1/orders/{order.number}/cancel/")

    assert cancelled.status_code == 200, cancelled.json()
    assert (cancelled.json()["status"], cancelled.json()["payment"]["status"]) == ("cancelled", "authorised")
    assert levels(store) == [("TEE-NAVY-M", 10, 0, 0), ("HOOD-GREY-L", 3, 0, 0)]
    assert services.payments_void_stray() == 0  # still down: tried again later

    settings.STRIPE_API_BASE = up
    assert services.payments_void_stray() == 1
    assert Payment.objects.get(order=order).status == Payment.Status.VOIDED
    assert stripe_double.v1.payment_intents.retrieve(intent_id).status == "canceled"
    assert services.payments_void_stray() == 0
