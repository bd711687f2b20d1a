"""Every write about orders and money: checkout from any channel, the till sale, cancelling,
capturing and refunding payments, and applying Stripe webhooks.

A checkout quotes the cart first (orders.pricing: lines, discount, delivery, tax) and routes it. With nothing
to ask a card (pay at pickup, or nothing to pay) it is then one transaction: claim the Idempotency-Key, redeem
the voucher, write the order with frozen prices, commit the stock at the routed locations (a guarded UPDATE
per line: never oversold), close the cart, make the fulfilments, queue the confirmation. A card checkout runs
in three steps so that no Stripe call happens while stock rows are locked:
  1. claim the key and hold the stock (short transactions);
  2. authorise the card at Stripe (no transaction open);
  3. in one transaction: the same as above, committing the held stock.
Any failure after step 1 releases the hold, and after step 2 also voids the authorisation.

When the shopper's bank wants to check it is them (3-D Secure), step 3 waits: the claim keeps what the order
will be made of and the hold stays until it lapses, and checkout_finish records the order once the card is
authorised, from whichever comes first (the browser or app coming back, Stripe's webhook, a retry, the sweep).
"""
import dataclasses
import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.images import product_images_attach
from catalog.models import Channel, Variant
from catalog.selectors import prices_in_force
from core.exceptions import DomainError, InvalidTransition
from core.money import format_money, shares
from customers.attribution import attribution_for
from customers.models import Address, Cart, Customer, Interaction
from customers.selectors import cart_lines, recipient_for
from customers.services import cart_remove_sold, interaction_record
from inventory.exceptions import InsufficientStock, ReservationExpired
from inventory.hours import collect_from, window_still_open
from inventory.models import WEEKDAYS, CollectionWindow, Location, Reservation
from inventory.services import (
    StockLine,
    reservation_commit,
    reservation_release,
    stock_commit,
    stock_release_committed,
    stock_reserve,
    stock_sell,
)
from notifications.recipients import Recipient
from notifications.services import message_queue

from . import stripe_gateway
from .exceptions import (
    CheckoutInProgress,
    CheckoutNotFinished,
    CheckoutRefused,
    IdempotencyKeyReused,
    OrderNotCancellable,
    PaymentDeclined,
    PaymentNotCapturable,
    PaymentProviderError,
    RefundRefused,
    VoucherRefused,
)
from .models import (
    CheckoutAttempt,
    DeliveryMethod,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Refund,
    StrayAuthorisation,
    StripeEvent,
    Voucher,
    VoucherRedemption,
)
from .pricing import Quote, delivery_options, quote
from .routing import Routed, Routing, route_delivery, route_pickup
from .selectors import order_link, order_tax_summary, units_by_variant, voucher_evaluate
from .signals import order_lines_cancelled, order_placed

logger = logging.getLogger(__name__)

NUMBER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class ShipTo:
    name: str
    line1: str
    city: str
    postcode: str
    country: str = "GB"
    line2: str = ""
    latitude: float | None = None
    longitude: float | None = None

    @classmethod
    def from_address(cls, address: Address) -> "ShipTo":
        return cls(name=address.recipient, line1=address.line1, line2=address.line2, city=address.city,
                   postcode=address.postcode, country=address.country, latitude=address.latitude,
                   longitude=address.longitude)


@dataclass(frozen=True)
class CheckoutChoice:
    """What the shopper chose at checkout, whichever channel they are on."""

    channel: Channel
    fulfilment: str
    payment_method: str
    email: str
    phone: str = ""
    pickup_store: Location | None = None
    ship_to: ShipTo | None = None
    card: str = ""
    voucher_code: str = ""
    delivery_method: str = ""
    visitor: uuid.UUID | None = None  # the browser or app install, whose arrivals the order is attributed to
    return_url: str = ""  # where the shopper's bank sends them back after a check that leaves the page
    collect_window: CollectionWindow | None = None  # pickup: the window booked, on collect_on
    collect_on: date | None = None
    collector_name: str = ""  # pickup: someone else collects


def _choice_saved(choice: CheckoutChoice) -> dict:
    """The choice as JSON, kept on a checkout that waits for the shopper's bank (the card is not kept)."""
    return {
        "channel": choice.channel.code, "fulfilment": choice.fulfilment, "payment_method": choice.payment_method,
        "email": choice.email, "phone": choice.phone,
        "pickup_store": choice.pickup_store.pk if choice.pickup_store else None,
        "ship_to": dataclasses.asdict(choice.ship_to) if choice.ship_to else None,
        "voucher_code": choice.voucher_code, "delivery_method": choice.delivery_method,
        "visitor": str(choice.visitor) if choice.visitor else None, "return_url": choice.return_url,
        "collect_window": choice.collect_window.pk if choice.collect_window else None,
        "collect_on": choice.collect_on.isoformat() if choice.collect_on else None,
        "collector_name": choice.collector_name,
    }


def _choice_from(saved: dict) -> CheckoutChoice:
    return CheckoutChoice(
        channel=Channel.objects.get(code=saved["channel"]), fulfilment=saved["fulfilment"],
        payment_method=saved["payment_method"], email=saved["email"], phone=saved["phone"],
        pickup_store=Location.objects.get(pk=saved["pickup_store"]) if saved["pickup_store"] else None,
        ship_to=ShipTo(**saved["ship_to"]) if saved["ship_to"] else None, voucher_code=saved["voucher_code"],
        delivery_method=saved["delivery_method"], visitor=uuid.UUID(saved["visitor"]) if saved["visitor"] else None,
        return_url=saved["return_url"],
        collect_window=CollectionWindow.objects.filter(pk=saved.get("collect_window") or 0).first(),
        collect_on=date.fromisoformat(saved["collect_on"]) if saved.get("collect_on") else None,
        collector_name=saved.get("collector_name", ""),
    )


@dataclass(frozen=True)
class AwaitingAuthentication:
    """A card checkout the shopper's bank wants to confirm (3-D Secure). Its stock is held and the card asked;
    the page or app completes the bank's check with `client_secret` (Stripe.js, or Stripe's mobile SDK), then
    finishes it (checkout_finish) before `authenticate_by`, when the hold lapses."""

    key: str
    payment_intent: str
    client_secret: str
    authenticate_by: datetime


def request_fingerprint(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _new_number() -> str:
    return "R" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(8))


def _set_status(order: Order, new: str, *, actor=None, note: str = "") -> None:
    """The one place an order's status changes; the caller holds the order's row lock."""
    if not order.can_transition_to(new):
        raise InvalidTransition(order, order.status, new)
    OrderEvent.objects.create(order=order, from_status=order.status, to_status=new, actor=actor, note=note)
    order.status = new
    order.save(update_fields=["status"])


# Checkout -------------------------------------------------------------------------------------


def _replayed(attempt: CheckoutAttempt, fingerprint: str) -> "Order | AwaitingAuthentication":
    if attempt.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different checkout; use a new key for a new order.",
            field="Idempotency-Key",
        )
    if attempt.order_id is None and attempt.authenticate_by is not None:
        return checkout_finish(attempt=attempt)  # a retry while the bank checks: where it stands now
    if attempt.order_id is None:
        raise CheckoutInProgress("A checkout with this Idempotency-Key is still being processed; retry shortly.")
    return attempt.order


def checkout_replay(*, idempotency_key: str, fingerprint: str) -> "Order | AwaitingAuthentication | None":
    """The order an earlier request with this key placed (or the bank's check it waits for), if any, refusing
    a different body; None too for a claim whose lease has run out without an order, which order_place then
    takes over."""
    attempt = CheckoutAttempt.objects.filter(key=idempotency_key).select_related("order").first()
    if attempt is None or (attempt.order_id is None and attempt.fingerprint == fingerprint and _lapsed(attempt)):
        return None
    return _replayed(attempt, fingerprint)


