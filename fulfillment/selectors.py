"""Fulfilment reads: a store's queue and pick list (and what comes on transfers instead), the counter's waiting
list and search, who an order is for and who collects it, transfers found by number, and what can come back."""
import re
from datetime import timedelta
from itertools import groupby

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from core.phones import phone_in
from core.selects import any_of
from inventory.models import Location, Transfer
from orders.models import Order, OrderLine

from .exceptions import PickupRefused
from .models import Fulfillment, FulfillmentLine, Return, ReturnLine


def fulfillment_queue(*, user, location: Location | None = None, status: str = "") -> QuerySet[Fulfillment]:
    """What the user's stores still have to do, oldest promise first."""
    rows = Fulfillment.objects.for_staff(user).queue()
    if location is not None:
        rows = rows.filter(location=location)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("order__customer", "location").prefetch_related(
        Prefetch("lines", queryset=FulfillmentLine.objects.select_related(
            "order_line__variant__product__category")))


def pick_list(*, fulfillments) -> list[tuple[str, list[dict]]]:
    """Units to pick, grouped by the department they sit in (the product's category), then by SKU. A ship-to-store
    pickup's lines that another location sends (coming_on_transfers) are not picked here, nor is the store's own
    part once staff said it was picked and the pickup waits only for its transfers (picked_at)."""
    rows = []
    for fulfillment in fulfillments:
        coming = _coming(fulfillment)
        for fl in fulfillment.lines.all():
            line = fl.order_line
            if line.quantity_open and line.pk not in coming and fulfillment.picked_at is None:
                rows.append({"department": str(line.variant.product.category), "sku": line.sku, "name": line.name,
                             "quantity": line.quantity_open, "order": fulfillment.order.number,
                             "placed_at": fulfillment.order.placed_at, "line": line,
                             "fulfillment": fulfillment.pk})
    rows.sort(key=lambda r: (r["department"], r["sku"], r["placed_at"]))
    return [(department, list(items)) for department, items in groupby(rows, key=lambda r: r["department"])]


OPEN_TRANSFER = (Transfer.Status.DRAFT, Transfer.Status.SHIPPED)
TRANSFER_SAID = {Transfer.Status.DRAFT: "not sent yet", Transfer.Status.SHIPPED: "on its way",
                 Transfer.Status.RECEIVED: "received", Transfer.Status.CANCELLED: "cancelled"}


def _coming(fulfillment: Fulfillment) -> dict[int, Transfer | None]:
    """{order line id: the open transfer bringing it (None if none is open)} for the pickup's lines another
    location still sends: routed from there (OrderLine.location is the source until the units arrive) or on the
    road. Prefetch `transfers__source` and `lines__order_line` for a list."""
    if fulfillment.method != Fulfillment.Method.PICKUP:
        return {}
    bringing = {t.source_id: t for t in fulfillment.transfers.all() if t.status in OPEN_TRANSFER}
    return {fl.order_line_id: bringing.get(fl.order_line.location_id) for fl in fulfillment.lines.all()
            if fl.order_line.quantity_open
            and (fl.order_line.location_id != fulfillment.location_id or fl.order_line.in_transit)}


def coming_on_transfers(*, fulfillments) -> list[dict]:
    """The open pickup lines that come to the store on a transfer, nothing to pick: item, units, order, where from
    and on which transfer (with its status in words)."""
    rows = []
    for fulfillment in fulfillments:
        coming = _coming(fulfillment)
        for fl in fulfillment.lines.all():
            line = fl.order_line
            if line.pk not in coming:
                continue
            transfer = coming[line.pk]
            rows.append({"sku": line.sku, "name": line.name, "quantity": line.quantity_open,
                         "order": fulfillment.order.number, "placed_at": fulfillment.order.placed_at,
                         "source": transfer.source.name if transfer else line.location.name,
                         "transfer": transfer_label(transfer.pk) if transfer else "",
                         "status": TRANSFER_SAID[transfer.status] if transfer else ""})
    return sorted(rows, key=lambda r: (r["placed_at"], r["sku"]))


def waiting_transfers(fulfillment: Fulfillment) -> list[Transfer]:
    """The pickup's transfers not received yet, from the prefetched `transfers` (each with its source)."""
    if fulfillment.method != Fulfillment.Method.PICKUP:
        return []
    return [t for t in fulfillment.transfers.all() if t.status in OPEN_TRANSFER]


