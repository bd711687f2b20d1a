"""Every write about fulfilment: picking, packing and shipping from a store or warehouse; pickup
(ready with a code and QR, scanned and handed over at the counter, or expired when not collected);
and returns of any order at any location, restocked there and refunded once.

Goods leave in one transaction (stock out through inventory, order lines counted, shopper told
through the outbox); the payment is captured after it commits, never while stock rows are locked.
"""
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from catalog.models import Channel
from core.exceptions import InvalidTransition
from customers.models import Interaction
from customers.selectors import recipient_for
from customers.services import interaction_record
from inventory.hours import kept_until, opening_hours_week
from inventory.models import Location, Transfer
from inventory.services import (
    StockLine,
    stock_collect,
    stock_restock_return,
    stock_ship,
    transfer_cancel,
    transfer_create,
)
from notifications.services import message_queue
from orders.exceptions import PaymentProviderError
from orders.models import Order, OrderLine, Payment
from orders.selectors import order_link
from orders.services import order_cancel, order_charge_before_lapse, order_lines_sent, order_settle, payment_refund

from .exceptions import PickupRefused, ReturnRefused, TooManyWrongCodes
from .models import Fulfillment, FulfillmentEvent, FulfillmentLine, Return, ReturnLine
from .selectors import awaiting_said, returnable_units

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud without mistakes
CODE_LENGTH = 8
QR_SALT = "fulfillment.pickup"
Status = Fulfillment.Status

logger = logging.getLogger(__name__)


def _set_status(fulfillment: Fulfillment, new: str, *, actor=None, note: str = "", **fields) -> None:
    """The one place a fulfilment's status changes; the caller holds its row lock."""
    if not fulfillment.can_transition_to(new):
        raise InvalidTransition(fulfillment, fulfillment.get_status_display(), Fulfillment.Status(new).label)
    FulfillmentEvent.objects.create(fulfillment=fulfillment, from_status=fulfillment.status, to_status=new,
                                    actor=actor, note=note)
    fulfillment.status = new
    for name, value in fields.items():
        setattr(fulfillment, name, value)
    fulfillment.save(update_fields=["status", *fields])


def _lock(fulfillment: Fulfillment) -> Fulfillment:
    """Lock the fulfilment's order, then its own row: every write about an order's fulfilments takes them in that
    order (as order_cancel and a short pick's re-route do, which change several of them), so none waits in a
    circle; work at the same store goes on."""
    Order.objects.select_for_update().filter(pk=fulfillment.order_id).values_list("pk").first()
    return Fulfillment.objects.select_for_update(of=("self",)).select_related("order", "location").get(pk=fulfillment.pk)


def _open_lines(fulfillment: Fulfillment) -> list[OrderLine]:
    return [fl.order_line for fl in fulfillment.lines.select_related("order_line__variant", "order_line__location")
            if fl.order_line.quantity_open]


def _signed_link(order: Order) -> str:
    """The order's page, opened without an account on any device: where a text sends the shopper."""
    return f"{settings.SITE_URL}{order_link(order)}"


def _tell(order: Order, template: str, *, reference: str, **context) -> None:
    """A service message about `reference` (a fulfilment or a return: each is told once), to whoever the order
    reaches: by email, and by SMS where a phone was given at checkout or is on the account."""
    message_queue(template=template, context={"order": order, "order_link": _signed_link(order), **context},
                  to=recipient_for(order.customer, email=order.email, phone=order.phone), reference=reference)


def fulfillments_create_for(*, order: Order) -> list[Fulfillment]:
    """One fulfilment per sending location of a placed order (none for till sales, already handed over), all
    written at once with their lines; a pickup is one fulfilment at its store (_pickup_create). A fulfilment's
    history (its events) starts with its first step; when it was made is its created_at."""
    if order.fulfilment == Order.Fulfilment.TILL:
        return []
    lines = list(order.lines.all())
    if order.fulfilment == Order.Fulfilment.PICKUP:
        return [_pickup_create(order, lines)]
    created = Fulfillment.objects.bulk_create([
        Fulfillment(order=order, location_id=location_id, method=Fulfillment.Method.SHIP)
        for location_id in sorted({line.location_id for line in lines})
    ])
    FulfillmentLine.objects.bulk_create([
        FulfillmentLine(fulfillment=fulfillment, order_line=line, quantity=line.quantity)
        for fulfillment in created for line in lines if line.location_id == fulfillment.location_id
    ])
    return created