def _lapsed(attempt: CheckoutAttempt) -> bool:
    """A claim lapses when its lease ends (its request died) or, while the bank checks, when its hold does."""
    return (attempt.authenticate_by or attempt.created_at + settings.CHECKOUT_CLAIM_LEASE) < timezone.now()


def _lapsed_by(moment: datetime) -> Q:
    return (Q(authenticate_by__isnull=True, created_at__lt=moment - settings.CHECKOUT_CLAIM_LEASE)
            | Q(authenticate_by__lt=moment))


def _claim(idempotency_key: str, fingerprint: str, then: "Callable[[CheckoutAttempt], Order] | None" = None
           ) -> "CheckoutAttempt | Order | AwaitingAuthentication":
    """Claim the key: a new CheckoutAttempt, or what an earlier request with it placed. With `then`, the
    checkout is recorded by then(attempt) in the transaction that claims the key (the attempt is written with
    its order, before any stock row is touched), so a second request with the key waits on the claim's row and
    then answers the order the first one placed."""
    for round_ in range(2):
        try:
            with transaction.atomic():
                if then is not None:  # the claim is written with its order, as the order's first companion
                    return then(CheckoutAttempt(key=idempotency_key, fingerprint=fingerprint))
                return CheckoutAttempt.objects.create(key=idempotency_key, fingerprint=fingerprint)
        except IntegrityError as refused:  # another request with this key got there first
            earlier = CheckoutAttempt.objects.select_related("order").filter(key=idempotency_key).first()
            if earlier is None:  # ...and failed and let go of the key in the meantime (or it was not the key)
                if then is not None and round_ == 1:
                    raise refused
                continue
            if (earlier.order_id is None and earlier.fingerprint == fingerprint and _lapsed(earlier)
                    and _claim_take_over(earlier)):
                continue  # it was left by a request that died, or by a shopper who never finished: claim it afresh
            return _replayed(earlier, fingerprint)
    raise CheckoutInProgress("A checkout with this Idempotency-Key was just being processed; retry.")


def _claim_take_over(attempt: CheckoutAttempt) -> bool:
    """Let go of a lapsed claim that never became an order (its request died, or the shopper never finished
    the bank's check): its stock hold is released and its card authorisation voided, so the retry starts
    clean. False while it has not lapsed, or is in the hands of a request recording its order right now."""
    with transaction.atomic():
        stale = (CheckoutAttempt.objects.select_for_update(skip_locked=True)
                 .filter(_lapsed_by(timezone.now()), pk=attempt.pk, order__isnull=True).first())
        if stale is None:
            return False
        _let_go(stale)
    logger.warning("let go of checkout %s, left unfinished", attempt.key)
    return True


def _give_up(attempt: CheckoutAttempt) -> Order | None:
    """Let go of a claim that will not become an order, unless one was recorded for it meanwhile (returned)."""
    try:
        with transaction.atomic():
            mine = CheckoutAttempt.objects.select_for_update().filter(pk=attempt.pk).first()
            if mine is not None and mine.order_id is None:  # (a retry may have taken it over already)
                _let_go(mine)
            return mine.order if mine is not None and mine.order_id else None
    except DatabaseError:  # the connection itself failed: the claim's lease lets a retry take it over
        logger.warning("could not let go of checkout %s; its lease will", attempt.key, exc_info=True)
        return None


def _let_go(attempt: CheckoutAttempt) -> None:
    """Undo a claim that will not become an order, all at once in the caller's transaction: its card
    authorisation voided (first: it needs no database), its stock hold released, the claim deleted. If the
    database fails half-way, none of it is undone and the claim's lease lets a retry do it all again."""
    if attempt.payment_intent:
        _void_quietly(attempt.payment_intent)
    for hold in Reservation.objects.filter(reference=f"checkout:{attempt.pk}", status=Reservation.Status.ACTIVE):
        reservation_release(reservation=hold)
    attempt.delete()


def _void_quietly(intent_id: str) -> None:
    """Release the card hold of a checkout that will not become an order; if Stripe cannot just now, it is
    recorded as stray (in the caller's transaction) and payments_void_stray tries again."""
    try:
        stripe_gateway.void(payment_intent=intent_id)
    except PaymentProviderError:
        logger.exception("could not void %s after a failed checkout; payments_void_stray will retry", intent_id)
        StrayAuthorisation.objects.get_or_create(payment_intent=intent_id,
                                                 defaults={"reason": "checkout not placed"})


def _priced_lines(cart: Cart, channel: Channel) -> tuple[list, dict, str]:
    lines = cart_lines(cart)
    if not lines:
        raise CheckoutRefused("Your cart is empty.", field="cart")
    prices = prices_in_force(variant_ids=[l.variant_id for l in lines], channel=channel)
    missing = [l.variant.sku for l in lines if l.variant_id not in prices]
    if missing:
        raise CheckoutRefused(f"Not sold on {channel.name}: {', '.join(missing)}. Remove them to check out.",
                              field="cart", skus=missing)
    currencies = {p.currency for p in prices.values()}
    if len(currencies) != 1:
        raise CheckoutRefused("The cart mixes currencies and cannot be paid in one go.", field="cart")
    return lines, prices, currencies.pop()


def _check_fulfilment(choice: CheckoutChoice) -> None:
    if choice.fulfilment == Order.Fulfilment.PICKUP:
        store = choice.pickup_store
        if store is None or not (store.is_active and store.offers_pickup):
            raise CheckoutRefused("Choose a store that offers pickup.", field="store")
        window = choice.collect_window
        if window is not None and window.location_id != store.pk:
            raise CheckoutRefused(f"That collection window is not {store.name}'s; choose one of its own.",
                                  field="collect_window")
        if (window is None) != (choice.collect_on is None):
            raise CheckoutRefused("Choose a collection window and its day together.", field="collect_window")
        if window is not None and WEEKDAYS[choice.collect_on.weekday()] != window.weekday:
            raise CheckoutRefused(f"That window is on {window.get_weekday_display()}s, not on "
                                  f"{choice.collect_on:%A %-d %B}.", field="collect_on")
        if len(choice.collector_name) > 120:
            raise CheckoutRefused("The collector's name is too long (120 characters at most).",
                                  field="collector_name")
    elif choice.fulfilment == Order.Fulfilment.DELIVERY:
        if choice.ship_to is None:
            raise CheckoutRefused("Give a delivery address.", field="address")
    else:
        raise CheckoutRefused(f"Unknown fulfilment {choice.fulfilment!r}.", field="fulfilment")


def _check_payment(choice: CheckoutChoice) -> None:
    if choice.payment_method == Payment.Method.PAY_AT_PICKUP and choice.fulfilment != Order.Fulfilment.PICKUP:
        raise CheckoutRefused("Pay at pickup is only for orders collected in store.", field="payment_method")
    if choice.payment_method not in (Payment.Method.CARD, Payment.Method.PAY_AT_PICKUP):
        raise CheckoutRefused(f"Unknown payment method {choice.payment_method!r}.", field="payment_method")
    if not choice.email:
        raise CheckoutRefused("Give an email address for the order confirmation.", field="email")


@dataclass(frozen=True)
class Checkout:
    """A cart quoted for a checkout choice: what will be charged, the voucher, and where units come from."""

    quote: Quote
    voucher: Voucher | None
    routing: Routing

    @property
    def routed(self) -> list[Routed]:
        return self.routing.routed


