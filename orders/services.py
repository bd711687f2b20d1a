"""Every write about orders and money: checkout from any channel, the till sale, cancelling,
capturing and refunding payments, and applying Stripe webhooks.

Checkout runs in three steps so that no Stripe call happens while stock rows are locked:
  1. claim the Idempotency-Key, quote the cart (orders.pricing: lines, discount, delivery, tax), route it,
     and reserve the stock (short transaction);
  2. authorise the card at Stripe (no transaction open);
  3. in one transaction: redeem the voucher, write the order with frozen prices, commit the reserved
     stock at the routed locations, close the cart, queue the order confirmation.
Any failure after step 1 releases the hold, and after step 2 also voids the authorisation.
"""
import hashlib
import json
import logging
import secrets
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.models import Channel, Variant
from catalog.selectors import prices_in_force
from core.exceptions import InvalidTransition
from core.money import format_money, shares
from customers.attribution import attribution_for
from customers.models import Address, Cart, Customer, Interaction
from customers.selectors import recipient_for
from customers.services import cart_remove_sold, interaction_record
from inventory.models import Location
from inventory.services import (
    StockLine,
    reservation_commit,
    reservation_release,
    stock_release_committed,
    stock_reserve,
    stock_sell,
)
from notifications.services import message_queue

from . import stripe_gateway
from .exceptions import (
    CheckoutInProgress,
    CheckoutRefused,
    IdempotencyKeyReused,
    OrderNotCancellable,
    PaymentNotCapturable,
    PaymentProviderError,
    RefundRefused,
)
from .models import (
    CheckoutAttempt,
    DeliveryMethod,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Refund,
    StripeEvent,
    Voucher,
    VoucherRedemption,
)
from .pricing import Quote, delivery_options, quote
from .routing import Routed, route_delivery, route_pickup
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


def _replayed(attempt: CheckoutAttempt, fingerprint: str) -> Order:
    if attempt.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different checkout; use a new key for a new order.",
            field="Idempotency-Key",
        )
    if attempt.order_id is None:
        raise CheckoutInProgress("A checkout with this Idempotency-Key is still being processed; retry shortly.")
    return attempt.order


def checkout_replay(*, idempotency_key: str, fingerprint: str) -> Order | None:
    """The order an earlier request with this key placed, if any (refusing a different body)."""
    attempt = CheckoutAttempt.objects.filter(key=idempotency_key).select_related("order").first()
    return _replayed(attempt, fingerprint) if attempt else None


def _claim(idempotency_key: str, fingerprint: str) -> CheckoutAttempt | Order:
    try:
        with transaction.atomic():
            return CheckoutAttempt.objects.create(key=idempotency_key, fingerprint=fingerprint)
    except IntegrityError:  # another request with this key got there first
        earlier = CheckoutAttempt.objects.select_related("order").filter(key=idempotency_key).first()
        if earlier is None:  # ...and failed and let go of the key in the meantime
            raise CheckoutInProgress("A checkout with this Idempotency-Key was just being processed; retry.") from None
        return _replayed(earlier, fingerprint)


def _priced_lines(cart: Cart, channel: Channel) -> tuple[list, dict, str]:
    lines = list(cart.lines.select_related("variant__product").order_by("id"))
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
    routed: list[Routed]


