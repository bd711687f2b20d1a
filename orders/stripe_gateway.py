"""The one module that talks to Stripe: PaymentIntents with manual capture (authorise, capture,
void), refunds, webhook verification, and the conversion to Stripe's integer minor units.

No function here is ever called while stock rows are locked; callers sequence that.
"""
import functools
import logging
from collections.abc import Callable
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
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


@functools.lru_cache(maxsize=4)
def _client_for(secret_key: str, api_base: str) -> stripe.StripeClient:
    """One client per process (per key and API): its HTTP sessions keep their connections to Stripe alive."""
    addresses = {"api": api_base} if api_base else None
    return stripe.StripeClient(secret_key, base_addresses=addresses, max_network_retries=2)


def stripe_js_url() -> str:
    """Where the card form loads Stripe.js from: STRIPE_JS_URL, else the local double's emulation when the API
    is a double, else Stripe's own."""
    if settings.STRIPE_JS_URL:
        return settings.STRIPE_JS_URL
    if settings.STRIPE_API_BASE:
        return f"{settings.STRIPE_API_BASE.rstrip('/')}/js.stripe.com/v3/"
    return "https://js.stripe.com/v3/"


def _failed(what: str, exc: stripe.StripeError) -> PaymentProviderError:
    """Stripe's own words when it has some for people; never a network error's hosts and ports (logged)."""
    logger.warning("%s failed at Stripe: %r", what, exc)
    return PaymentProviderError(f"{what} failed at the card processor: "
                                f"{exc.user_message or 'it could not be reached; try again in a moment.'}")


def authorise(*, amount: Decimal, currency: str, payment_method: str, reference: str, return_url: str = "",
              created: Callable[[str], object] = lambda intent_id: None):
    """Place a hold on the shopper's card for `amount`; money moves only on capture. The intent is created,
    `created` is told its id, and only then is the card asked: a checkout that dies after the card said yes
    has the id on record, so whoever takes over voids it (no authorisation is left stray).

    Returns the intent: `requires_capture` when the card said yes, `requires_action` when the shopper's bank
    wants to check it is them (3-D Secure): the browser or app completes that with the intent's client
    secret (or, after a redirect, comes back to `return_url`). A decline raises PaymentDeclined."""
    params = {
        "amount": to_minor_units(amount, currency),
        "currency": currency.lower(),
        "capture_method": "manual",
        "payment_method": payment_method,
        "metadata": {"reference": reference},
        "payment_method_types": ["card"],
    }
    # Stripe.js (or the app's SDK) handles the bank's check in the page; localstripe refuses the parameters.
    confirming = {} if settings.STRIPE_API_BASE else {"use_stripe_sdk": True, **({"return_url": return_url} if return_url
                                                                                else {})}
    try:
        client = _client()
        intent = client.v1.payment_intents.create(params=params)
        created(intent.id)
        intent = client.v1.payment_intents.confirm(intent.id, params=confirming)
    except stripe.CardError as exc:
        raise PaymentDeclined(exc.user_message or "The card was declined.", decline_code=exc.code) from exc
    except stripe.InvalidRequestError as exc:
        # Stripe names the field; the local double only answers 404 for a payment method it does not know.
        if exc.param == "payment_method" or exc.code == "resource_missing" or exc.http_status == 404:
            raise PaymentDeclined("Those card details could not be used; enter the card again.") from exc
        raise PaymentProviderError("The card could not be checked just now; nothing was charged.") from exc
    except stripe.StripeError as exc:
        logger.warning("authorising %s failed at Stripe: %r", reference, exc)
        raise PaymentProviderError("The card could not be checked just now; nothing was charged.") from exc
    if intent.status in ("requires_capture", "requires_action"):
        return intent
    void(payment_intent=intent.id)
    raise declined(intent)


def _field(obj, name: str):
    """A field of a Stripe object (or of a plain dict), None when it has none."""
    try:
        return obj[name]
    except (KeyError, TypeError):
        return None


def declined(intent) -> PaymentDeclined:
    """Why the card or the shopper's bank said no, in the shopper's words."""
    error = _field(intent, "last_payment_error")
    code, message = (_field(error, "code"), _field(error, "message")) if error else (None, None)
    if code == "payment_intent_authentication_failure":
        return PaymentDeclined("Your bank could not confirm it was you, so the card was not charged. Try again, "
                               "or use another card.", decline_code=code)
    return PaymentDeclined(message or "Your card was declined.", decline_code=code)


def authorised_amount(intent, currency: str) -> Decimal:
    """What the card holds for an intent the bank has authorised."""
    return from_minor_units(_field(intent, "amount_capturable") or intent["amount"], currency)


def capture(*, payment_intent: str, amount: Decimal, currency: str):
    try:
        return _client().v1.payment_intents.capture(
            payment_intent, params={"amount_to_capture": to_minor_units(amount, currency)}
        )
    except stripe.StripeError as exc:
        raise _failed("Capturing the payment", exc) from exc


def void(*, payment_intent: str):
    """Release an authorisation; a PaymentIntent already cancelled counts as done."""
    try:
        return _client().v1.payment_intents.cancel(payment_intent)
    except stripe.InvalidRequestError as exc:
        intent = _client().v1.payment_intents.retrieve(payment_intent)
        if intent.status == "canceled":
            return intent
        raise _failed("Voiding the payment", exc) from exc
    except stripe.StripeError as exc:
        raise _failed("Voiding the payment", exc) from exc


def refund(*, payment_intent: str, amount: Decimal, currency: str, reference: str):
    try:
        return _client().v1.refunds.create(
            params={"payment_intent": payment_intent, "amount": to_minor_units(amount, currency),
                    "metadata": {"reference": reference}},
            options={"idempotency_key": reference},  # a retry after a crash refunds once at Stripe too
        )
    except stripe.StripeError as exc:
        raise _failed("The refund", exc) from exc


def retrieve(*, payment_intent: str):
    try:
        return _client().v1.payment_intents.retrieve(payment_intent)
    except stripe.StripeError as exc:
        raise PaymentProviderError("The card's state could not be checked just now; try again in a moment.") from exc


def verify_webhook(*, payload: bytes, signature: str) -> stripe.Event:
    """The event, if its signature is ours and fresh; otherwise ValueError or SignatureVerificationError."""
    return stripe.Webhook.construct_event(
        payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    )