def checkout_quote(
    *, cart: Cart, choice: CheckoutChoice, require_method: bool = True, first_if_unchosen: bool = False,
    routing: Routing | None = None, assume_held_at_store: bool = False,
) -> Checkout:
    """Price the cart for this choice: lines, voucher, the delivery methods this order can have (by the
    address and by which locations can send it), the chosen one's price, tax and total. With
    require_method=False (a quote before the shopper has chosen) a delivery quote lists the options and
    charges no delivery yet; with first_if_unchosen=True it charges the first (cheapest) option instead,
    also when the method chosen earlier does not reach this address (a form that preselects it).
    `routing` is where the units come from when a hold has them already (routing is skipped);
    `assume_held_at_store` routes a pickup to its store without reading its stock (order_place's first try).
    Raises CheckoutRefused (field named) or InsufficientStock."""
    _check_fulfilment(choice)
    lines, prices, currency = _priced_lines(cart, choice.channel)
    priced = [(l.variant, l.quantity, prices[l.variant_id].amount) for l in lines]
    subtotal = sum((price * quantity for _, quantity, price in priced), Decimal("0"))
    voucher, discount = None, Decimal("0")
    if choice.voucher_code:
        voucher, discount = voucher_evaluate(code=choice.voucher_code, subtotal=subtotal, currency=currency,
                                             customer=cart.customer, email=choice.email)
    wanted = [(l.variant, l.quantity) for l in lines]
    weight = sum(l.variant.weight_grams * l.quantity for l in lines)
    if choice.fulfilment == Order.Fulfilment.PICKUP:
        routing = routing or route_pickup(lines=wanted, store=choice.pickup_store, channel=choice.channel,
                                          assume_held=assume_held_at_store)
        country, kind, postcode = choice.pickup_store.country, DeliveryMethod.Kind.PICKUP, ""
    else:
        routing = routing or route_delivery(lines=wanted, channel=choice.channel, latitude=choice.ship_to.latitude,
                                            longitude=choice.ship_to.longitude, country=choice.ship_to.country)
        country, kind, postcode = choice.ship_to.country, DeliveryMethod.Kind.DELIVERY, choice.ship_to.postcode
    options = delivery_options(kind=kind, country=country, postcode=postcode, currency=currency,
                               goods_amount=subtotal - discount, weight_grams=weight,
                               one_location=len({r.location.pk for r in routing.routed}) == 1)
    if first_if_unchosen and options and choice.delivery_method not in {o.method.code for o in options}:
        choice = replace(choice, delivery_method=options[0].method.code)
    chosen = _chosen_method(choice, options, country, require_method)
    return Checkout(quote=quote(lines=priced, currency=currency, tax_country=country, discount=discount,
                                delivery=chosen, options=options), voucher=voucher, routing=routing)


def _chosen_method(choice: CheckoutChoice, options, country: str, require_method: bool):
    if choice.fulfilment == Order.Fulfilment.PICKUP:
        return options[0] if options else None  # pickup is free unless a pickup rate says otherwise
    if not options:
        raise CheckoutRefused(f"We cannot deliver this order to {country.upper()}.", field="address")
    offered = ", ".join(f"{o.method.code} ({o.amount} {o.currency})" for o in options)
    if not choice.delivery_method:
        if require_method:
            raise CheckoutRefused(f"Choose a delivery method: {offered}.", field="delivery_method",
                                  options=[o.method.code for o in options])
        return None
    for option in options:
        if option.method.code == choice.delivery_method:
            return option
    raise CheckoutRefused(f"{choice.delivery_method!r} is not available for this order; choose one of: {offered}.",
                          field="delivery_method", options=[o.method.code for o in options])


def order_place(
    *, cart: Cart, choice: CheckoutChoice, idempotency_key: str, fingerprint: str, actor=None
) -> "Order | AwaitingAuthentication":
    """Turn a cart into an order: stock committed where it is routed, card authorised, prices frozen. A card
    whose bank wants to check the shopper first answers AwaitingAuthentication, and checkout_finish records it.
    A retry with the key answers what the first request placed; `placed_now` is True only on an order this
    call recorded.

    A pickup is first placed as if the store held everything (no read of its stock: the guarded commit or hold
    is the check); only if the store refuses is it routed again with what the store holds and the rest sent
    from elsewhere (ship-to-store), and placed once more. Nothing of the first try stays: its claim, voucher use
    and order roll back with it, and no card was asked."""
    try:
        _check_payment(choice)
        checkout = checkout_quote(cart=cart, choice=choice, assume_held_at_store=True)
    except DomainError:  # perhaps a retry, after the cart was ordered by the first request with this key
        earlier = checkout_replay(idempotency_key=idempotency_key, fingerprint=fingerprint)
        if earlier is not None:
            return earlier
        raise
    try:
        return _place(cart, choice, idempotency_key, fingerprint, actor, checkout)
    except InsufficientStock:
        if not checkout.routing.assumed:
            raise
    return _place(cart, choice, idempotency_key, fingerprint, actor, checkout_quote(cart=cart, choice=choice))


def _place(cart: Cart, choice: CheckoutChoice, idempotency_key: str, fingerprint: str, actor, checkout: Checkout
           ) -> "Order | AwaitingAuthentication":
    if choice.payment_method != Payment.Method.CARD or checkout.quote.total <= 0:
        # Nothing to ask the card: claim, stock and order in one transaction, no hold.
        return _claim(idempotency_key, fingerprint,
                      then=lambda attempt: _record(cart, choice, attempt, actor, checkout, None, None))
    if not choice.card:
        raise CheckoutRefused("Give the card to pay with.", field="payment_method_id")
    claimed = _claim(idempotency_key, fingerprint)
    if not isinstance(claimed, CheckoutAttempt):
        return claimed
    try:
        return _pay_by_card(cart, choice, claimed, actor, checkout)
    except BaseException:
        _give_up(claimed)
        raise


def _pay_by_card(cart: Cart, choice: CheckoutChoice, attempt: CheckoutAttempt, actor, checkout: Checkout
                 ) -> "Order | AwaitingAuthentication":
    """Hold the stock, ask the card with no transaction open, then record the order (or wait for the bank)."""
    with transaction.atomic():  # under the claim's lock: a takeover either comes first (no hold) or finds it
        _still_claimed(attempt)
        hold = stock_reserve(lines=[StockLine(r.location, r.variant, r.quantity) for r in checkout.routed],
                             channel=choice.channel, reference=f"checkout:{attempt.pk}", savepoint=False)
    intent = stripe_gateway.authorise(
        amount=checkout.quote.total, currency=checkout.quote.currency, payment_method=choice.card,
        reference=f"checkout:{attempt.pk}", return_url=choice.return_url,
        created=lambda intent_id: _note_intent(attempt, intent_id))
    with transaction.atomic():
        _still_claimed(attempt)
        if intent.status == "requires_action":
            return _await_authentication(cart, choice, attempt, actor, hold, intent, checkout.routing)
        return _record(cart, choice, attempt, actor, checkout, hold, intent)


def _await_authentication(cart, choice, attempt, actor, hold: Reservation, intent, routing: Routing
                          ) -> AwaitingAuthentication:
    """Keep what the order will be made of on the claim (with why it is routed so), until the hold lapses; the
    hold stays."""
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(
        authenticate_by=hold.expires_at, cart=cart, placed_by=actor,
        choice={**_choice_saved(choice), "routing": routing.as_record()})
    return AwaitingAuthentication(key=attempt.key, payment_intent=intent.id, client_secret=intent.client_secret,
                                  authenticate_by=hold.expires_at)


FINISH_REFUSALS = (CheckoutRefused, CheckoutNotFinished, VoucherRefused, InsufficientStock, ReservationExpired)