def _pickup_create(order: Order, lines: list[OrderLine]) -> Fulfillment:
    """The one pickup of an order at its store, with every line, and a transfer from each other location its
    units come from (ship-to-store: fulfillment.collection). With nothing of its own to pick, the store has
    "picked" already (picked_at)."""
    store = order.pickup_store
    from_elsewhere: dict[int, list[OrderLine]] = {}
    for line in lines:
        if line.location_id != store.pk:
            from_elsewhere.setdefault(line.location_id, []).append(line)
    own = any(line.location_id == store.pk for line in lines)
    pickup = Fulfillment.objects.create(order=order, location=store, method=Fulfillment.Method.PICKUP,
                                        picked_at=None if own else timezone.now())
    FulfillmentLine.objects.bulk_create([FulfillmentLine(fulfillment=pickup, order_line=line, quantity=line.quantity)
                                         for line in lines])
    if from_elsewhere:
        sources = Location.objects.in_bulk(from_elsewhere)
        pickup.transfers.add(*[
            transfer_create(source=sources[source_id], destination=store, lines=[(l.variant, l.quantity) for l in sent],
                            note=f"Ship-to-store: order {order.number}, to collect at {store.code}")
            for source_id, sent in sorted(from_elsewhere.items())])
    return pickup


def waiting_for(pickup: Fulfillment) -> list[Transfer]:
    """The pickup's transfers still on their way, or not sent yet."""
    return list(pickup.transfers.filter(status__in=(Transfer.Status.DRAFT, Transfer.Status.SHIPPED))
                .select_related("source"))


def fulfillments_follow_cancellation(*, order: Order) -> None:
    """Fulfilments with nothing left to send after a cancellation are cancelled too."""
    for fulfillment in order.fulfillments.exclude(status__in=Fulfillment.DONE):
        locked = _lock(fulfillment)
        if not _open_lines(locked) and locked.can_transition_to(Status.CANCELLED):
            _set_status(locked, Status.CANCELLED, note="order cancelled", pickup_code="")
            # Its transfers not sent yet are dropped; one being sent this instant (locked) goes ahead and, like
            # one sent already, arrives as the store's own stock. Skipping it keeps one lock order (transfer, then
            # order) with transfer_ship, which locks the order after its transfer.
            for transfer in Transfer.objects.select_for_update(skip_locked=True).filter(
                    pk__in=locked.transfers.values("pk"), status=Transfer.Status.DRAFT):
                transfer_cancel(transfer=transfer)


@transaction.atomic
def fulfillment_start_picking(*, fulfillment: Fulfillment, actor=None) -> Fulfillment:
    locked = _lock(fulfillment)
    if locked.status != Status.PICKING:
        _set_status(locked, Status.PICKING, actor=actor)
    return locked


# Ship from store or warehouse -----------------------------------------------------------------


@transaction.atomic
def fulfillment_pack(
    *, fulfillment: Fulfillment, carrier: str, tracking_number: str, parcels: int = 1, weight_grams: int | None = None,
    tracking_url: str = "", actor=None,
) -> Fulfillment:
    locked = _lock(fulfillment)
    if locked.method != Fulfillment.Method.SHIP:
        raise InvalidTransition(locked, locked.get_status_display(), Status.PACKED.label)
    if not tracking_number.strip():
        raise PickupRefused("Give the parcel's tracking number.", field="tracking_number")
    _set_status(locked, Status.PACKED, actor=actor, carrier=carrier, tracking_number=tracking_number.strip(),
                parcels=parcels, weight_grams=weight_grams, tracking_url=tracking_url)
    return locked


