"""Short picks: staff report a problem with a line (not found, damaged, wrong item, worn display); the ledger
is told in the same transaction, and the short units are sourced again by the routing rules without that store.

Delivery: another shipping location sends them (within the split limit), at no extra charge, the shopper told.
Pickup: the shopper gets a signed link to choose (collect at another store that has them, have them delivered,
or drop them with a refund); with no choice by `choose_by` they are dropped. When nowhere can supply them, they
are cancelled and refunded at once. Locks: the order, then the fulfilment or the problem (as order_cancel does).
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, OperationalError, transaction
from django.urls import reverse
from django.utils import timezone

from core.money import shares
from inventory.exceptions import InsufficientStock
from inventory.models import Location, StockMovement
from inventory.selectors import stores_nearest_with_variant
from inventory.services import StockLine, stock_commit, stock_report_short
from orders.exceptions import OrderNotCancellable, PaymentProviderError
from orders.models import Order, OrderEvent, OrderLine
from orders.routing import route_delivery
from orders.services import ShipTo, order_cancel, order_settle

from .exceptions import ProblemRefused
from .models import Fulfillment, FulfillmentEvent, FulfillmentLine, LineProblem
from .services import _set_status, _tell

logger = logging.getLogger(__name__)

Reason, Outcome = LineProblem.Reason, LineProblem.Outcome
LEDGER_REASON = {Reason.NOT_FOUND: StockMovement.Reason.NOT_FOUND, Reason.DAMAGED: StockMovement.Reason.DAMAGE,
                 Reason.WRONG_ITEM: StockMovement.Reason.DAMAGE, Reason.WORN_DISPLAY: StockMovement.Reason.DAMAGE}
PICKABLE = (Fulfillment.Status.NEW, Fulfillment.Status.PICKING)
CHOICE_SALT = "fulfillment.line-problem"
STORES_OFFERED = 3
NEARBY_KM = 48.3  # 30 miles: further than that, another store is no help to someone who came to collect
DEADLOCK_TRIES = 3
REROUTE_TRIES = 3  # a re-route loses the units it chose to a shopper at that moment: route again, then give up


def choice_link(problem: LineProblem) -> str:
    """The shopper's page for choosing what happens to the units, opened without an account on any device."""
    token = signing.dumps(problem.pk, salt=CHOICE_SALT)
    return f"{settings.SITE_URL}{reverse('storefront:line-problem', args=[token])}"


def problem_from_token(token: str) -> LineProblem | None:
    try:
        pk = signing.loads(token, salt=CHOICE_SALT)
    except signing.BadSignature:
        return None
    return LineProblem.objects.select_related("order_line__variant", "fulfillment__location", "fulfillment__order",
                                              "sent_from").filter(pk=pk).first()