def checkout_finish(*, attempt: CheckoutAttempt, intent=None) -> "Order | AwaitingAuthentication":
    """Finish a checkout that waits for the shopper's bank, from whichever comes first: the page or app coming
    back, Stripe's webhook (`intent` is the event's), a retry of the checkout, or the sweep. The order is
    recorded once, when the card is authorised for exactly the quoted total, with the hold's stock; while the
    bank is still checking, the answer says so. A check that failed, was abandoned past the hold, or can no
    longer become an order (the basket changed) lets the checkout go (hold released, card voided) and raises
    why: PaymentDeclined or CheckoutNotFinished; the basket is left as it was, to try again."""
    if attempt.order_id is not None:
        return attempt.order
    if attempt.authenticate_by is None or not attempt.payment_intent:
        raise CheckoutInProgress("A checkout with this Idempotency-Key is still being processed; retry shortly.")
    if intent is None:
        intent = stripe_gateway.retrieve(payment_intent=attempt.payment_intent)
    if intent.status == "requires_capture":
        try:
            with transaction.atomic():
                return _record_authenticated(attempt, intent)
        except FINISH_REFUSALS as refusal:
            placed = _give_up(attempt)
            if placed is not None:
                return placed
            if isinstance(refusal, ReservationExpired):
                raise _ran_out_of_time() from refusal
            raise
    if intent.status in ("requires_action", "requires_confirmation", "processing") and not _lapsed(attempt):
        return AwaitingAuthentication(key=attempt.key, payment_intent=intent.id, client_secret=intent.client_secret,
                                      authenticate_by=attempt.authenticate_by)
    placed = _give_up(attempt)
    if placed is not None:
        return placed
    if intent.status in ("requires_payment_method", "canceled"):
        raise stripe_gateway.declined(intent)
    raise _ran_out_of_time()


def _ran_out_of_time() -> CheckoutNotFinished:
    return CheckoutNotFinished(
        "Your bank's check was not finished while we held your items, so nothing was charged. Your basket is as "
        "you left it: check out again.", field="payment_method_id")


def _record_authenticated(attempt: CheckoutAttempt, intent) -> Order:
    """Record the order of a checkout whose card the bank has now authorised, under the claim's lock (the
    webhook and the browser racing record it once), from what the claim kept and the stock the hold has."""
    # No join under the lock: a row another transaction just committed is re-read, but not what it joins.
    locked = CheckoutAttempt.objects.select_for_update().filter(pk=attempt.pk).first()
    if locked is None:
        raise CheckoutNotFinished("This checkout was stopped before it finished, so nothing was charged. Your "
                                  "basket is as you left it: check out again.", field="payment_method_id")
    if locked.order_id is not None:
        return Order.objects.get(pk=locked.order_id)
    hold = (Reservation.objects.filter(reference=f"checkout:{locked.pk}", status=Reservation.Status.ACTIVE)
            .prefetch_related("lines__location", "lines__variant__product").first())
    cart = Cart.objects.select_related("customer").filter(pk=locked.cart_id, status=Cart.Status.OPEN).first()
    if hold is None:
        raise _ran_out_of_time()
    routed = [Routed(line.location, line.variant, line.quantity) for line in hold.lines.all()]
    held = units_by_variant([(r.variant, r.quantity) for r in routed])
    if cart is None or units_by_variant([(l.variant, l.quantity) for l in cart.lines.select_related("variant")]) != held:
        raise CheckoutNotFinished("Your basket changed while your bank was checking your card, so nothing was "
                                  "charged: check out again.", field="cart")
    choice = _choice_from(locked.choice)
    why = locked.choice.get("routing") or {"rule": "held", "said": "as held at checkout"}
    checkout = checkout_quote(cart=cart, choice=choice, routing=Routing(routed, why.get("rule", ""), why.get("said", ""),
                                                                        why.get("locations", [])))
    if stripe_gateway.authorised_amount(intent, checkout.quote.currency) != checkout.quote.total:
        raise CheckoutNotFinished("The total changed while your bank was checking your card, so nothing was "
                                  "charged: check the basket and check out again.", field="cart")
    return _record(cart, choice, locked, locked.placed_by, checkout, hold, intent)


def checkout_finish_by_key(*, idempotency_key: str) -> "Order | AwaitingAuthentication":
    """checkout_finish for the checkout this (owner-scoped) key placed; the app's call after the bank's check."""
    attempt = CheckoutAttempt.objects.select_related("order").filter(key=idempotency_key).first()
    if attempt is None:
        raise CheckoutNotFinished("There is no checkout waiting with this Idempotency-Key (it may have run out of "
                                  "time); nothing was charged.", field="Idempotency-Key")
    return checkout_finish(attempt=attempt)


def checkout_finish_by_intent(*, payment_intent: str, client_secret: str) -> "Order | AwaitingAuthentication":
    """checkout_finish for the page the shopper's bank (or Stripe.js) sends back to, which names the intent and
    proves it is theirs with its client secret."""
    intent = stripe_gateway.retrieve(payment_intent=payment_intent)
    if not hmac.compare_digest(str(getattr(intent, "client_secret", "")), client_secret):
        raise CheckoutNotFinished("This link does not belong to a checkout of yours.", field="payment_intent")
    attempt = CheckoutAttempt.objects.select_related("order").filter(payment_intent=payment_intent).first()
    if attempt is None:
        placed = Order.objects.filter(payment__stripe_payment_intent=payment_intent).first()
        if placed is not None:
            return placed
        raise _ran_out_of_time()
    return checkout_finish(attempt=attempt, intent=intent)


CHECKOUT_SWEEP_AHEAD = timedelta(minutes=2)  # the sweep runs each minute: catch what lapses before the next one


def checkouts_settle_unfinished(*, now: datetime | None = None) -> int:
    """The sweep: a claim left by a request that died is let go once its lease ends (hold released, card
    voided); a checkout waiting for the shopper's bank is recorded if the bank said yes (the page never came
    back, a webhook was lost) or let go when its hold lapses. Returns how many it settled."""
    moment = now or timezone.now()
    settled = 0
    due = (CheckoutAttempt.objects.select_related("order").filter(order__isnull=True)
           .filter(_lapsed_by(moment) | Q(authenticate_by__lt=moment + CHECKOUT_SWEEP_AHEAD)))
    for attempt in due.order_by("created_at").iterator():
        if attempt.authenticate_by is None:
            settled += _claim_take_over(attempt)
            continue
        try:
            settled += not isinstance(checkout_finish(attempt=attempt), AwaitingAuthentication)
        except (*FINISH_REFUSALS, PaymentDeclined):
            settled += 1
        except (PaymentProviderError, CheckoutInProgress):
            logger.warning("checkout %s not settled yet", attempt.key, exc_info=True)
    return settled


def _still_claimed(attempt: CheckoutAttempt) -> None:
    """Lock the claim for the caller's transaction, or refuse: a request that outlived its claim's lease, and
    whose key a retry took over, must not hold stock, ask the card, or record an order."""
    if not CheckoutAttempt.objects.select_for_update().filter(pk=attempt.pk, order__isnull=True).exists():
        raise CheckoutInProgress("This checkout took too long and was taken over by a retry; it was not placed.")


def _note_intent(attempt: CheckoutAttempt, intent_id: str) -> None:
    """Put the new card authorisation on the claim before the card is asked, or refuse if the claim is gone."""
    if not CheckoutAttempt.objects.filter(pk=attempt.pk, order__isnull=True).update(payment_intent=intent_id):
        raise CheckoutInProgress("This checkout took too long and was taken over by a retry; it was not placed.")