def fulfillment_ship(*, fulfillment: Fulfillment, actor=None) -> Fulfillment:
    """The parcel leaves: stock goes out through the ledger, the shopper is told, the money is taken."""
    with transaction.atomic():
        locked = _lock(fulfillment)
        if locked.status == Status.SHIPPED:
            return locked
        lines = _open_lines(locked)
        _set_status(locked, Status.SHIPPED, actor=actor, completed_at=timezone.now())
        stock_ship(lines=[StockLine(l.location, l.variant, l.quantity_open) for l in lines],
                   reference=f"fulfillment:{locked.pk}", actor=actor, idempotency_key=f"fulfillment:{locked.pk}:out")
        order_lines_sent(order=locked.order, quantities={l.pk: l.quantity_open for l in lines}, actor=actor,
                         note=f"shipped from {locked.location.code}")
        _tell(locked.order, "order_shipped", reference=f"fulfillment:{locked.pk}", fulfillment=locked, lines=lines)
    order_settle(order=locked.order)
    return locked


@transaction.atomic
def fulfillment_mark_delivered(*, fulfillment: Fulfillment, actor=None) -> Fulfillment:
    locked = _lock(fulfillment)
    if locked.status != Status.DELIVERED:
        _set_status(locked, Status.DELIVERED, actor=actor, completed_at=timezone.now())
    return locked


# Pickup ---------------------------------------------------------------------------------------


def pickup_qr_token(fulfillment: Fulfillment) -> str:
    """What the QR code holds: the fulfilment and its code, signed so it cannot be forged."""
    return signing.dumps({"f": fulfillment.pk, "c": fulfillment.pickup_code}, salt=QR_SALT, compress=True)


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def fulfillment_shelve(*, fulfillment: Fulfillment, shelf: str, actor=None) -> Fulfillment:
    """Say where a pickup waits in the store (a shelf or bin): the counter shows it when the shopper arrives."""
    shelf = " ".join(str(shelf).split())
    if len(shelf) > 20:
        raise PickupRefused("The shelf is too long (20 characters at most).", field="shelf")
    with transaction.atomic():
        locked = _lock(fulfillment)
        if locked.method != Fulfillment.Method.PICKUP or locked.status in Fulfillment.DONE:
            raise PickupRefused("Only an open pickup is put on a shelf.", reason="not_open")
        if locked.shelf != shelf:
            FulfillmentEvent.objects.create(fulfillment=locked, from_status=locked.status, to_status=locked.status,
                                            actor=actor, note=f"on shelf {shelf}" if shelf else "off the shelf")
            locked.shelf = shelf
            locked.save(update_fields=["shelf"])
    return locked


def fulfillment_mark_ready(*, fulfillment: Fulfillment, actor=None) -> Fulfillment:
    """Picked and waiting at the counter: a pickup code is issued and the shopper is told. A ship-to-store pickup
    whose transfers are not all in is noted as picked and refused (PickupRefused, reason awaiting_transfer): it
    becomes ready by itself when the last one is received."""
    with transaction.atomic():
        locked = _lock(fulfillment)
        if locked.status == Status.READY:
            return locked
        if locked.method != Fulfillment.Method.PICKUP:
            raise InvalidTransition(locked, locked.get_status_display(), Status.READY.label)
        waiting = waiting_for(locked)
        if waiting:
            if locked.picked_at is None:
                if locked.status == Status.NEW:
                    _set_status(locked, Status.PICKING, actor=actor)
                locked.picked_at = timezone.now()
                locked.save(update_fields=["picked_at"])
        else:
            make_ready(locked, actor=actor)
    if waiting:
        raise PickupRefused(awaiting_said(waiting), reason="awaiting_transfer", transfers=[t.pk for t in waiting])
    _charge_if_it_could_lapse(locked)
    return locked


def make_ready(pickup: Fulfillment, *, actor=None, note: str = "") -> None:
    """Under the pickup's lock: ready it with a new code, kept until the close of its store's hold days (only
    days the store opens count), and tell the shopper. The caller charges the card after commit if its
    authorisation could lapse (_charge_if_it_could_lapse)."""
    if pickup.status == Status.NEW:
        _set_status(pickup, Status.PICKING, actor=actor, note=note)
    now = timezone.now()
    for _ in range(5):
        try:
            with transaction.atomic():
                _set_status(pickup, Status.READY, actor=actor, note=note, pickup_code=_new_code(), ready_at=now,
                            expires_at=kept_until(pickup.location, now, pickup.location.pickup_hold_days))
            break
        except IntegrityError:  # the code is already held by another open pickup: draw again
            pickup.status = Status.PICKING
            continue
    else:
        raise PickupRefused("Could not issue a unique pickup code; try again.")
    _tell(pickup.order, "pickup_ready", reference=f"fulfillment:{pickup.pk}", fulfillment=pickup,
          store=pickup.location, qr_token=pickup_qr_token(pickup), hours=opening_hours_week(pickup.location))


