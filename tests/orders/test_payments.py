"""Taking and giving back money against the local Stripe double: capture (whole, partial, too much,
pay at pickup), refunds and their idempotency, and the conversion to Stripe's minor units."""
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.models import Channel
from inventory import services as stock
from inventory.models import StockLevel
from orders import services
from orders.exceptions import PaymentNotCapturable, RefundRefused
from orders.models import Order, Payment, Refund, Voucher
from orders.stripe_gateway import from_minor_units, to_minor_units
from tests.customers.conftest import app_client, register
from tests.factories import PriceFactory, VariantFactory, card
from tests.orders.test_checkout import checkout, fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper(db):
    return app_client(register())


def place_order(shopper, store, stripe_double, *lines, payment_method="card", **extra) -> Order:
    """A pickup order placed through the checkout API, as the app would place it."""
    fill(shopper, *(lines or (("TEE-NAVY-M", 2), ("HOOD-GREY-L", 1))))
    body = {"fulfilment": "pickup", "store": store.code, "payment_method": payment_method, **extra}
    if payment_method == "card":
        body["payment_method_id"] = card(stripe_double)
    placed = checkout(shopper, **body)
    assert placed.status_code == 201, placed.json()
    return Order.objects.get(number=placed.json()["number"])


def received_at_stripe(intent) -> int:
    """What a PaymentIntent has taken, in minor units. localstripe does not report amount_received: it
    shows a capture as the whole charge captured with anything not taken refunded at once."""
    charge = intent.latest_charge
    assert charge.captured
    return charge.amount - charge.amount_refunded


def refunds_at_stripe(stripe_double, payment_intent: str) -> list:
    return list(stripe_double.v1.refunds.list(params={"payment_intent": payment_intent}).data)


# Capture --------------------------------------------------------------------------------------


def test_capturing_a_card_order_takes_the_order_total_at_stripe(shopper, shelf, store, stripe_double):
    order = place_order(shopper, store, stripe_double)

    payment = services.payment_capture(order=order, amount=order.total_amount)

    assert (payment.status, payment.captured_amount) == (Payment.Status.CAPTURED, Decimal("85.00"))
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert intent.status == "succeeded"
    assert received_at_stripe(intent) == 8500
    assert shopper.get(f"/api/v1/orders/{order.number}/").json()["payment"]["status"] == "captured"


def test_capturing_twice_changes_nothing_and_does_not_call_stripe_again(shopper, shelf, store, stripe_double):
    order = place_order(shopper, store, stripe_double)
    first = services.payment_capture(order=order, amount=order.total_amount)
    intent_before = stripe_double.v1.payment_intents.retrieve(first.stripe_payment_intent).to_dict()

    again = services.payment_capture(order=order, amount=order.total_amount)  # a second capture at Stripe would error

    assert (again.pk, again.status, again.captured_amount, again.updated_at) == (
        first.pk, Payment.Status.CAPTURED, Decimal("85.00"), first.updated_at)
    assert stripe_double.v1.payment_intents.retrieve(first.stripe_payment_intent).to_dict() == intent_before


def test_capturing_after_a_line_is_cancelled_takes_only_what_is_still_due(shopper, shelf, store, stripe_double):
    order = place_order(shopper, store, stripe_double)
    hoodie = order.lines.get(sku="HOOD-GREY-L")
    services.order_cancel(order=order, lines={hoodie.pk: 1}, note="hoodie not wanted")

    payment = services.payment_capture(order=order, amount=services.amount_due(order=order))

    assert (payment.status, payment.authorised_amount, payment.captured_amount) == (
        Payment.Status.CAPTURED, Decimal("85.00"), Decimal("40.00"))
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert intent.status == "succeeded"
    assert received_at_stripe(intent) == 4000
    shown = shopper.get(f"/api/v1/orders/{order.number}/").json()
    assert [(l["sku"], l["quantity_cancelled"]) for l in shown["lines"]] == [("TEE-NAVY-M", 0), ("HOOD-GREY-L", 1)]
    assert shown["payment"]["captured_amount"] == "40.00"


def test_capturing_more_than_was_authorised_is_refused_and_nothing_is_taken(shopper, shelf, store, stripe_double):
    order = place_order(shopper, store, stripe_double)

    with pytest.raises(PaymentNotCapturable, match=r"Cannot capture 85\.01; only 85\.00 was authorised"):
        services.payment_capture(order=order, amount=Decimal("85.01"))

    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.captured_amount) == (Payment.Status.AUTHORISED, Decimal("0.00"))
    assert stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent).status == "requires_capture"


def test_pay_at_pickup_is_captured_at_the_counter_without_stripe(shopper, shelf, store, stripe_double):
    order = place_order(shopper, store, stripe_double, payment_method="pay_at_pickup")

    payment = services.payment_capture(order=order, amount=order.total_amount)

    payment.refresh_from_db()
    assert (payment.method, payment.status, payment.authorised_amount, payment.captured_amount) == (
        Payment.Method.PAY_AT_PICKUP, Payment.Status.CAPTURED, Decimal("85.00"), Decimal("85.00"))
    assert payment.stripe_payment_intent is None


# Refunds --------------------------------------------------------------------------------------


@pytest.fixture
def captured_order(shopper, shelf, store, stripe_double) -> Order:
    order = place_order(shopper, store, stripe_double)
    services.payment_capture(order=order, amount=order.total_amount)
    return order