def _record(cart, choice, attempt, actor, checkout: Checkout, hold: Reservation | None, intent) -> Order:
    """Write the order in the caller's transaction, which holds the claim (just made, or locked): the voucher
    redeemed, prices frozen, the held stock committed (or, with no hold, committed now where it is routed),
    the cart closed, fulfilments made and the confirmation queued."""
    q, voucher = checkout.quote, checkout.voucher
    if voucher is not None:  # re-checked under the voucher's lock: the last use cannot be taken twice
        locked = Voucher.objects.select_for_update().filter(pk=voucher.pk).first()
        if locked is None:  # deleted while the card was asked
            raise VoucherRefused(f"{voucher.code!r} is not a valid code.", field="voucher", reason="unknown")
        voucher, discount = voucher_evaluate(code=locked.code, subtotal=q.subtotal, currency=q.currency,
                                             customer=cart.customer, email=choice.email)
        if discount != q.discount:
            raise CheckoutRefused(f"{voucher.code} changed while you checked out; review your total.",
                                  field="voucher")
        Voucher.objects.filter(pk=voucher.pk).update(uses=F("uses") + 1)
    ship_to = choice.ship_to
    order = Order.objects.create(
        number=_new_number(), customer=cart.customer, channel=choice.channel, fulfilment=choice.fulfilment,
        pickup_store=choice.pickup_store, email=choice.email, phone=choice.phone, currency=q.currency,
        subtotal_amount=q.subtotal, discount_amount=q.discount, total_amount=q.total, voucher=voucher,
        delivery_method=q.delivery.method if q.delivery else None, delivery_amount=q.delivery_amount,
        delivery_tax_amount=q.delivery_tax, delivery_tax_rate=q.delivery_tax_rate, tax_amount=q.tax,
        tax_country=q.tax_country, placed_by=actor,
        attribution=attribution_for(customer=cart.customer, visitor=choice.visitor, channel=choice.channel),
        **({} if ship_to is None else {
            "ship_to_name": ship_to.name, "ship_to_line1": ship_to.line1, "ship_to_line2": ship_to.line2,
            "ship_to_city": ship_to.city, "ship_to_postcode": ship_to.postcode, "ship_to_country": ship_to.country,
            "ship_to_latitude": ship_to.latitude, "ship_to_longitude": ship_to.longitude,
        }),
        routing=checkout.routing.as_record(), collector_name=choice.collector_name.strip(),
        **({} if choice.fulfilment != Order.Fulfilment.PICKUP else _collection(choice, checkout.routed)),
    )
    attempt.order = order  # a claim made with its order is written now (before any stock row is locked)
    attempt.save(update_fields=None if attempt.pk is None else ["order"])
    lines = OrderLine.objects.bulk_create(_order_lines(order, checkout.routed, q))
    _lines_known(order, lines)
    if voucher is not None:
        VoucherRedemption.objects.create(voucher=voucher, order=order, customer=cart.customer, email=choice.email)
    Payment.objects.create(
        order=order, method=choice.payment_method, currency=q.currency,
        status=(Payment.Status.PENDING if choice.payment_method == Payment.Method.PAY_AT_PICKUP
                else Payment.Status.AUTHORISED),
        authorised_amount=q.total if choice.payment_method == Payment.Method.CARD else Decimal("0"),
        stripe_payment_intent=intent.id if intent is not None else None,
    )
    OrderEvent.objects.create(order=order, to_status=Order.Status.PLACED, actor=actor)
    # No savepoints: a refusal rolls the whole order back (the caller's atomic block is all or nothing).
    if hold is not None:
        reservation_commit(reservation=hold, reference=f"order:{order.number}", actor=actor, savepoint=False)
    else:
        stock_commit(lines=[StockLine(r.location, r.variant, r.quantity) for r in checkout.routed],
                     channel=choice.channel, reference=f"order:{order.number}", actor=actor, savepoint=False)
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ORDERED, updated_at=timezone.now())
    order.placed_now = True
    order_placed.send(sender=Order, order=order)
    if cart.customer_id:
        interaction_record(customer=cart.customer, kind=Interaction.Kind.ORDER_PLACED, channel=choice.channel,
                           reference=f"order:{order.number}", detail={"total": str(q.total), "currency": q.currency})
    _confirm(order, lines)
    return order


def _collection(choice: CheckoutChoice, routed: list[Routed]) -> dict:
    """A pickup's first collection day (by where its units come from) and the window booked, under the
    window's lock: its orders that day are counted with every other booking waiting, so it is never overbooked
    however many checkouts book it at once."""
    store = choice.pickup_store
    ready = collect_from(store=store, sources={r.location for r in routed if r.location.pk != store.pk})
    window = choice.collect_window
    if window is None:
        return {"collect_from": ready}
    # Only the window's row: its default order joins the store, whose row every order references.
    locked = CollectionWindow.objects.select_for_update(of=("self",)).filter(pk=window.pk, location=store).order_by(
        ).first()
    if locked is None:
        raise CheckoutRefused(f"{store.name} no longer offers that collection window; choose another.",
                              field="collect_window")
    if choice.collect_on < ready:
        raise CheckoutRefused(f"Your order can be collected from {ready:%A %-d %B}; choose a window from then.",
                              field="collect_window")
    if not window_still_open(choice.collect_on, locked.ends):
        raise CheckoutRefused("That collection window has passed, or ends too soon to get your order ready; "
                              "choose a later one.", field="collect_window")
    booked = Order.objects.filter(collect_window=locked, collect_on=choice.collect_on).exclude(
        status=Order.Status.CANCELLED).count()
    if booked >= locked.capacity:
        raise CheckoutRefused(f"{locked} on {choice.collect_on:%-d %B} has just been fully booked; choose another "
                              f"window.", field="collect_window", reason="window_full")
    return {"collect_from": ready, "collect_window": locked, "collect_on": choice.collect_on}


def order_set_collector(*, order: Order, name: str, actor=None) -> Order:
    """Someone else collects (or, with no name, the shopper again): the counter shows the name; the pickup code
    still decides who takes the order."""
    name = " ".join(name.split())
    if len(name) > 120:
        raise CheckoutRefused("The collector's name is too long (120 characters at most).", field="collector_name")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if locked.fulfilment != Order.Fulfilment.PICKUP:
            raise CheckoutRefused("Only an order collected from a store has a collector.", field="collector_name")
        if locked.status in (Order.Status.CANCELLED, Order.Status.FULFILLED):
            raise CheckoutRefused(f"Order {locked.number} is {locked.get_status_display().lower()}; it can no "
                                  f"longer change hands.", field="collector_name")
        if locked.collector_name != name:
            OrderEvent.objects.create(order=locked, from_status=locked.status, to_status=locked.status, actor=actor,
                                      note=f"collector: {name}" if name else "the shopper collects")
            locked.collector_name = name
            locked.save(update_fields=["collector_name"])
    return locked


def _lines_known(order: Order, lines: list[OrderLine]) -> None:
    """order.lines.all() answers the lines just written, without reading them back: the fulfilments made on
    order_placed, the confirmation and the API's answer all read them (as a prefetch would leave them)."""
    known = OrderLine.objects.filter(order=order)
    known._result_cache, known._prefetch_done = lines, True
    order._prefetched_objects_cache = {"lines": known}


def _confirm(order: Order, lines: list[OrderLine], **context) -> None:
    """Queue the order confirmation (a receipt, for a till sale) in the transaction that records the order:
    by email, and by SMS where a phone was given or is on the account. Its links open the order and its
    receipt on any device, without an account. The email shows each line's picture: the products' pictures are
    read here in one query, not one per product as the template asks."""
    product_images_attach({line.variant.product_id: line.variant.product for line in lines}.values())
    message_queue(template="order_confirmation", to=recipient_for(order.customer, email=order.email, phone=order.phone),
                  reference=f"order:{order.number}", context={
                      "order": order, "lines": lines, "order_link": f"{settings.SITE_URL}{order_link(order)}",
                      "receipt_link": f"{settings.SITE_URL}{order_link(order, 'storefront:order-receipt')}",
                      **context})


def _order_lines(order: Order, routed: list[Routed], q: Quote) -> list[OrderLine]:
    """One order line per (variant, location) the units come from; a quoted line's discount and tax are
    split over its locations by units, so the lines always add up to the quote."""
    by_variant = {line.variant.pk: line for line in q.lines}
    rows = []
    for variant_id in dict.fromkeys(r.variant.pk for r in routed):
        line = by_variant[variant_id]
        parts = [r for r in routed if r.variant.pk == variant_id]
        units = [Decimal(r.quantity) for r in parts]
        discounts, taxes = shares(units, line.discount, q.currency), shares(units, line.tax, q.currency)
        for r, discount, tax in zip(parts, discounts, taxes, strict=True):
            rows.append(OrderLine(
                order=order, variant=r.variant, location=r.location, sku=r.variant.sku, name=r.variant.name,
                options=r.variant.options, unit_price_amount=line.unit_price, discount_amount=discount,
                tax_rate=line.tax_rate, tax_amount=tax, currency=q.currency, quantity=r.quantity,
            ))
    return rows