def _charge_if_it_could_lapse(pickup: Fulfillment) -> None:
    """A pickup that may wait at the counter past its card authorisation is charged now (after the ready
    transaction commits); if Stripe is down, pickups_charge_before_lapse tries again."""
    try:
        order_charge_before_lapse(order=pickup.order, needed_until=pickup.expires_at)
    except PaymentProviderError:
        logger.warning("could not charge %s before its authorisation lapses; the job will retry",
                       pickup.order.number, exc_info=True)


def pickups_charge_before_lapse() -> int:
    """Charge every ready pickup whose card authorisation would lapse before its hold ends and which is still
    only authorised (the charge at ready failed). Returns how many were charged."""
    waiting = Fulfillment.objects.filter(status=Status.READY, method=Fulfillment.Method.PICKUP,
                                         order__payment__status=Payment.Status.AUTHORISED,
                                         order__payment__method=Payment.Method.CARD).select_related("order")
    charged = 0
    for pickup in waiting:
        try:
            payment = order_charge_before_lapse(order=pickup.order, needed_until=pickup.expires_at)
            charged += payment is not None and payment.status == Payment.Status.CAPTURED
        except PaymentProviderError:
            logger.warning("could not charge %s before its authorisation lapses", pickup.order.number, exc_info=True)
    return charged


def normalise_code(typed: str) -> str:
    return "".join(ch for ch in typed.upper() if ch.isalnum())


def pickup_find(*, scanned: str, location: Location) -> Fulfillment:
    """The pickup a typed code or a scanned QR names, if it can be handed over here and now."""
    scanned = scanned.strip()
    fulfillment = None
    try:
        data = signing.loads(scanned, salt=QR_SALT)
        fulfillment = Fulfillment.objects.filter(pk=data["f"], pickup_code=data["c"]).first()
    except signing.BadSignature:
        code = normalise_code(scanned)
        if len(code) == CODE_LENGTH:
            fulfillment = (Fulfillment.objects.filter(pickup_code=code, method=Fulfillment.Method.PICKUP)
                           .order_by("-ready_at").first())
    if fulfillment is None:
        raise PickupRefused("No order has that pickup code. Check the code with the shopper.", reason="unknown_code")
    return _collectable_here(fulfillment, location)


def pickup_ready_here(*, fulfillment_id: int, location: Location) -> Fulfillment:
    """The pickup the counter opened from its list (found by name, email or phone): it too must be ready here."""
    fulfillment = Fulfillment.objects.filter(pk=fulfillment_id, method=Fulfillment.Method.PICKUP).first()
    if fulfillment is None:
        raise PickupRefused("No such pickup. Search again.", reason="unknown_pickup")
    return _collectable_here(fulfillment, location)


def _collectable_here(fulfillment: Fulfillment, location: Location) -> Fulfillment:
    if fulfillment.location_id != location.pk:
        raise PickupRefused(f"This order is collected at {fulfillment.location.name}, not here.", reason="other_store",
                            store=fulfillment.location.code)
    if fulfillment.status == Status.COLLECTED:
        raise PickupRefused(f"Already collected on {timezone.localtime(fulfillment.completed_at):%d %b at %H:%M}.",
                            reason="already_collected")
    if fulfillment.status == Status.EXPIRED:
        raise PickupRefused("This order was not collected in time and has been cancelled and refunded.",
                            reason="expired")
    if fulfillment.status == Status.CANCELLED:
        raise PickupRefused("This order was cancelled.", reason="cancelled")
    if fulfillment.status != Status.READY:
        raise PickupRefused("This order is not ready for collection yet.", reason="not_ready")
    return fulfillment


WRONG_CODE_LIMIT = 5
WRONG_CODE_WINDOW = 600  # seconds


def _wrong_codes_key(station: str) -> str:
    return f"pickup-wrong-codes:{station}"