def checkout_quote(
    *, cart: Cart, choice: CheckoutChoice, require_method: bool = True, first_if_unchosen: bool = False
) -> Checkout:
    """Price the cart for this choice: lines, voucher, the delivery methods this order can have (by the
    address and by which locations can send it), the chosen one's price, tax and total. With
    require_method=False (a quote before the shopper has chosen) a delivery quote lists the options and
    charges no delivery yet; with first_if_unchosen=True it charges the first (cheapest) option instead,
    also when the method chosen earlier does not reach this address (a form that preselects it).
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
        routed = route_pickup(lines=wanted, store=choice.pickup_store)
        country, kind, postcode = choice.pickup_store.country, DeliveryMethod.Kind.PICKUP, ""
    else:
        routed = route_delivery(lines=wanted, channel=choice.channel, latitude=choice.ship_to.latitude,
                                longitude=choice.ship_to.longitude)
        country, kind, postcode = choice.ship_to.country, DeliveryMethod.Kind.DELIVERY, choice.ship_to.postcode
    options = delivery_options(kind=kind, country=country, postcode=postcode, currency=currency,
                               goods_amount=subtotal - discount, weight_grams=weight,
                               one_location=len({r.location.pk for r in routed}) == 1)
    if first_if_unchosen and options and choice.delivery_method not in {o.method.code for o in options}:
        choice = replace(choice, delivery_method=options[0].method.code)
    chosen = _chosen_method(choice, options, country, require_method)
    return Checkout(quote=quote(lines=priced, currency=currency, tax_country=country, discount=discount,
                                delivery=chosen, options=options), voucher=voucher, routed=routed)


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
) -> Order:
    """Turn a cart into an order: stock committed where it is routed, card authorised, prices frozen."""
    claimed = _claim(idempotency_key, fingerprint)
    if isinstance(claimed, Order):
        return claimed
    try:
        return _place(cart, choice, claimed, actor)
    except BaseException:
        CheckoutAttempt.objects.filter(pk=claimed.pk, order__isnull=True).delete()
        raise


def _place(cart: Cart, choice: CheckoutChoice, attempt: CheckoutAttempt, actor) -> Order:
    _check_payment(choice)
    checkout = checkout_quote(cart=cart, choice=choice)
    total = checkout.quote.total
    if choice.payment_method == Payment.Method.CARD and total > 0 and not choice.card:
        raise CheckoutRefused("Give the card to pay with.", field="payment_method_id")
    routed = checkout.routed
    hold = stock_reserve(lines=[StockLine(r.location, r.variant, r.quantity) for r in routed], channel=choice.channel,
                         reference=f"checkout:{attempt.pk}")

    intent = None
    try:
        if choice.payment_method == Payment.Method.CARD and total > 0:
            intent = stripe_gateway.authorise(amount=total, currency=checkout.quote.currency,
                                              payment_method=choice.card, reference=f"checkout:{attempt.pk}")
        with transaction.atomic():
            return _record(cart, choice, attempt, actor, checkout, hold, intent)
    except BaseException:
        reservation_release(reservation=hold)
        if intent is not None:
            try:
                stripe_gateway.void(payment_intent=intent.id)
            except PaymentProviderError:
                logger.exception("could not void %s after a failed checkout", intent.id)
        raise


def _record(cart, choice, attempt, actor, checkout: Checkout, hold, intent) -> Order:
    q, voucher = checkout.quote, checkout.voucher
    if voucher is not None:  # re-checked under the voucher's lock: the last use cannot be taken twice
        voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
        voucher, discount = voucher_evaluate(code=voucher.code, subtotal=q.subtotal, currency=q.currency,
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
        }),
    )
    lines = OrderLine.objects.bulk_create(_order_lines(order, checkout.routed, q))
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
    reservation_commit(reservation=hold, reference=f"order:{order.number}", actor=actor)
    Cart.objects.filter(pk=cart.pk).update(status=Cart.Status.ORDERED, updated_at=timezone.now())
    attempt.order = order
    attempt.save(update_fields=["order"])
    order_placed.send(sender=Order, order=order)
    if cart.customer_id:
        interaction_record(customer=cart.customer, kind=Interaction.Kind.ORDER_PLACED, channel=choice.channel,
                           reference=f"order:{order.number}", detail={"total": str(q.total), "currency": q.currency})
    _confirm(order, lines)
    return order


def _confirm(order: Order, lines: list[OrderLine], **context) -> None:
    """Queue the order confirmation (a receipt, for a till sale) in the transaction that records the order:
    by email, and by SMS where a phone was given or is on the account. Its links open the order and its
    receipt on any device, without an account."""
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


def till_quote(*, store: Location, lines: list[tuple[Variant, int]]) -> Quote:
    """What the shopper at the counter pays, before paying: the store's till prices (its own price first),
    taxed at the store's country, the same breakdown the web and the app show. Changes nothing."""
    if not lines:
        raise CheckoutRefused("Scan at least one item.", field="lines")
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


def order_cancel(*, order: Order, actor=None, note: str = "", lines: dict[int, int] | None = None) -> Order:
    """Cancel what has not left yet: all of it, or `lines` ({order line id: units}). Committed stock goes
    back; when nothing is left to send and nothing was taken, the card authorisation is voided. What
    stays is captured later for the lines that are sent, so cancelled units are never charged."""
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
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
        stock_release_committed(
            lines=[StockLine(line.location, line.variant, units) for line, units in changing],
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
    if void_card:  # after the stock rows are released, never while they are locked
        payment_void(payment=payment)
    locked.refresh_from_db()
    return locked


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
        if payment.stripe_payment_intent:
            stripe_refund = stripe_gateway.refund(payment_intent=payment.stripe_payment_intent, amount=amount,
                                                  currency=payment.currency, reference=idempotency_key).id
        refund = Refund.objects.create(payment=payment, amount=amount, reason=reason, stripe_refund=stripe_refund,
                                       idempotency_key=idempotency_key, tax_amount=tax_amount,
                                       delivery_amount=delivery_amount)
        Payment.objects.filter(pk=payment.pk).update(refunded_amount=F("refunded_amount") + amount,
                                                     updated_at=timezone.now())
    return refund


# Stripe webhooks ------------------------------------------------------------------------------


def stripe_event_apply(*, event) -> bool:
    """Apply a verified event at most once. Updates only move a payment forward, so replays and
    events arriving out of order change nothing they should not. Returns whether it was new."""
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
    return True


def _apply_to_payment(payment: Payment, event_type: str, obj) -> None:
    fields = []
    if event_type == "payment_intent.succeeded" and payment.status in (Payment.Status.AUTHORISED,):
        payment.status = Payment.Status.CAPTURED
        payment.captured_amount = stripe_gateway.from_minor_units(obj["amount_received"], payment.currency)
        fields += ["status", "captured_amount"]
    elif event_type == "payment_intent.canceled" and payment.status == Payment.Status.AUTHORISED:
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