def line_problem_report(
    *, fulfillment: Fulfillment, order_line_id: int, reason: str, quantity: int | None = None, on_shelf: int = 0,
    open_seen: int | None = None, actor=None, idempotency_key: str | None = None,
) -> LineProblem:
    """Staff at the fulfilment's location cannot send `quantity` units (default: all still to send) of a line.
    `open_seen`: the units to send the reporter's page showed; if someone has reported the line since, nothing
    changes and the refusal says so (two staff reporting at once act once). Returns the problem recorded."""
    if idempotency_key:
        earlier = LineProblem.objects.filter(idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier
    if reason not in Reason.values:
        raise ProblemRefused(f"Choose what is wrong: {', '.join(Reason.labels).lower()}.", field="reason")
    for attempt in range(1, DEADLOCK_TRIES + 1):
        try:
            with transaction.atomic():
                problem = _report(fulfillment, order_line_id, reason, quantity, on_shelf, open_seen, actor,
                                  idempotency_key)
            break
        except IntegrityError:
            earlier = LineProblem.objects.filter(idempotency_key=idempotency_key).first() if idempotency_key else None
            if earlier is None:
                raise
            return earlier
        except OperationalError as error:
            if attempt == DEADLOCK_TRIES or not _deadlocked(error) or transaction.get_connection().in_atomic_block:
                raise
    if not problem.settled:
        _drop(problem, Outcome.CANCELLED)
        problem.refresh_from_db()
    return problem


def _deadlocked(error: OperationalError) -> bool:
    """PostgreSQL chose this transaction to end a circle of waits: a short pick releases stock at one location and
    commits it at another, and two of them can cross (A to B while B to A); the one it rolled back is run again."""
    return getattr(error.__cause__, "sqlstate", None) == "40P01"


def _report(fulfillment, order_line_id, reason, quantity, on_shelf, open_seen, actor, idempotency_key) -> LineProblem:
    order = Order.objects.select_for_update().get(pk=fulfillment.order_id)
    locked = Fulfillment.objects.select_for_update(of=("self",)).select_related("location").get(pk=fulfillment.pk)
    if locked.status not in PICKABLE:
        raise ProblemRefused(f"Order {order.number} is {locked.get_status_display().lower()} here: only lines still "
                             "to pick can be reported.", field="line")
    held = (locked.lines.select_related("order_line__variant").filter(order_line_id=order_line_id).first()
            if isinstance(order_line_id, int) and not isinstance(order_line_id, bool) else None)
    if held is None:
        raise ProblemRefused(f"That line is not on order {order.number}'s list at {locked.location.name}.",
                             field="line")
    line = held.order_line
    still = line.quantity_open
    if open_seen is not None and open_seen != still:
        raise ProblemRefused(f"{line.sku} has changed since your page was opened (someone may have reported it): "
                             f"{still} now left to pick. Reload the page and check.", field="quantity")
    quantity = still if quantity is None else quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= still:
        raise ProblemRefused(f"{line.sku}: say how many of the {still} still to pick cannot be sent (1 to {still}).",
                             field="quantity")
    if isinstance(on_shelf, bool) or not isinstance(on_shelf, int) or on_shelf < 0:
        raise ProblemRefused("Units left on the shelf must be a whole number, 0 or more.", field="on_shelf")
    label = Reason(reason).label.lower()
    stock_report_short(location=locked.location, variant=line.variant, quantity=quantity,
                       reason=LEDGER_REASON[reason], on_shelf=on_shelf, kept=still - quantity,
                       reference=f"order:{order.number}", actor=actor, note=f"{label} when picking")
    moved = _split(line, quantity)
    _take_off(locked, held, moved)
    problem = LineProblem(fulfillment=locked, order_line=moved, reason=reason, quantity=quantity, actor=actor,
                          on_shelf=on_shelf if reason == Reason.NOT_FOUND else None, idempotency_key=idempotency_key)
    what = f"{quantity} × {line.sku} {label} at {locked.location.code}"
    if order.fulfilment == Order.Fulfilment.DELIVERY and _reroute(order, moved, _tried(order, moved, locked), actor):
        problem.outcome, problem.sent_from, problem.decided_at = Outcome.REROUTED, moved.location, timezone.now()
        problem.save()
        _history(order, locked, actor, f"{what}: sent from {moved.location.code} instead")
        _tell_about(problem, order, "line_rerouted", parts=_parts_from(order, problem))
    elif order.fulfilment == Order.Fulfilment.PICKUP and any(choices_for(problem=problem, order=order, failed=locked)):
        problem.outcome = Outcome.AWAITING_CHOICE
        problem.choose_by = timezone.now() + timedelta(hours=settings.LINE_PROBLEM_CHOOSE_HOURS)
        problem.save()
        _history(order, locked, actor, f"{what}: shopper asked to choose by {_when(problem.choose_by)}")
        _tell_about(problem, order, "line_choose", choice_link=choice_link(problem))
    else:
        problem.outcome, problem.settled = Outcome.CANCELLED, False
        problem.save()
        _history(order, locked, actor, f"{what}: nowhere else has it, cancelled")
    return problem


def problem_said(problem: LineProblem) -> str:
    """What became of the units, in words for the member of staff who reported them."""
    line = problem.order_line
    what = f"{problem.quantity} × {line.sku} reported {problem.get_reason_display().lower()}"
    if problem.outcome == Outcome.REROUTED:
        return f"{what}: sent from {problem.sent_from.name} instead; the shopper is told. Take it off your list."
    if problem.outcome == Outcome.AWAITING_CHOICE:
        return (f"{what}: the shopper is asked to choose another store, delivery or a refund (by "
                f"{_when(problem.choose_by)}). Go on with the rest of the order.")
    return f"{what}: no other location has it, so it is cancelled and the shopper refunded."


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%-d %b %H:%M")


def _split(line: OrderLine, units: int) -> OrderLine:
    """The line holding exactly `units` of `line`'s open units: the line itself when that is all of it, else a
    new line split off with its share of the discount and tax (the two always add up to what was paid)."""
    if units == line.quantity:
        return line
    discount = shares([units, line.quantity - units], line.discount_amount, line.currency)[0]
    tax = shares([units, line.quantity - units], line.tax_amount, line.currency)[0]
    moved = OrderLine.objects.create(
        order_id=line.order_id, variant=line.variant, location_id=line.location_id, sku=line.sku, name=line.name,
        options=line.options, unit_price_amount=line.unit_price_amount, discount_amount=discount,
        tax_rate=line.tax_rate, tax_amount=tax, currency=line.currency, quantity=units)
    line.quantity -= units
    line.discount_amount -= discount
    line.tax_amount -= tax
    line.save(update_fields=["quantity", "discount_amount", "tax_amount"])
    return moved


def _take_off(failed: Fulfillment, held: FulfillmentLine, moved: OrderLine) -> None:
    """The moved units leave the failed location's list (the whole line, or what was split off it); with nothing
    left to pick there, its fulfilment is cancelled."""
    if held.order_line_id == moved.pk:
        held.delete()
    else:
        FulfillmentLine.objects.filter(pk=held.pk).update(quantity=held.order_line.quantity)
    if not any(fl.order_line.quantity_open for fl in failed.lines.select_related("order_line")):
        _set_status(failed, Fulfillment.Status.CANCELLED, note="nothing left to pick here", pickup_code="")


def _tried(order: Order, line: OrderLine, failed: Fulfillment) -> set[int]:
    """Locations that must not send these units: those that have failed this item on this order, and those
    whose part of the order is already packed or gone (their parcel is closed)."""
    tried = set(LineProblem.objects.filter(fulfillment__order=order, order_line__variant_id=line.variant_id)
                .values_list("fulfillment__location_id", flat=True))
    closed = set(order.fulfillments.exclude(status__in=PICKABLE).values_list("location_id", flat=True))
    return tried | closed | {failed.location_id}


def _reroute(order: Order, line: OrderLine, exclude: set[int], actor) -> bool:
    """Send the line's units from other shipping locations by the routing rules, committing them through the
    one stock door; False when nowhere can (within the split limit)."""
    # Locations still to send other parts of the order (the line's units are on no list now): no extra parcel.
    already = set(order.fulfillments.filter(status__in=PICKABLE, lines__isnull=False)
                  .values_list("location_id", flat=True))
    for _ in range(REROUTE_TRIES):
        try:
            routing = route_delivery(lines=[(line.variant, line.quantity)], channel=order.channel,
                                     latitude=order.ship_to_latitude, longitude=order.ship_to_longitude,
                                     country=order.ship_to_country, exclude=exclude,
                                     already=already)
            stock_commit(lines=[StockLine(r.location, r.variant, r.quantity) for r in routing.routed],
                         channel=order.channel, reference=f"order:{order.number}", actor=actor)
        except InsufficientStock:
            continue
        parts = list(routing.routed)
        first = parts.pop(0)
        for part in parts:  # split again, one line per location
            _send_from(order, _split(line, part.quantity), part.location, Fulfillment.Method.SHIP)
        _send_from(order, line, first.location, Fulfillment.Method.SHIP)
        return True
    return False


def _send_from(order: Order, line: OrderLine, location: Location, method: str) -> Fulfillment:
    """The line (its stock already committed there) joins the location's list for this order, made if needed."""
    OrderLine.objects.filter(pk=line.pk).update(location=location)
    line.location = location
    fulfillment = order.fulfillments.filter(location=location).first()
    if fulfillment is None:
        fulfillment = Fulfillment.objects.create(order=order, location=location, method=method)
    FulfillmentLine.objects.create(fulfillment=fulfillment, order_line=line, quantity=line.quantity)
    return fulfillment


def _history(order: Order, fulfillment: Fulfillment, actor, note: str) -> None:
    OrderEvent.objects.create(order=order, from_status=order.status, to_status=order.status, actor=actor,
                              note=note[:200])
    FulfillmentEvent.objects.create(fulfillment=fulfillment, from_status=fulfillment.status,
                                    to_status=fulfillment.status, actor=actor, note=note[:200])


def _tell_about(problem: LineProblem, order: Order, template: str, **context) -> None:
    """A message about the problem's units (once per problem and template), as fulfilment tells every other."""
    _tell(order, template, reference=f"problem:{problem.pk}", problem=problem, line=problem.order_line, **context)


def _parts_from(order: Order, problem: LineProblem) -> list[dict]:
    """What of the problem's item comes from where, for the shopper's message."""
    lines = order.lines.filter(variant_id=problem.order_line.variant_id, quantity__gt=0).select_related("location")
    return [{"quantity": l.quantity_open, "place": l.location.city or l.location.name} for l in lines
            if l.quantity_open]


# The shopper's choice (pickup) ----------------------------------------------------------------


@dataclass(frozen=True)
class StoreOption:
    location: Location
    distance_km: float


def choices_for(*, problem: LineProblem, order: Order | None = None, failed: Fulfillment | None = None
                ) -> tuple[list[StoreOption], bool]:
    """(stores within 30 miles of the failed one that could hand the units over, nearest first; whether delivery
    could send them). Neither: nowhere can supply them."""
    order = order or problem.fulfillment.order
    failed = failed or problem.fulfillment
    line = problem.order_line
    tried = _tried(order, line, failed)
    here = failed.location
    stores = [
        StoreOption(level.location, level.distance_km)
        for level in stores_nearest_with_variant(variant=line.variant, channel=order.channel, latitude=here.latitude,
                                                 longitude=here.longitude, quantity=line.quantity_open,
                                                 limit=STORES_OFFERED + len(tried))
        if level.location_id not in tried and level.location.offers_pickup and level.distance_km <= NEARBY_KM
    ][:STORES_OFFERED]
    try:
        route_delivery(lines=[(line.variant, line.quantity_open)], channel=order.channel, exclude=tried)
        deliverable = True
    except InsufficientStock:
        deliverable = False
    return stores, deliverable


def line_problem_choose(*, problem: LineProblem, choice: str, store: Location | None = None,
                        address: ShipTo | None = None) -> LineProblem:
    """Apply the shopper's choice once: "collect" at `store`, "deliver" to `address` (free), or "drop" (refund).
    A link used again answers what was chosen the first time, changing nothing."""
    if choice == "drop":
        _drop(problem, Outcome.DROPPED)
        problem.refresh_from_db()
        return problem
    if choice not in ("collect", "deliver"):
        raise ProblemRefused("Choose one of the options.", field="choice")
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=problem.fulfillment.order_id)
        locked = LineProblem.objects.select_for_update(of=("self",)).select_related("order_line__variant").get(pk=problem.pk)
        if locked.outcome != Outcome.AWAITING_CHOICE:
            return locked
        line = locked.order_line
        tried = _tried(order, line, locked.fulfillment)
        if choice == "collect":
            if store is None or store.pk in tried or not store.offers_pickup or not store.is_active:
                raise ProblemRefused("Choose one of the stores offered.", field="store")
            try:
                stock_commit(lines=[StockLine(store, line.variant, line.quantity)], channel=order.channel,
                             reference=f"order:{order.number}")
            except InsufficientStock as short:
                raise ProblemRefused(f"{store.name} has just sold out of it: choose another option.",
                                     field="store") from short
            _send_from(order, line, store, Fulfillment.Method.PICKUP)
            locked.outcome, locked.sent_from = Outcome.COLLECT_ELSEWHERE, store
            note = f"shopper chose to collect {line.quantity} × {line.sku} at {store.code}"
        else:
            _check_address(address)
            order.ship_to_name, order.ship_to_line1, order.ship_to_line2 = address.name, address.line1, address.line2
            order.ship_to_city, order.ship_to_postcode = address.city, address.postcode
            order.ship_to_country = address.country
            order.ship_to_latitude, order.ship_to_longitude = address.latitude, address.longitude
            order.save(update_fields=["ship_to_name", "ship_to_line1", "ship_to_line2", "ship_to_city",
                                      "ship_to_postcode", "ship_to_country", "ship_to_latitude",
                                      "ship_to_longitude"])
            if not _reroute(order, line, tried, None):
                raise ProblemRefused("No store or warehouse can send it any more: choose another option.",
                                     field="choice")
            locked.outcome, locked.sent_from = Outcome.DELIVER, line.location
            note = f"shopper chose delivery of {line.quantity} × {line.sku} from {line.location.code}"
        locked.decided_at = timezone.now()
        locked.save(update_fields=["outcome", "sent_from", "decided_at"])
        OrderEvent.objects.create(order=order, from_status=order.status, to_status=order.status, note=note[:200])
    return locked