def pickup_find_at_station(*, scanned: str, location: Location, station: str, count_wrong: bool = True) -> Fulfillment:
    """pickup_find, slowed down for a station that keeps typing wrong codes (guessing). Each lookup takes a
    slot first, atomically in the shared cache, and gives it back if the code was right, so however many
    workers answer at once no more than WRONG_CODE_LIMIT wrong codes are looked up in the window. A counter
    that goes on to search by name passes count_wrong=False and counts only a search that finds nobody."""
    if not count_wrong:
        if cache.get(_wrong_codes_key(station), 0) >= WRONG_CODE_LIMIT:
            raise _too_many_wrong_codes()
        return pickup_find(scanned=scanned, location=location)
    if pickup_wrong_code_count(station=station) > WRONG_CODE_LIMIT:
        raise _too_many_wrong_codes()
    try:
        found = pickup_find(scanned=scanned, location=location)
    except PickupRefused as refused:
        if refused.detail.get("reason") != "unknown_code":
            cache.decr(_wrong_codes_key(station))
        raise
    cache.decr(_wrong_codes_key(station))
    return found


def _too_many_wrong_codes() -> TooManyWrongCodes:
    return TooManyWrongCodes(
        f"Too many wrong codes from this station; wait {WRONG_CODE_WINDOW // 60} minutes or ask a manager.")


def pickup_wrong_code_count(*, station: str) -> int:
    """One more wrong code from this station in the window, counted atomically in the shared cache; the count."""
    cache.add(_wrong_codes_key(station), 0, WRONG_CODE_WINDOW)
    return cache.incr(_wrong_codes_key(station))


def pickup_collect(*, fulfillment: Fulfillment, code: str, actor=None) -> Fulfillment:
    """Hand the order over: stock leaves through the ledger, the shopper is told, the money is taken."""
    with transaction.atomic():
        locked = _lock(fulfillment)
        pickup_find(scanned=code, location=locked.location)  # re-checked under the lock: collected once only
        lines = _open_lines(locked)
        _set_status(locked, Status.COLLECTED, actor=actor, completed_at=timezone.now())
        stock_collect(lines=[StockLine(l.location, l.variant, l.quantity_open) for l in lines],
                      reference=f"fulfillment:{locked.pk}", actor=actor, idempotency_key=f"fulfillment:{locked.pk}:out")
        order_lines_sent(order=locked.order, quantities={l.pk: l.quantity_open for l in lines}, actor=actor,
                         note=f"collected at {locked.location.code}")
        if locked.order.customer_id:
            interaction_record(customer=locked.order.customer, kind=Interaction.Kind.PICKUP,
                               channel=Channel.objects.get(code=Channel.TILL), reference=f"order:{locked.order.number}",
                               detail={"store": locked.location.code})
        _tell(locked.order, "pickup_collected", reference=f"fulfillment:{locked.pk}", fulfillment=locked)
    order_settle(order=locked.order)
    return locked


def pickups_expire(*, now: datetime | None = None) -> int:
    """Cancel ready pickups past their hold: stock back to the store, money back, shopper told."""
    moment = now or timezone.now()
    expired = 0
    for pk in Fulfillment.objects.filter(status=Status.READY, expires_at__lte=moment).values_list("pk", flat=True):
        with transaction.atomic():
            locked = Fulfillment.objects.select_for_update(skip_locked=True).filter(
                pk=pk, status=Status.READY, expires_at__lte=moment).first()
            if locked is None:
                continue
            lines = _open_lines(locked)
            _set_status(locked, Status.EXPIRED, note="not collected in time", completed_at=moment)
            _tell(locked.order, "pickup_expired", reference=f"fulfillment:{locked.pk}", fulfillment=locked)
        # Stock goes back; the card is released, or refunded if it was charged when the pickup was ready.
        order_cancel(order=locked.order, note="pickup not collected in time",
                     lines={l.pk: l.quantity_open for l in lines})
        expired += 1
    return expired


def pickups_remind(*, now: datetime | None = None) -> int:
    """One reminder, a day before a ready pickup's hold runs out."""
    moment = now or timezone.now()
    reminded = 0
    due = Fulfillment.objects.filter(status=Status.READY, reminder_sent_at__isnull=True,
                                     expires_at__lte=moment + timedelta(days=1), expires_at__gt=moment)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            locked = Fulfillment.objects.select_for_update(skip_locked=True, of=("self",)).select_related(
                "order", "location").filter(
                pk=pk, status=Status.READY, reminder_sent_at__isnull=True).first()
            if locked is None:
                continue
            locked.reminder_sent_at = moment
            locked.save(update_fields=["reminder_sent_at"])
            _tell(locked.order, "pickup_reminder", reference=f"fulfillment:{locked.pk}", fulfillment=locked,
                  store=locked.location)
            reminded += 1
    return reminded