# The till -------------------------------------------------------------------------------------


MAX_TILL_LINES = 100  # different items in one sale at the counter: more is a mistake (or an attack)


def till_quote(*, store: Location, lines: list[tuple[Variant, int]]) -> Quote:
    """What the shopper at the counter pays, before paying: the store's till prices (its own price first),
    taxed at the store's country, the same breakdown the web and the app show. Changes nothing."""
    if not lines:
        raise CheckoutRefused("Scan at least one item.", field="lines")
    if len(lines) > MAX_TILL_LINES:
        raise CheckoutRefused(f"At most {MAX_TILL_LINES} different items in one sale; ring up the rest as another.",
                              field="lines")
    till = Channel.objects.get(code=Channel.TILL)
    prices = prices_in_force(variant_ids=[v.pk for v, _ in lines], channel=till, location=store)
    missing = [v.sku for v, _ in lines if v.pk not in prices]
    if missing:
        raise CheckoutRefused(f"Not sold at {store.name}: {', '.join(missing)}.", field="lines", skus=missing)
    currency = prices[lines[0][0].pk].currency
    return quote(lines=[(v, n, prices[v.pk].amount) for v, n in lines], currency=currency, tax_country=store.country)


@transaction.atomic
def till_sale(
    *, store: Location, lines: list[tuple[Variant, int]], staff, payment_method: str, customer: Customer | None = None,
    cash_tendered: Decimal | None = None,
) -> Order:
    """A sale across the counter at the quoted prices, paid in full. Units leave at once (safety stock may
    be sold); the customer is holding them, so units the ledger did not show at the store are first booked
    as found at the till, never refused. For cash, `cash_tendered` is what the customer handed over (at least
    the total; None when not counted): the payment keeps it, and the change is the rest. A named customer's
    online cart loses the units they have just bought, and they are sent the receipt, in the same transaction."""
    if payment_method not in (Payment.Method.CASH, Payment.Method.CARD_PRESENT):
        raise CheckoutRefused("At the till, take cash or a card on the terminal.", field="payment_method")
    if cash_tendered is not None and payment_method != Payment.Method.CASH:
        raise CheckoutRefused("Cash tendered goes with a cash payment.", field="cash_tendered")
    q = till_quote(store=store, lines=lines)
    till = Channel.objects.get(code=Channel.TILL)
    currency, total = q.currency, q.total
    if cash_tendered is not None and cash_tendered < total:
        raise CheckoutRefused(
            f"{format_money(cash_tendered, currency)} is less than the total of {format_money(total, currency)}: "
            "take at least the total.", field="cash_tendered", total=str(total),
        )
    order = Order.objects.create(
        number=_new_number(), customer=customer, channel=till, fulfilment=Order.Fulfilment.TILL,
        email=customer.email if customer else "", currency=currency, subtotal_amount=q.subtotal, total_amount=total,
        tax_amount=q.tax, tax_country=q.tax_country, placed_by=staff,
        attribution=attribution_for(customer=customer, visitor=None, channel=till),
    )
    stock_sell(lines=[StockLine(store, v, n) for v, n in lines], reference=f"order:{order.number}", actor=staff,
               book_found=True)
    sold = OrderLine.objects.bulk_create([
        OrderLine(order=order, variant=line.variant, location=store, sku=line.variant.sku, name=line.variant.name,
                  options=line.variant.options, unit_price_amount=line.unit_price, tax_rate=line.tax_rate,
                  tax_amount=line.tax, currency=currency, quantity=line.quantity, quantity_fulfilled=line.quantity)
        for line in q.lines
    ])
    Payment.objects.create(order=order, method=payment_method, status=Payment.Status.CAPTURED, currency=currency,
                           authorised_amount=total, captured_amount=total, tendered_amount=cash_tendered)
    OrderEvent.objects.create(order=order, to_status=Order.Status.PLACED, actor=staff, note=f"till at {store.code}")
    _set_status(order, Order.Status.FULFILLED, actor=staff, note="handed over at the till")
    if customer is not None:
        interaction_record(customer=customer, kind=Interaction.Kind.ORDER_PLACED, channel=till,
                           reference=f"order:{order.number}", detail={"store": store.code, "total": str(total)})
        cart_remove_sold(customer=customer, sold=units_by_variant(lines), channel=till)
        _confirm(order, sold, store=store)
    return order


# Cancelling -----------------------------------------------------------------------------------


def order_cancel(*, order: Order, actor=None, note: str = "", lines: dict[int, int] | None = None,
                 stock_released: bool = False, first: Callable[[Order], None] | None = None) -> Order:
    """Cancel what has not left yet: all of it, or `lines` ({order line id: units}). Committed stock goes
    back (unless the caller has released it already: a short pick); when nothing is left to send and nothing
    was taken, the card authorisation is voided. What stays is captured later for the lines that are sent, so
    cancelled units are never charged. `first` runs under the order's lock before anything changes; what it
    raises stops the cancellation."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if first is not None:
            first(locked)
        if locked.status == Order.Status.CANCELLED:
            return locked
        if locked.status == Order.Status.FULFILLED:
            raise OrderNotCancellable(f"Order {locked.number} has been fulfilled; return the items instead.")
        all_lines = list(locked.lines.select_related("variant", "location"))
        by_id = {line.pk: line for line in all_lines}
        wanted = lines if lines is not None else {line.pk: line.quantity_open for line in all_lines}
        for line_id, units in wanted.items():
            line = by_id.get(line_id)
            if line is None:
                raise OrderNotCancellable(f"Order {locked.number} has no line {line_id}.", field="lines")
            if isinstance(units, bool) or not isinstance(units, int) or units < 0 or units > line.quantity_open:
                raise OrderNotCancellable(
                    f"{line.sku}: can cancel 0 to {line.quantity_open}, not {units!r}.", field="lines")
        changing = [(by_id[i], u) for i, u in wanted.items() if u]
        promised = [(line, units) for line, units in changing if not line.in_transit]  # in transit: see OrderLine
        if promised and not stock_released:
            stock_release_committed(
                lines=[StockLine(line.location, line.variant, units) for line, units in promised],
                reference=f"order:{locked.number}", actor=actor,
            )
        for line, units in changing:
            line.quantity_cancelled += units
        OrderLine.objects.bulk_update([line for line, _ in changing], ["quantity_cancelled"])
        still_open = any(line.quantity_open for line in all_lines)
        anything_sent = any(line.quantity_fulfilled for line in all_lines)
        if not still_open:
            _set_status(locked, Order.Status.FULFILLED if anything_sent else Order.Status.CANCELLED, actor=actor,
                        note=note or "cancelled")
        elif changing:
            OrderEvent.objects.create(order=locked, from_status=locked.status, to_status=locked.status, actor=actor,
                                      note=note or "; ".join(f"cancelled {u} × {l.sku}" for l, u in changing))
        if changing:
            order_lines_cancelled.send(sender=Order, order=locked)
        payment = Payment.objects.select_for_update().get(order=locked)
        void_card = False
        if not still_open and payment.captured_amount == 0:
            if payment.stripe_payment_intent and payment.status == Payment.Status.AUTHORISED:
                void_card = True
            elif payment.status in (Payment.Status.AUTHORISED, Payment.Status.PENDING):
                Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.VOIDED, updated_at=timezone.now())
        cancelled_units = sum(line.quantity_cancelled for line in all_lines)
    if void_card:  # after the stock rows are released, never while they are locked
        try:
            payment_void(payment=payment)
        except PaymentProviderError:  # the order is cancelled and the stock back: the void follows
            logger.exception("voiding the card of cancelled %s failed; payments_void_stray will retry",
                             locked.number)
    if payment.status == Payment.Status.CAPTURED and changing:
        try:
            _refund_overcharge(locked, cancelled_units)
        except PaymentProviderError:  # the units are cancelled and back on the shelf: the money follows
            logger.exception("refund after cancelling %s failed; payments_refund_overcharged will retry",
                             locked.number)
    locked.refresh_from_db()
    return locked


def _refund_overcharge(order: Order, cancelled_units: int) -> None:
    """Units cancelled after the card was charged (a pickup charged when it was ready, then not all collected)
    get their money back: what was taken beyond what the order now costs. Once per cancellation."""
    order = Order.objects.prefetch_related("lines").get(pk=order.pk)
    payment = Payment.objects.get(order=order)
    over = payment.captured_amount - payment.refunded_amount - amount_due(order=order)
    if over > 0:
        payment_refund(order=order, amount=over, reason="cancelled after payment",
                       idempotency_key=f"order:{order.number}:cancelled:{cancelled_units}")


def payments_refund_overcharged() -> int:
    """Refund orders charged for units cancelled since, whose refund failed when they were cancelled (an
    outage): the retry sweep. Returns how many were refunded."""
    refunded = 0
    due = (Order.objects.filter(payment__status=Payment.Status.CAPTURED, lines__quantity_cancelled__gt=0,
                                payment__refunded_amount__lt=F("payment__captured_amount")).distinct())
    for order in due:
        cancelled_units = sum(line.quantity_cancelled for line in order.lines.all())
        try:
            before = Payment.objects.get(order=order).refunded_amount
            _refund_overcharge(order, cancelled_units)
            refunded += Payment.objects.get(order=order).refunded_amount > before
        except PaymentProviderError:
            logger.warning("refund after cancelling %s failed again", order.number, exc_info=True)
    return refunded


def order_lines_sent(*, order: Order, quantities: dict[int, int], actor=None, note: str = "") -> Order:
    """Units left the building (shipped or collected): the lines count them and the status follows.
    Runs inside the caller's transaction; money is settled after it commits (order_settle)."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    lines = {line.pk: line for line in locked.lines.all()}
    for line_id, units in quantities.items():
        line = lines[line_id]
        if units > line.quantity_open:
            raise OrderNotCancellable(f"{line.sku}: only {line.quantity_open} still to send, not {units}.")
        line.quantity_fulfilled += units
    OrderLine.objects.bulk_update([lines[i] for i in quantities], ["quantity_fulfilled"])
    new = Order.Status.PARTLY_FULFILLED if any(l.quantity_open for l in lines.values()) else Order.Status.FULFILLED
    if new != locked.status:
        _set_status(locked, new, actor=actor, note=note)
    return locked