def test_a_partial_refund_is_recorded_and_made_at_stripe(captured_order, stripe_double):
    refund = services.payment_refund(order=captured_order, amount=Decimal("20.00"), reason="hoodie returned",
                            idempotency_key="return:1")

    payment = Payment.objects.get(order=captured_order)
    assert (refund.amount, refund.payment_id, payment.refunded_amount) == (
        Decimal("20.00"), payment.pk, Decimal("20.00"))
    at_stripe = stripe_double.v1.refunds.retrieve(refund.stripe_refund)
    assert (at_stripe.amount, at_stripe.currency, at_stripe.status) == (2000, "gbp", "succeeded")
    assert [r.id for r in refunds_at_stripe(stripe_double, payment.stripe_payment_intent)] == [refund.stripe_refund]


def test_the_same_refund_key_again_returns_the_first_refund_and_refunds_once(captured_order, stripe_double):
    first = services.payment_refund(order=captured_order, amount=Decimal("20.00"), reason="",
                                    idempotency_key="return:1")

    again = services.payment_refund(order=captured_order, amount=Decimal("20.00"), reason="",
                                    idempotency_key="return:1")

    assert again.pk == first.pk and Refund.objects.count() == 1
    payment = Payment.objects.get(order=captured_order)
    assert payment.refunded_amount == Decimal("20.00")
    assert len(refunds_at_stripe(stripe_double, payment.stripe_payment_intent)) == 1


def test_a_refund_above_what_is_left_is_refused_and_changes_nothing(captured_order, stripe_double):
    services.payment_refund(order=captured_order, amount=Decimal("20.00"), reason="", idempotency_key="return:1")

    with pytest.raises(RefundRefused, match=r"65\.00 GBP") as refused:
        services.payment_refund(order=captured_order, amount=Decimal("65.01"), reason="", idempotency_key="return:2")

    assert refused.value.detail == {"field": "amount"}
    payment = Payment.objects.get(order=captured_order)
    assert payment.refunded_amount == Decimal("20.00")
    assert list(Refund.objects.values_list("idempotency_key", flat=True)) == ["return:1"]
    assert len(refunds_at_stripe(stripe_double, payment.stripe_payment_intent)) == 1


# Minor units ----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount, currency, units", [
    (Decimal("19.99"), "GBP", 1999),
    (Decimal("19.99"), "gbp", 1999),
    (Decimal("1999"), "JPY", 1999),
    (Decimal("1.23"), "KWD", 1230),
    (Decimal("0.125"), "GBP", 13),
    (Decimal("0.124"), "GBP", 12),
])
def test_amounts_go_to_stripe_in_the_currencys_minor_units(amount, currency, units):
    assert to_minor_units(amount, currency) == units


@pytest.mark.parametrize("units, currency, amount", [
    (1999, "GBP", Decimal("19.99")),
    (1999, "JPY", Decimal("1999")),
    (1230, "KWD", Decimal("1.23")),
])
def test_amounts_from_stripe_are_read_in_the_currencys_minor_units(units, currency, amount):
    assert from_minor_units(units, currency) == amount


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2), currency=st.sampled_from(
    ["GBP", "EUR"]))
def test_a_two_decimal_amount_survives_the_round_trip_through_minor_units(amount, currency):
    assert from_minor_units(to_minor_units(amount, currency), currency) == amount


def test_the_card_hold_equals_the_order_total_to_the_penny_with_an_awkward_voucher(shopper, store, stripe_double):
    for sku, price in (("PIN-BADGE", "0.33"), ("SOCKS-3PK", "9.99"), ("TEE-ORGANIC", "19.99")):
        variant = VariantFactory(sku=sku)
        for channel in Channel.objects.all():
            PriceFactory(variant=variant, channel=channel, amount=price)
        stock.stock_receive(location=store, variant=variant, quantity=5)
    Voucher.objects.create(code="THIRTYTHREE", kind="percent", value=Decimal("33"))

    order = place_order(shopper, store, stripe_double, ("PIN-BADGE", 3), ("SOCKS-3PK", 1), ("TEE-ORGANIC", 2),
                        voucher="thirtythree")

    # 0.99 + 9.99 + 39.98 = 50.96; 33% of it is 16.8168, so 16.82 off and 34.14 to pay
    assert (order.subtotal_amount, order.discount_amount, order.total_amount) == (
        Decimal("50.96"), Decimal("16.82"), Decimal("34.14"))
    assert sum((line.total_amount for line in order.lines.all()), Decimal("0")) == Decimal("34.14")
    intent = stripe_double.v1.payment_intents.retrieve(order.payment.stripe_payment_intent)
    assert (intent.amount, intent.currency, intent.status) == (3414, "gbp", "requires_capture")


def test_a_card_stripe_does_not_know_is_refused_as_the_card_and_holds_nothing(shopper, shelf, store, stripe_double):
    fill(shopper, ("TEE-NAVY-M", 1))
    refused = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="card",
                       payment_method_id="pm_nobody_issued_this")
    assert refused.status_code == 402, refused.json()
    assert refused.json()["code"] == "payment_declined"
    assert not Order.objects.exists()
    assert StockLevel.objects.get(location=store, variant=shelf[0]).reserved == 0