# Returns --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedUnits:
    """Units of one order line as they came back: how many, in what condition, and why. One line may
    arrive as several entries (one unit resellable, another damaged)."""

    line_id: int
    quantity: int
    condition: str
    reason: str = ""


@dataclass(frozen=True)
class UnitsRefund:
    """What one received entry pays back: its part of the line after the voucher share, the tax inside."""

    entry: ReceivedUnits
    line: OrderLine
    amount: Decimal
    tax_amount: Decimal


@dataclass(frozen=True)
class RefundPreview:
    """What receiving a set of entries pays back, and how; return_receive refunds exactly this."""

    currency: str
    units: tuple[UnitsRefund, ...]
    delivery_amount: Decimal
    delivery_tax_amount: Decimal
    method: str  # a Payment.Method: card (through Stripe), card_present (on the terminal) or cash (from the till)

    @property
    def amount(self) -> Decimal:
        return sum((u.amount for u in self.units), self.delivery_amount)

    @property
    def tax_amount(self) -> Decimal:
        return sum((u.tax_amount for u in self.units), self.delivery_tax_amount)


REASON_LENGTH = ReturnLine._meta.get_field("reason").max_length


def _new_return_code() -> str:
    return "RT" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))


def _returnable(order: Order, wanted: Sequence[tuple[int, int]], return_request: Return | None = None,
                ) -> dict[OrderLine, int]:
    """The lines asked back, with their units added up across entries; refused unless each can come back."""
    if not wanted:
        raise ReturnRefused("Choose at least one item to return.", field="lines")
    can = {line.pk: (line, units) for line, units in returnable_units(order=order,
                                                                      return_request=return_request).items()}
    asked: dict[int, int] = {}
    for line_id, units in wanted:
        if line_id not in can:
            raise ReturnRefused(f"Order {order.number} has no line {line_id}.", field="lines")
        line, most = can[line_id]
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ReturnRefused(f"{line.sku}: {most} can be returned, not {units!r}.", field="lines", sku=line.sku)
        asked[line_id] = asked.get(line_id, 0) + units
    for line_id, units in asked.items():
        line, most = can[line_id]
        if units > most:
            raise ReturnRefused(f"{line.sku}: {most} can be returned, not {units!r}.", field="lines", sku=line.sku)
    return {can[line_id][0]: units for line_id, units in asked.items()}


@transaction.atomic
def return_request(*, order: Order, lines: dict[int, tuple[int, str]], channel: Channel) -> Return:
    """A shopper starts a return online ({order line id: (units, reason)}) and gets a return code."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    chosen = _returnable(locked, [(i, units) for i, (units, _) in lines.items()])
    request = Return.objects.create(order=locked, code=_new_return_code(), channel=channel)
    ReturnLine.objects.bulk_create([ReturnLine(return_request=request, order_line=line, quantity=units,
                                               reason=lines[line.pk][1]) for line, units in chosen.items()])
    if locked.customer_id:
        interaction_record(customer=locked.customer, kind=Interaction.Kind.RETURN, channel=channel,
                           reference=f"return:{request.code}", detail={"status": "requested"})
    _tell(locked, "return_requested", reference=f"return:{request.code}", return_request=request)
    return request


def refund_method_for(*, order: Order) -> str:
    """How a refund of the order goes back, the way the money came: to the card through Stripe, to the
    card on the till's terminal (recorded; the terminal pays it), or in cash from the till."""
    payment = Payment.objects.get(order=order)
    if payment.stripe_payment_intent and payment.method == Payment.Method.CARD:
        return Payment.Method.CARD
    if payment.method == Payment.Method.CARD_PRESENT:
        return Payment.Method.CARD_PRESENT
    return Payment.Method.CASH