def order_settle(*, order: Order) -> Payment | None:
    """Take the money once nothing is left to send: the amount due for what was not cancelled.

    Stripe captures a PaymentIntent once, so a split order is captured when its last parcel leaves.
    Call it after the goods' transaction commits; if Stripe is down, payments_capture_due retries.
    """
    order = Order.objects.prefetch_related("lines").get(pk=order.pk)
    if order.status != Order.Status.FULFILLED:
        return None
    payment = Payment.objects.get(order=order)
    if payment.status not in (Payment.Status.AUTHORISED, Payment.Status.PENDING):
        return payment
    try:
        return payment_capture(order=order, amount=amount_due(order=order))
    except PaymentProviderError:
        logger.exception("capture for %s failed; payments_capture_due will retry", order.number)
        return payment


def payments_capture_due() -> int:
    """Capture every fulfilled order whose money is still only authorised (a retry after an outage)."""
    due = Order.objects.filter(status=Order.Status.FULFILLED, payment__status=Payment.Status.AUTHORISED)
    return sum(1 for order in due if order_settle(order=order).status == Payment.Status.CAPTURED)


def payments_void_stray() -> int:
    """Release card holds nothing will ever charge, whose void failed when they were let go (an outage):
    authorisations of checkouts that were not placed, and of cancelled orders. Returns how many were voided."""
    voided = 0
    for stray in StrayAuthorisation.objects.all():
        try:
            stripe_gateway.void(payment_intent=stray.payment_intent)
        except PaymentProviderError:
            StrayAuthorisation.objects.filter(pk=stray.pk).update(tries=F("tries") + 1)
            logger.warning("voiding stray %s failed again", stray.payment_intent, exc_info=True)
            continue
        stray.delete()
        voided += 1
    cancelled = Payment.objects.filter(order__status=Order.Status.CANCELLED, status=Payment.Status.AUTHORISED,
                                       captured_amount=0).exclude(stripe_payment_intent="")
    for payment in cancelled:
        try:
            voided += payment_void(payment=payment).status == Payment.Status.VOIDED
        except PaymentProviderError:
            logger.warning("voiding the card of cancelled %s failed again", payment.order_id, exc_info=True)
    return voided


def authorisation_lapses_at(*, order: Order) -> datetime:
    """When the bank lets the card authorisation of an order go (it was authorised as the order was placed)."""
    return order.placed_at + settings.CARD_AUTHORISATION_VALIDITY


def order_charge_before_lapse(*, order: Order, needed_until: datetime) -> Payment | None:
    """Charge the card now if its authorisation would lapse before `needed_until` (a pickup that may wait at
    the counter longer than the bank holds the money): what the order costs for what is not cancelled.

    Captured rather than re-authorised: a new authorisation would need the shopper there for their bank's
    check (3-D Secure) and could be declined, while a capture within the authorisation cannot be. An uncollected
    pickup is then refunded in full, and units cancelled at the counter get their money back (order_cancel).
    If the authorisation has lapsed already, the order is paid at the counter instead. Returns the payment
    when it changed; if Stripe is down it stays authorised and pickups_charge_before_lapse tries again."""
    payment = Payment.objects.get(order=order)
    if (payment.method != Payment.Method.CARD or payment.status != Payment.Status.AUTHORISED
            or not payment.stripe_payment_intent or authorisation_lapses_at(order=order) > needed_until):
        return None
    order = Order.objects.prefetch_related("lines").get(pk=order.pk)
    try:
        return payment_capture(order=order, amount=amount_due(order=order))
    except PaymentProviderError:
        if stripe_gateway.retrieve(payment_intent=payment.stripe_payment_intent).status != "canceled":
            raise
        return _pay_at_counter_instead(payment, note="the card authorisation lapsed before the order was ready")


