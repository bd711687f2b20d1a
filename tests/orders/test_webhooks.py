"""Stripe's webhook deliveries, signed exactly as Stripe signs them: applied once, refused when forged
or stale, and safe when events arrive twice, out of order, or for payments this shop never made."""
import hashlib
import hmac
import json
import time
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from orders.models import Order, Payment, StripeEvent
from orders.services import payment_capture
from tests.customers.conftest import app_client, register
from tests.orders.test_payments import place_order

pytestmark = pytest.mark.django_db

WEBHOOK = "/api/v1/stripe/webhook/"


@pytest.fixture
def shopper(db):
    return app_client(register())


@pytest.fixture
def payment(shopper, shelf, store, stripe_double) -> Payment:
    """The card payment of a real pickup order for 85.00, authorised at the Stripe double."""
    return place_order(shopper, store, stripe_double).payment


def stripe_signature(payload: str, *, secret: str | None = None, at: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends: HMAC-SHA256 of "<timestamp>.<payload>"."""
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new((secret or settings.STRIPE_WEBHOOK_SECRET).encode(), f"{timestamp}.{payload}".encode(),
                   hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def stripe_event(type_: str, obj: dict, *, event_id: str | None = None) -> str:
    return json.dumps({
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}", "object": "event", "type": type_,
        "created": int(time.time()), "livemode": False, "api_version": "2024-06-20", "data": {"object": obj},
    })


def intent_event(type_: str, payment_intent: str, *, received: int = 0, event_id: str | None = None) -> str:
    return stripe_event(type_, {
        "id": payment_intent, "object": "payment_intent", "amount": 8500, "amount_received": received,
        "currency": "gbp", "status": type_.removeprefix("payment_intent."),
    }, event_id=event_id)


def refund_event(payment_intent: str, *, refunded: int, captured: int = 8500) -> str:
    return stripe_event("charge.refunded", {
        "id": f"ch_{payment_intent[3:]}", "object": "charge", "payment_intent": payment_intent, "amount": 8500,
        "captured": True, "amount_captured": captured, "amount_refunded": refunded, "refunded": refunded >= captured,
        "currency": "gbp",
    })


def deliver(payload: str, signature: str | None = "sign"):
    """POST a delivery as Stripe does; by default correctly signed now."""
    headers = {} if signature is None else {
        "Stripe-Signature": stripe_signature(payload) if signature == "sign" else signature}
    return APIClient().post(WEBHOOK, data=payload, content_type="application/json", headers=headers)


def state(payment: Payment) -> tuple:
    payment.refresh_from_db()
    return payment.status, payment.captured_amount, payment.refunded_amount


# Applying events ------------------------------------------------------------------------------


def test_payment_intent_succeeded_marks_the_payment_captured_with_the_amount(shopper, payment):
    delivered = deliver(intent_event("payment_intent.succeeded", payment.stripe_payment_intent, received=8500))

    assert delivered.status_code == 200, delivered.json()
    assert delivered.json() == {"received": True, "applied": True}
    assert state(payment) == (Payment.Status.CAPTURED, Decimal("85.00"), Decimal("0.00"))
    shown = shopper.get(f"/api/v1/orders/{payment.order.number}/").json()["payment"]
    assert (shown["status"], shown["captured_amount"]) == ("captured", "85.00")


def test_the_same_event_delivered_twice_is_applied_once(payment):
    payload = intent_event("payment_intent.succeeded", payment.stripe_payment_intent, received=8500)
    first = deliver(payload)
    after_first = Payment.objects.get(pk=payment.pk)

    again = deliver(payload)

    assert (first.json()["applied"], again.status_code, again.json()["applied"]) == (True, 200, False)
    assert state(payment) == (Payment.Status.CAPTURED, Decimal("85.00"), Decimal("0.00"))
    assert payment.updated_at == after_first.updated_at
    assert StripeEvent.objects.count() == 1


# Refusing deliveries --------------------------------------------------------------------------


def assert_refused_and_nothing_changed(response, payment: Payment) -> None:
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert "Stripe-Signature" in body["detail"]["fields"]
    assert not StripeEvent.objects.exists()
    assert state(payment) == (Payment.Status.AUTHORISED, Decimal("0.00"), Decimal("0.00"))


def test_a_delivery_signed_with_another_secret_is_refused(payment):
    payload = intent_event("payment_intent.succeeded", payment.stripe_payment_intent, received=8500)

    forged = deliver(payload, stripe_signature(payload, secret="whsec_not_ours"))

    assert_refused_and_nothing_changed(forged, payment)


def test_a_delivery_whose_body_was_changed_after_signing_is_refused(payment):
    signed_for = intent_event("payment_intent.succeeded", payment.stripe_payment_intent, received=100)
    tampered = signed_for.replace('"amount_received": 100', '"amount_received": 8500')
    assert tampered != signed_for

    refused = deliver(tampered, stripe_signature(signed_for))

    assert_refused_and_nothing_changed(refused, payment)


def test_a_delivery_signed_more_than_five_minutes_ago_is_refused(payment):
    payload = intent_event("payment_intent.succeeded", payment.stripe_payment_intent, received=8500)

    stale = deliver(payload, stripe_signature(payload, at=int(time.time()) - 301))

    assert_refused_and_nothing_changed(stale, payment)


def test_a_delivery_signed_within_five_minutes_is_accepted(payment):
    payload = intent_event("payment_intent.succeeded", payment.stripe_payment_intent, received=8500)

    recent = deliver(payload, stripe_signature(payload, at=int(time.time()) - 240))

    assert recent.status_code == 200 and recent.json()["applied"] is True


def test_a_delivery_without_a_signature_header_is_refused(payment):
    unsigned = deliver(intent_event("payment_intent.succeeded", payment.stripe_payment_intent, received=8500),
                       signature=None)

    assert_refused_and_nothing_changed(unsigned, payment)


# Out of order ---------------------------------------------------------------------------------


def test_a_cancellation_arriving_after_the_capture_leaves_the_payment_captured(payment):
    deliver(intent_event("payment_intent.succeeded", payment.stripe_payment_intent, received=8500))

    late = deliver(intent_event("payment_intent.canceled", payment.stripe_payment_intent))

    assert late.status_code == 200
    assert state(payment) == (Payment.Status.CAPTURED, Decimal("85.00"), Decimal("0.00"))
    assert StripeEvent.objects.count() == 2


def test_a_cancellation_of_an_uncaptured_payment_of_a_cancelled_order_voids_it(payment):
    Order.objects.filter(pk=payment.order_id).update(status=Order.Status.CANCELLED)

    deliver(intent_event("payment_intent.canceled", payment.stripe_payment_intent))

    assert state(payment) == (Payment.Status.VOIDED, Decimal("0.00"), Decimal("0.00"))


def test_a_pickup_whose_card_authorisation_lapsed_at_stripe_is_paid_at_the_counter_instead(payment):
    """Stripe cancels an authorisation the bank let lapse: the pickup is not handed over unpaid."""
    deliver(intent_event("payment_intent.canceled", payment.stripe_payment_intent))

    payment.refresh_from_db()
    assert (payment.method, payment.status) == (Payment.Method.PAY_AT_PICKUP, Payment.Status.PENDING)
    assert "take payment at the counter" in payment.order.events.last().note


def test_a_refund_made_at_stripe_is_recorded_on_the_payment(payment):
    payment_capture(order=payment.order, amount=Decimal("85.00"))

    delivered = deliver(refund_event(payment.stripe_payment_intent, refunded=2000))

    assert delivered.status_code == 200
    assert state(payment) == (Payment.Status.CAPTURED, Decimal("85.00"), Decimal("20.00"))
    assert StripeEvent.objects.get().payment_intent == payment.stripe_payment_intent


def test_an_older_refund_event_with_a_smaller_amount_does_not_lower_the_refund(payment):
    payment_capture(order=payment.order, amount=Decimal("85.00"))
    deliver(refund_event(payment.stripe_payment_intent, refunded=3000))

    older = deliver(refund_event(payment.stripe_payment_intent, refunded=1000))

    assert older.status_code == 200
    assert state(payment) == (Payment.Status.CAPTURED, Decimal("85.00"), Decimal("30.00"))


def test_a_refund_reported_above_the_captured_amount_is_capped_at_it(payment):
    payment_capture(order=payment.order, amount=Decimal("40.00"))

    deliver(refund_event(payment.stripe_payment_intent, refunded=8500, captured=4000))

    assert state(payment) == (Payment.Status.CAPTURED, Decimal("40.00"), Decimal("40.00"))


def test_a_refund_arriving_before_its_capture_is_still_recorded_once_both_are_in(payment):
    early = deliver(refund_event(payment.stripe_payment_intent, refunded=2000))
    _, captured, refunded = state(payment)
    assert early.status_code == 200 and refunded <= captured

    deliver(intent_event("payment_intent.succeeded", payment.stripe_payment_intent, received=8500))

    assert state(payment) == (Payment.Status.CAPTURED, Decimal("85.00"), Decimal("20.00"))


# Events for payments this shop does not know --------------------------------------------------


def test_an_event_for_an_unknown_payment_intent_is_recorded_and_acknowledged(payment):
    delivered = deliver(intent_event("payment_intent.succeeded", "pi_NotFromThisShop", received=500))

    assert delivered.status_code == 200
    assert delivered.json() == {"received": True, "applied": True}
    assert StripeEvent.objects.filter(type="payment_intent.succeeded", payment_intent="pi_NotFromThisShop").exists()
    assert state(payment) == (Payment.Status.AUTHORISED, Decimal("0.00"), Decimal("0.00"))