def return_refund_preview(
    *, order: Order, received: Sequence[ReceivedUnits], return_request: Return | None = None,
) -> RefundPreview:
    """Price received entries exactly as return_receive refunds them, writing nothing: each entry's part
    of its line after the voucher share (the tax inside), plus the delivery and its tax when these units
    complete the return of the whole order; and how the money goes back. Refused (ReturnRefused, naming
    the field) when an entry cannot come back."""
    chosen = _returnable(order, [(entry.line_id, entry.quantity) for entry in received], return_request)
    lines = {line.pk: line for line in chosen}
    every_line = list(order.lines.all())
    back = {line.pk: line.quantity_returned for line in every_line}
    units = []
    for entry in received:
        line = lines[entry.line_id]
        if entry.condition not in ReturnLine.Condition.values:
            raise ReturnRefused(f"{line.sku}: say whether it is resellable or damaged.", field="condition",
                                sku=line.sku)
        if len(entry.reason) > REASON_LENGTH:
            raise ReturnRefused(f"{line.sku}: keep the reason to {REASON_LENGTH} characters.", field="reason",
                                sku=line.sku)
        # Priced on what has come back before it, so per-unit rounding never pays back more than the line
        # cost (nor more than its tax).
        before, back[line.pk] = back[line.pk], back[line.pk] + entry.quantity
        units.append(UnitsRefund(entry=entry, line=line,
                                 amount=line.amount_for(back[line.pk]) - line.amount_for(before),
                                 tax_amount=line.tax_for(back[line.pk]) - line.tax_for(before)))
    delivery = tax = Decimal("0.00")
    if order.delivery_amount and _whole_order_back(every_line, back):  # true once: returned units only grow
        delivery, tax = order.delivery_amount, order.delivery_tax_amount
    return RefundPreview(currency=order.currency, units=tuple(units), delivery_amount=delivery,
                         delivery_tax_amount=tax, method=refund_method_for(order=order))


def return_receive(
    *, order: Order, location: Location, received: Sequence[ReceivedUnits], actor=None,
    return_request: Return | None = None, idempotency_key: str | None = None,
) -> Return:
    """Items arrive at any location that takes returns, each entry booked there by its condition
    (resellable: on sale; damaged or faulty: on hand but unavailable); the order lines count them, and
    the money goes back the way it was paid, once, however often this is retried: a requested return by
    its row lock and status, a walk-in by the idempotency key of the desk's form (the same key answers
    with the first return and changes nothing). The refund is paid after the stock rows are released."""
    if not location.accepts_returns:
        raise ReturnRefused(f"{location.name} does not take returns.", field="location")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)  # one receipt of this order at a time
        request = _received_with_key(locked, idempotency_key)
        if request is None and return_request is not None:
            request = Return.objects.select_for_update().get(pk=return_request.pk, order=locked)
        if request is None or request.status == Return.Status.REQUESTED:
            request = _receive(locked, location, received, actor, request, idempotency_key)
    return _refund_return(request)  # a retry lands here too: the goods are in; make sure the money went back


def _received_with_key(order: Order, idempotency_key: str | None) -> Return | None:
    """The return an earlier submit of the same form made (the caller holds the order's row lock, so a
    submit arriving at the same moment waits for the first and finds its return here)."""
    earlier = Return.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
    if earlier is not None and earlier.order_id != order.pk:
        raise ReturnRefused(f"This form was already used to receive a return of order {earlier.order.number}; "
                            "search again to start a new return.", field="idempotency_key")
    return earlier