def _check_address(address: ShipTo | None) -> None:
    if address is None:
        raise ProblemRefused("Give the address to deliver to.", field="line1")
    for field in ("name", "line1", "city", "postcode"):
        if not getattr(address, field).strip():
            raise ProblemRefused(f"Give the {'street address' if field == 'line1' else field}.", field=field)


class _AlreadySettled(Exception):
    pass


def _drop(problem: LineProblem, outcome: str) -> None:
    """Cancel the problem's units (their stock already released) and pay back what they cost, once: under the
    order's lock, the first call marks the problem settled; any other finds it settled and changes nothing."""
    def settle(order: Order) -> None:
        claimed = (LineProblem.objects.filter(pk=problem.pk, settled=False).update(
                       settled=True, outcome=outcome, decided_at=timezone.now())
                   if outcome == Outcome.CANCELLED else
                   LineProblem.objects.filter(pk=problem.pk, outcome=Outcome.AWAITING_CHOICE).update(
                       outcome=outcome, decided_at=timezone.now()))
        if not claimed:
            raise _AlreadySettled
        rest = any(other.quantity_open for other in order.lines.exclude(pk=problem.order_line_id))
        _tell_about(LineProblem.objects.select_related("order_line").get(pk=problem.pk), order, "line_dropped",
                    rest=rest)

    line = OrderLine.objects.get(pk=problem.order_line_id)
    try:
        order = order_cancel(order=problem.fulfillment.order, lines={line.pk: line.quantity_open}, stock_released=True,
                             first=settle, note=f"{line.quantity} × {line.sku} dropped: {problem.get_reason_display().lower()}")
    except _AlreadySettled:
        return
    except OrderNotCancellable:
        logger.exception("could not drop the units of problem %s", problem.pk)
        return
    if order.status == Order.Status.FULFILLED:
        try:
            order_settle(order=order)
        except PaymentProviderError:  # payments_capture_due retries
            logger.exception("capture after dropping units of %s failed", order.number)


def line_problems_settle(*, now: datetime | None = None) -> int:
    """Drop (and refund) units whose shopper has not chosen by the time given, and finish cancellations a crash
    left unsettled: the periodic sweep. Returns how many problems it settled."""
    now = now or timezone.now()
    due = list(LineProblem.objects.filter(outcome=Outcome.AWAITING_CHOICE, choose_by__lte=now)
               .select_related("order_line", "fulfillment__order"))
    stuck = list(LineProblem.objects.filter(settled=False).select_related("order_line", "fulfillment__order"))
    for problem in due:
        _drop(problem, Outcome.DROPPED)
    for problem in stuck:
        _drop(problem, Outcome.CANCELLED)
    return len(due) + len(stuck)
