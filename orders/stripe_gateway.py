"""The one module that talks to Stripe: PaymentIntents with manual capture (authorise, capture,
void), refunds, webhook verification, and the conversion to Stripe's integer minor units.

No function here is ever called while stock rows are locked; callers sequence that.
"""
import logging
from decimal import ROUND_HALF_UP, Decimal

import stripe
from django.conf import settings

from core.money import THREE_DECIMAL, ZERO_DECIMAL

from .exceptions import PaymentDeclined, PaymentProviderError

logger = logging.getLogger(__name__)


def to_minor_units(amount: Decimal, currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return int(amount.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    if code in THREE_DECIMAL:
        return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)) * 10
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def from_minor_units(units: int, currency: str) -> Decimal:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return Decimal(units)
    if code in THREE_DECIMAL:
        return (Decimal(units) / 1000).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return (Decimal(units) / 100).quantize(Decimal("0.01"))


def _client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise PaymentProviderError("Card payments are not configured (STRIPE_SECRET_KEY is not set).")
    addresses = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses=addresses, max_network_retries=2)


def authorise(*, amount: Decimal, currency: str, payment_method: str, reference: str):
    """Place a hold on the shopper's card for `amount`; money moves only on capture."""
    params = {
        "amount": to_minor_units(amount, currency),
        "currency": currency.lower(),
        "capture_method": "manual",
        "payment_method": payment_method,
        "confirm": True,
        "metadata": {"reference": reference},
        "payment_method_types": ["card"],
    }
    try:
        intent = _client().v1.payment_intents.create(params=params)
    except stripe.CardError as exc:
        raise PaymentDeclined(exc.user_message or "The card was declined.", decline_code=exc.code) from exc
    except stripe.InvalidRequestError as exc:
        if exc.param == "payment_method" or exc.code == "resource_missing":
            raise PaymentDeclined("Those card details could not be used; enter the card again.") from exc
        raise PaymentProviderError("The card could not be checked just now; nothing was charged.") from exc
    except stripe.StripeError as exc:
        logger.warning("authorising %s failed at Stripe: %r", reference, exc)
        raise PaymentProviderError("The card could not be checked just now; nothing was charged.") from exc
    if intent.status == "requires_payment_method":  # declined on confirmation
        error = getattr(intent, "last_payment_error", None)
        void(payment_intent=intent.id)
        raise PaymentDeclined(getattr(error, "message", None) or "Your card was declined.",
                              decline_code=getattr(error, "code", None))
    if intent.status != "requires_capture":
        void(payment_intent=intent.id)
        raise PaymentDeclined("The card needs a further check this shop cannot do; try another card.")
    return intent


def capture(*, payment_intent: str, amount: Decimal, currency: str):
    try:
        return _client().v1.payment_intents.capture(
            payment_intent, params={"amount_to_capture": to_minor_units(amount, currency)}
        )
    except stripe.StripeError as exc:
        raise PaymentProviderError(f"Capturing the payment failed: {exc.user_message or exc}") from exc


def void(*, payment_intent: str):
    """Release an authorisation; a PaymentIntent already cancelled counts as done."""
    try:
        return _client().v1.payment_intents.cancel(payment_intent)
    except stripe.InvalidRequestError as exc:
        intent = _client().v1.payment_intents.retrieve(payment_intent)
        if intent.status == "canceled":
            return intent
        raise PaymentProviderError(f"Voiding the payment failed: {exc.user_message or exc}") from exc
    except stripe.StripeError as exc:
        raise PaymentProviderError(f"Voiding the payment failed: {exc.user_message or exc}") from exc


def refund(*, payment_intent: str, amount: Decimal, currency: str, reference: str):
    try:
        return _client().v1.refunds.create(
            params={"payment_intent": payment_intent, "amount": to_minor_units(amount, currency),
                    "metadata": {"reference": reference}},
            options={"idempotency_key": reference},  # a retry after a crash refunds once at Stripe too
        )
    except stripe.StripeError as exc:
        raise PaymentProviderError(f"The refund failed: {exc.user_message or exc}") from exc


def retrieve(*, payment_intent: str):
    return _client().v1.payment_intents.retrieve(payment_intent)


def verify_webhook(*, payload: bytes, signature: str) -> stripe.Event:
    """The event, if its signature is ours and fresh; otherwise ValueError or SignatureVerificationError."""
    return stripe.Webhook.construct_event(
        payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    )