def transfers_said(transfers) -> str:
    """"transfer T12 from Daventry DC" / "transfers T12 from Daventry DC and T13 from Leeds": for a sentence."""
    named = [f"{transfer_label(t.pk)} from {t.source.name}" for t in transfers]
    if not named:
        return ""
    if len(named) == 1:
        return f"transfer {named[0]}"
    return f"transfers {', '.join(named[:-1])} and {named[-1]}"



def awaiting_said(transfers) -> str:
    """What marking a pickup ready did while its transfers (with their sources) are still to come: "Picked. It
    becomes ready by itself, and the shopper is told, when transfer T12 from Daventry DC arrives." (a transfer not
    sent yet says so). The staff API's refusal and the staff pages say the same words."""
    transfers = sorted(transfers, key=lambda t: t.pk)
    if not transfers:
        return "Picked. It becomes ready by itself when the rest arrives."
    unsent = [transfer_label(t.pk) for t in transfers if t.status == Transfer.Status.DRAFT]
    said = (f"Picked. It becomes ready by itself, and the shopper is told, when {transfers_said(transfers)} "
            f"{'arrives' if len(transfers) == 1 else 'arrive'}.")
    if unsent:
        said += f" {' and '.join(unsent)} {'has' if len(unsent) == 1 else 'have'} not been sent yet."
    return said


_COUNTER_SAID = {Fulfillment.Status.NEW: "to pick", Fulfillment.Status.PICKING: "being picked",
                 Fulfillment.Status.READY: "ready"}


def counter_said(pickup: Fulfillment) -> str:
    """Where an open pickup stands, as the counter says it ("picked, waiting for a transfer", "ready, here now"):
    the scan station and the store's home page both show these words."""
    if pickup.status in (Fulfillment.Status.NEW, Fulfillment.Status.PICKING) and pickup.picked_at is not None:
        return "picked, waiting for a transfer"
    said = _COUNTER_SAID.get(pickup.status, pickup.get_status_display().lower())
    return f"{said}, here now" if pickup.status == Fulfillment.Status.READY and pickup.arrived_at else said

# Transfers by number --------------------------------------------------------------------------------------

TRANSFER_PREFIX = "T"  # printed on pick lists as T12; the counter takes T12, T-12, TRANSFER-12 or 12
_TRANSFER_NUMBER = re.compile(r"(?:TRANSFER|T)?(\d{1,12})")
_PREFIXED_TRANSFER = re.compile(r"(?:TRANSFER|T)([1-9]\d{0,11})")  # as printed: no leading zero


def transfer_label(pk: int) -> str:
    return f"{TRANSFER_PREFIX}{pk}"


def transfer_number(typed: str, *, prefixed: bool = False) -> int | None:
    """The transfer number in what was typed or scanned ("T12", "t-12", "Transfer 12", "12"), or None; with
    `prefixed`, only a number that says it is a transfer's (the counter's one field also takes order numbers)."""
    said = "".join(ch for ch in str(typed).upper() if ch.isalnum())
    match = (_PREFIXED_TRANSFER if prefixed else _TRANSFER_NUMBER).fullmatch(said)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def transfer_to_receive(*, location: Location, typed: str) -> Transfer:
    """The transfer a counter is asked to receive: coming to `location` and on its way. Refused (PickupRefused,
    field "transfer") for a number no transfer has, another location's, one received, not sent or cancelled."""
    typed = " ".join(str(typed).split())
    if not typed:
        raise PickupRefused("Type or scan the transfer number (T12, or just 12).", field="transfer",
                            reason="no_transfer_number")
    number = transfer_number(typed)
    if number is None:
        raise PickupRefused(f"“{typed[:40]}” is not a transfer number: type it as T12, or just 12.",
                            field="transfer", reason="not_a_transfer_number")
    transfer = Transfer.objects.select_related("source", "destination").filter(pk=number).first()
    label = transfer_label(number)
    if transfer is None:
        raise PickupRefused(f"No transfer has the number {label}. Check the number on its delivery note.",
                            field="transfer", reason="unknown_transfer")
    if transfer.destination_id != location.pk:
        raise PickupRefused(f"Transfer {label} goes to {transfer.destination.name}, not {location.name}: "
                            "it is received there.", field="transfer", reason="other_store")
    if transfer.status == Transfer.Status.RECEIVED:
        when = timezone.localtime(transfer.received_at) if transfer.received_at else None
        raise PickupRefused(f"Transfer {label} was already received"
                            + (f" on {when.day} {when:%b at %H:%M}." if when else "."),
                            field="transfer", reason="already_received")
    if transfer.status == Transfer.Status.DRAFT:
        raise PickupRefused(f"Transfer {label} has not been sent yet: {transfer.source.name} still has to ship it.",
                            field="transfer", reason="not_shipped")
    if transfer.status == Transfer.Status.CANCELLED:
        raise PickupRefused(f"Transfer {label} was cancelled: nothing is coming on it.", field="transfer",
                            reason="cancelled")
    return transfer