def _receive(order: Order, location: Location, received: Sequence[ReceivedUnits], actor,
             return_request: Return | None, idempotency_key: str | None) -> Return:
    """Book what arrived, checked and priced before anything is written (the caller holds the locks)."""
    refund = return_refund_preview(order=order, received=received, return_request=return_request)
    till = Channel.objects.get(code=Channel.TILL)
    request = return_request or Return(order=order, code=_new_return_code(), channel=till)
    requested_reasons = dict(request.lines.values_list("order_line_id", "reason")) if request.pk else {}
    request.status, request.location, request.received_at, request.received_by = (
        Return.Status.RECEIVED, location, timezone.now(), actor)
    request.refund_method, request.refund_amount = refund.method, refund.amount
    request.refund_tax_amount, request.refund_delivery_amount = refund.tax_amount, refund.delivery_amount
    request.idempotency_key = idempotency_key or None
    request.save()
    request.lines.all().delete()  # what arrived is what counts
    ReturnLine.objects.bulk_create([
        ReturnLine(return_request=request, order_line=u.line, quantity=u.entry.quantity, condition=u.entry.condition,
                   reason=u.entry.reason or requested_reasons.get(u.line.pk, "")) for u in refund.units])
    for index, unit in enumerate(refund.units):
        stock_restock_return(location=location, variant=unit.line.variant, quantity=unit.entry.quantity,
                             resellable=unit.entry.condition == ReturnLine.Condition.RESELLABLE, actor=actor,
                             reference=f"return:{request.code}",
                             idempotency_key=f"return:{request.pk}:{index}:{unit.line.pk}")
        unit.line.quantity_returned += unit.entry.quantity
    OrderLine.objects.bulk_update({unit.line for unit in refund.units}, ["quantity_returned"])
    if order.customer_id:
        interaction_record(customer=order.customer, kind=Interaction.Kind.RETURN, channel=till,
                           reference=f"return:{request.code}",
                           detail={"status": "received", "store": location.code, "refund": str(refund.amount)})
    _tell(order, "return_refunded", reference=f"return:{request.code}", return_request=request, amount=refund.amount)
    return request


def _whole_order_back(lines: Sequence[OrderLine], returned: dict[int, int]) -> bool:
    """Every unit the order sent has come back, counting `returned` ({order line id: units back}), and
    nothing is still to be sent."""
    return all(l.quantity_open == 0 and returned[l.pk] == l.quantity_fulfilled for l in lines) and any(
        returned[l.pk] for l in lines)


def returns_refund_due() -> int:
    """Refund received returns whose refund did not go through (a provider outage): the retry sweep."""
    refunded = 0
    for request in Return.objects.filter(status=Return.Status.RECEIVED, refund__isnull=True, refund_amount__gt=0):
        try:
            refunded += _refund_return(request).refund_id is not None
        except PaymentProviderError:
            continue
    return refunded


def _refund_return(request: Return) -> Return:
    """Refund a received return to the original payment, once (keyed by the return)."""
    if request.refund_id is None and request.refund_amount:
        refund = payment_refund(order=request.order, amount=request.refund_amount, reason=f"return {request.code}",
                                idempotency_key=f"return:{request.pk}", tax_amount=request.refund_tax_amount,
                                delivery_amount=request.refund_delivery_amount)
        Return.objects.filter(pk=request.pk).update(refund=refund)
        request.refund = refund
    return request


# Follow-ups for shoppers and stores ----------------------------------------------------------


def reviews_request(*, now: datetime | None = None) -> int:
    """Ask once for a review, REVIEW_REQUEST_DELAY after everything was delivered or collected. It promotes
    the shop, so it is marketing: one message, on the medium the customer prefers of those they consented
    to (email, SMS or messenger), and none without consent. Safe to run twice at once."""
    moment = now or timezone.now()
    waiting = (Order.objects.filter(status=Order.Status.FULFILLED, review_requested_at__isnull=True,
                                    fulfillments__status__in=[Status.DELIVERED, Status.COLLECTED])
               .exclude(fulfillments__status__in=[Status.NEW, Status.PICKING, Status.PACKED, Status.SHIPPED,
                                                  Status.READY])
               .annotate(done_at=Max("fulfillments__completed_at"))
               .filter(done_at__lte=moment - settings.REVIEW_REQUEST_DELAY).values_list("pk", flat=True).distinct())
    asked = 0
    for pk in list(waiting):
        with transaction.atomic():
            order = (Order.objects.select_for_update(skip_locked=True, of=("self",)).select_related("customer")
                     .filter(pk=pk, review_requested_at__isnull=True).first())
            if order is None:
                continue
            Order.objects.filter(pk=pk).update(review_requested_at=moment)
            if order.customer is None:  # a guest gave no consent to be asked
                continue
            recipient = recipient_for(order.customer)
            medium = recipient.preferred_marketing_medium()
            if medium is not None:
                asked += bool(message_queue(template="review_request", to=recipient, marketing=True, medium=medium,
                                            reference=f"order:{order.number}",
                                            context={"order": order, "order_link": _signed_link(order)}))
    return asked