def _pay_at_counter_instead(payment: Payment, *, note: str) -> Payment:
    """A pickup whose card authorisation lapsed before it was charged: the counter takes the payment, so it is
    never handed over unpaid."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != Payment.Status.AUTHORISED:
            return locked
        locked.method, locked.status, locked.updated_at = (Payment.Method.PAY_AT_PICKUP, Payment.Status.PENDING,
                                                           timezone.now())
        locked.save(update_fields=["method", "status", "updated_at"])
        order = Order.objects.get(pk=locked.order_id)
        OrderEvent.objects.create(order=order, from_status=order.status, to_status=order.status,
                                  note=f"{note}: take payment at the counter")
    return locked


def payments_report_lapsing(*, now: datetime | None = None) -> int:
    """Tell each store, once a day, which of its orders still hold only a card authorisation that lapses within
    CARD_AUTHORISATION_WARNING (send or hand them over first, or the shopper will have to pay again), and log
    each as it is told. Returns how many orders this run told a store about (0 when run again the same day)."""
    moment = now or timezone.now()
    oldest = moment + settings.CARD_AUTHORISATION_WARNING - settings.CARD_AUTHORISATION_VALIDITY
    lapsing = (Order.objects.filter(payment__status=Payment.Status.AUTHORISED, payment__method=Payment.Method.CARD,
                                    placed_at__lte=oldest)
               .exclude(status__in=[Order.Status.CANCELLED, Order.Status.FULFILLED])
               .prefetch_related("lines__location").order_by("placed_at"))
    by_store: dict[Location, list[dict]] = {}
    for order in lapsing:
        row = {"number": order.number, "lapses_at": authorisation_lapses_at(order=order),
               "total": order.total_amount, "currency": order.currency}
        for store in {line.location for line in order.lines.all() if line.quantity_open}:
            by_store.setdefault(store, []).append(row)
    day, told = timezone.localdate(moment), 0
    for store, rows in by_store.items():
        if store.email and message_queue(template="authorisations_lapsing", context={"store": store, "rows": rows},
                                         to=Recipient(email=store.email),
                                         reference=f"lapsing:{store.code}:{day:%Y-%m-%d}"):
            for row in rows:
                logger.warning("card authorisation for %s lapses at %s and nothing is charged yet; %s told",
                               row["number"], row["lapses_at"], store.code)
            told += len(rows)
    return told


def amount_due(*, order: Order) -> Decimal:
    """What the shopper pays for the units that are not cancelled, and the delivery if anything is sent:
    the receipt's VAT bands added up, so what is captured and what the receipt says cannot differ."""
    return sum((band.gross for band in order_tax_summary(order=order)), Decimal("0.00"))


# Money ----------------------------------------------------------------------------------------


def payment_void(*, payment: Payment) -> Payment:
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.status != Payment.Status.AUTHORISED:
            return locked
        stripe_gateway.void(payment_intent=locked.stripe_payment_intent)
        locked.status, locked.updated_at = Payment.Status.VOIDED, timezone.now()
        locked.save(update_fields=["status", "updated_at"])
    return locked


def payment_capture(*, order: Order, amount: Decimal) -> Payment:
    """Take `amount` of the authorised money (goods have left). Stripe captures once per intent; the
    rest of the authorisation is released. Capturing again changes nothing."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(order=order)
        if payment.status == Payment.Status.CAPTURED:
            return payment
        if payment.status == Payment.Status.PENDING:  # pay at pickup: paid at the counter
            payment.status, payment.authorised_amount, payment.captured_amount = Payment.Status.CAPTURED, amount, amount
        elif payment.status == Payment.Status.AUTHORISED:
            if amount > payment.authorised_amount:
                raise PaymentNotCapturable(f"Cannot capture {amount}; only {payment.authorised_amount} was authorised.")
            if payment.stripe_payment_intent:
                stripe_gateway.capture(payment_intent=payment.stripe_payment_intent, amount=amount,
                                       currency=payment.currency)
            payment.status, payment.captured_amount = Payment.Status.CAPTURED, amount
        else:
            raise InvalidTransition(payment, payment.status, Payment.Status.CAPTURED)
        payment.updated_at = timezone.now()
        payment.save(update_fields=["status", "authorised_amount", "captured_amount", "updated_at"])
    return payment


def payment_refund(
    *, order: Order, amount: Decimal, reason: str, idempotency_key: str, tax_amount: Decimal = Decimal("0"),
    delivery_amount: Decimal = Decimal("0"),
) -> Refund:
    """Give money back to the original payment, never more than was taken; once per key. The refund
    records the tax (and any delivery) inside it, for the shopper's refund note and the books."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(order=order)
        earlier = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier
        refundable = payment.captured_amount - payment.refunded_amount
        if amount <= 0 or amount > refundable:
            raise RefundRefused(f"Can refund between 0.01 and {refundable} {payment.currency}.", field="amount")
        stripe_refund = ""
        if payment.stripe_payment_intent and payment.method == Payment.Method.CARD:
            stripe_refund = stripe_gateway.refund(payment_intent=payment.stripe_payment_intent, amount=amount,
                                                  currency=payment.currency, reference=idempotency_key).id
        refund = Refund.objects.create(payment=payment, amount=amount, reason=reason, stripe_refund=stripe_refund,
                                       idempotency_key=idempotency_key, tax_amount=tax_amount,
                                       delivery_amount=delivery_amount)
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("refunded_amount") + amount,
                                                     updated_at=timezone.now())
    return refund


# Stripe webhooks ------------------------------------------------------------------------------


FINISHING_EVENTS = ("payment_intent.amount_capturable_updated", "payment_intent.payment_failed",
                    "payment_intent.canceled")


def stripe_event_apply(*, event) -> bool:
    """Apply a verified event at most once. Updates only move a payment forward, so replays and
    events arriving out of order change nothing they should not. An event about a checkout waiting for the
    shopper's bank finishes it (the order recorded, or the checkout let go). Returns whether it was new."""
    intent_id = ""
    obj = event.data.object
    if event.type.startswith("payment_intent."):
        intent_id = obj.id
    elif event.type.startswith("charge."):
        intent_id = getattr(obj, "payment_intent", None) or ""
    try:
        with transaction.atomic():
            StripeEvent.objects.create(event_id=event.id, type=event.type, payment_intent=intent_id)
            payment = Payment.objects.select_for_update().filter(stripe_payment_intent=intent_id).first() \
                if intent_id else None
            if payment is not None:
                _apply_to_payment(payment, event.type, obj)
    except IntegrityError:
        if StripeEvent.objects.filter(event_id=event.id).exists():
            return False
        raise
    if payment is None and event.type in FINISHING_EVENTS:
        _finish_from_webhook(intent_id, obj)
    return True


def _finish_from_webhook(intent_id: str, intent) -> None:
    """The bank's answer for a checkout still waiting for it. A refusal is the shopper's to see when their page
    comes back; if this fails half-way, the page, a retry or the sweep finishes it."""
    attempt = (CheckoutAttempt.objects.select_related("order")
               .filter(payment_intent=intent_id, order__isnull=True, authenticate_by__isnull=False).first())
    if attempt is None:
        return
    try:
        checkout_finish(attempt=attempt, intent=intent)
    except (*FINISH_REFUSALS, PaymentDeclined) as refusal:
        logger.info("checkout %s not placed after the bank's answer: %s", attempt.key, refusal)


def _apply_to_payment(payment: Payment, event_type: str, obj) -> None:
    fields = []
    if event_type == "payment_intent.succeeded" and payment.status in (Payment.Status.AUTHORISED,):
        payment.status = Payment.Status.CAPTURED
        payment.captured_amount = stripe_gateway.from_minor_units(obj["amount_received"], payment.currency)
        fields += ["status", "captured_amount"]
    elif event_type == "payment_intent.canceled" and payment.status == Payment.Status.AUTHORISED:
        order = Order.objects.get(pk=payment.order_id)
        if order.fulfilment == Order.Fulfilment.PICKUP and order.status not in (Order.Status.CANCELLED,
                                                                                Order.Status.FULFILLED):
            _pay_at_counter_instead(payment, note="the card authorisation lapsed")  # never handed over unpaid
            return
        payment.status = Payment.Status.VOIDED
        fields += ["status"]
    elif event_type == "charge.refunded":
        if payment.status == Payment.Status.AUTHORISED and getattr(obj, "captured", False):
            # The refund overtook the capture's own event: the charge says it was captured.
            payment.status = Payment.Status.CAPTURED
            payment.captured_amount = stripe_gateway.from_minor_units(obj["amount_captured"], payment.currency)
            fields += ["status", "captured_amount"]
        refunded = stripe_gateway.from_minor_units(obj["amount_refunded"], payment.currency)
        if refunded > payment.refunded_amount:
            payment.refunded_amount = min(refunded, payment.captured_amount)
            fields += ["refunded_amount"]
    if fields:
        payment.updated_at = timezone.now()
        payment.save(update_fields=[*fields, "updated_at"])