def pickup_brought_by(transfer: Transfer) -> Fulfillment | None:
    """The pickup a ship-to-store transfer brings units for, or None for a plain restock."""
    return Fulfillment.objects.filter(transfers=transfer).select_related("order__customer", "location").first()


def customer_name(order) -> str:
    """Who an order is for, as staff greet them: the name on it, the customer's, or the email."""
    return order.ship_to_name or (order.customer.full_name if order.customer_id else "") or order.email


def who_collects(order) -> str:
    """Who comes to the counter for a pickup: "Bob Smith collecting for Ada Lovelace" when the shopper named
    someone else (the pickup code still decides), else the customer."""
    name = customer_name(order)
    return f"{order.collector_name} collecting for {name}" if order.collector_name else name


COLLECT_SOON = timedelta(days=1)  # a waiting pickup this close to its collect-by date is marked
COUNTER_STATUSES = (Fulfillment.Status.READY, Fulfillment.Status.PICKING, Fulfillment.Status.NEW)


def counter_waiting(*, location: Location) -> QuerySet[Fulfillment]:
    """Pickups ready and waiting at the store's counter, longest waiting first."""
    return (Fulfillment.objects.filter(location=location, status=Fulfillment.Status.READY)
            .select_related("order__customer").order_by("ready_at", "id"))


def due_soon(fulfillment: Fulfillment) -> bool:
    """Ready and due to be collected within a day: the counter and the store home mark it."""
    return (fulfillment.status == Fulfillment.Status.READY and fulfillment.expires_at is not None
            and fulfillment.expires_at <= timezone.now() + COLLECT_SOON)


def counter_search(*, location: Location, query: str) -> list[Fulfillment]:
    """The store's open pickups a counter search names: order number, the customer's email or phone, or
    their name (every word, in the name on the order, the customer's or the collector's); ready ones first."""
    query = " ".join(query.split())
    if not query:
        return []
    open_here = (Fulfillment.objects.filter(location=location, method=Fulfillment.Method.PICKUP,
                                            status__in=COUNTER_STATUSES).select_related("order__customer"))
    named = Q(order__number__iexact=query) | Q(order__email__iexact=query) | Q(order__customer__email__iexact=query)
    if "@" not in query:
        every_word = Q()
        for word in query.split():
            every_word &= (Q(order__ship_to_name__icontains=word) | Q(order__customer__first_name__icontains=word)
                           | Q(order__customer__last_name__icontains=word)
                           | Q(order__collector_name__icontains=word))
        named |= every_word
    if phone := phone_in(query):  # a phone number, typed any way (+44 7700 900123, 07700…), stored in E.164
        named |= Q(order__phone=phone) | Q(order__customer__phone=phone)
    return sorted(open_here.filter(named), key=lambda f: (COUNTER_STATUSES.index(f.status), f.order.placed_at))


def returnable_units(*, order: Order, return_request: Return | None = None) -> dict[OrderLine, int]:
    """Units of each of the order's lines that can still come back: fulfilled, less returned, less those
    other open return requests expect (the units of `return_request` itself are the ones expected here)."""
    expected = ReturnLine.objects.filter(order_line__order=order, return_request__status=Return.Status.REQUESTED)
    if return_request is not None:
        expected = expected.exclude(return_request=return_request)
    held = dict(expected.values("order_line_id").annotate(units=Sum("quantity")).values_list("order_line_id", "units"))
    return {line: line.quantity_fulfilled - line.quantity_returned - held.get(line.pk, 0)
            for line in order.lines.all()}


def ship_orders_since(*, location_ids, since) -> dict[int, int]:
    """Ship fulfilments each location has been given since `since`: what a daily capacity counts (routing asks
    through orders.signals.ship_orders_counted). In SQL, the ids as one array (core.selects.any_of): the ORM's
    `location_id__in` took 4 ms of Python for ~170 ids, this 0.8 (bench/routing.py)."""
    where, params = any_of("location_id", location_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT location_id, COUNT(*) FROM {Fulfillment._meta.db_table}"
                       f" WHERE method = %s AND created_at >= %s AND {where} GROUP BY location_id",
                       [Fulfillment.Method.SHIP.value, connection.ops.adapt_datetimefield_value(since), *params])
        return dict(cursor.fetchall())
