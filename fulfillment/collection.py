"""Collection done well: ship-to-store, and the shopper saying "I'm here".

Ship-to-store. A pickup whose store lacks some units gets them from other locations (orders.routing.route_pickup):
the order commits them there, and one transfer per sending location, linked to the pickup, takes them to the
store. When a transfer leaves (inventory's transfer_shipping signal) the units it carries stop being promised at
the source and travel (OrderLine.in_transit): a line cancelled then arrives as the store's own stock. When it is
received (transfer_received) the units still wanted are promised to the order at the store, and once every
transfer is in and what the store held itself has been picked, the pickup is ready by itself (code issued,
shopper told). Lock order as everywhere: the transfer (its service holds it), the order, the fulfilment, stock.

"I'm here". The shopper (order page or app) says they have arrived, with a bay and their car if they like; the
counter lists who is waiting, oldest first, and hands over with the code as ever. Said twice, it counts once.
"""
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Channel
from customers.models import Interaction
from customers.services import interaction_record
from inventory.models import Location, Transfer
from inventory.services import StockLine, stock_commit_arrived, stock_release_committed
from orders.models import OrderLine

from .exceptions import PickupRefused
from .models import Fulfillment, FulfillmentEvent
from .services import _charge_if_it_could_lapse, _collectable_here, _lock, make_ready, waiting_for

Status = Fulfillment.Status


def _pickup_of(transfer: Transfer) -> Fulfillment | None:
    """The pickup the transfer brings units for, locked (order first), or None for a plain restock transfer."""
    pickup = Fulfillment.objects.filter(transfers=transfer).first()
    return None if pickup is None else _lock(pickup)


def _carried(pickup: Fulfillment, transfer: Transfer, **filters) -> list[tuple[OrderLine, int]]:
    """(line, units) of the pickup's open lines the transfer carries: from its source, of its variants."""
    sent = dict(transfer.lines.values_list("variant_id", "quantity"))
    lines = (OrderLine.objects.filter(fulfillment_lines__fulfillment=pickup, location_id=transfer.source_id,
                                      variant_id__in=sent, **filters).select_related("variant", "location"))
    return [(line, min(line.quantity_open, sent[line.variant_id])) for line in lines if line.quantity_open]


def transfer_leaving(*, transfer: Transfer) -> None:
    """The units a pickup's transfer carries stop being promised at the source: they travel."""
    pickup = _pickup_of(transfer)
    if pickup is None:
        return
    carried = _carried(pickup, transfer, in_transit=False)
    if carried:
        stock_release_committed(lines=[StockLine(line.location, line.variant, units) for line, units in carried],
                                reference=f"order:{pickup.order.number}")
        OrderLine.objects.filter(pk__in=[line.pk for line, _ in carried]).update(in_transit=True)


def transfer_arrived(*, transfer: Transfer) -> None:
    """What a pickup's transfer brought is promised to the order at the store, the lines now send from there;
    the pickup is ready by itself when nothing more is on its way and the store has picked its own part."""
    pickup = _pickup_of(transfer)
    if pickup is None:
        return
    got = dict(transfer.lines.values_list("variant_id", "received_quantity"))
    carried = [(line, min(units, got.get(line.variant_id) or 0)) for line, units in _carried(pickup, transfer,
                                                                                               in_transit=True)]
    arrived = [(line, units) for line, units in carried if units]
    if arrived:
        stock_commit_arrived(lines=[StockLine(pickup.location, line.variant, units) for line, units in arrived],
                             reference=f"order:{pickup.order.number}", idempotency_key=f"transfer:{transfer.pk}:order")
    OrderLine.objects.filter(pk__in=[line.pk for line, _ in carried]).update(location=pickup.location,
                                                                             in_transit=False)
    short = [line.sku for line, units in carried if units < line.quantity_open]
    note = f"transfer {transfer.pk} received" + (f", short of {', '.join(short)}" if short else "")
    FulfillmentEvent.objects.create(fulfillment=pickup, from_status=pickup.status, to_status=pickup.status, note=note)
    if not short:
        ready_if_all_in(pickup, note=note)


def ready_if_all_in(pickup: Fulfillment, *, note: str) -> bool:
    """Under the pickup's lock: ready it when nothing is on its way and the store's own part is picked."""
    if pickup.status not in (Status.NEW, Status.PICKING) or pickup.picked_at is None or waiting_for(pickup):
        return False
    make_ready(pickup, actor=None, note=note)
    transaction.on_commit(lambda: _charge_if_it_could_lapse(pickup))
    return True


# "I'm here" -------------------------------------------------------------------------------------------------

def pickup_arrived(*, fulfillment: Fulfillment, bay: str = "", note: str = "", channel: Channel | None = None
                   ) -> Fulfillment:
    """The shopper is at the store: the counter sees them at once. Said again, nothing changes (the first time
    stands). Refused when the order is not ready to collect. A customer's timeline notes it (on `channel`, the
    page or app they said it from)."""
    bay, note = " ".join(str(bay).split()), " ".join(str(note).split())
    if len(bay) > 20:
        raise PickupRefused("The bay is too long (20 characters at most).", field="bay")
    if len(note) > 120:
        raise PickupRefused("The car description is too long (120 characters at most).", field="car")
    with transaction.atomic():
        locked = _lock(fulfillment)
        if locked.method != Fulfillment.Method.PICKUP:
            raise PickupRefused("This order is delivered, not collected.", reason="not_pickup")
        if locked.arrived_at is not None and locked.status == Status.READY:
            return locked
        if locked.status in (Status.NEW, Status.PICKING):
            raise PickupRefused("Your order is not ready to collect yet: we will text and email you with the "
                                "code when it is.", reason="not_ready")
        _collectable_here(locked, locked.location)
        locked.arrived_at, locked.arrival_bay, locked.arrival_note = timezone.now(), bay, note
        locked.save(update_fields=["arrived_at", "arrival_bay", "arrival_note"])
        said = ", ".join(part for part in (f"bay {bay}" if bay else "", note) if part)
        FulfillmentEvent.objects.create(fulfillment=locked, from_status=locked.status, to_status=locked.status,
                                        note=f"shopper is here{': ' + said if said else ''}"[:200])
        if locked.order.customer_id:
            interaction_record(customer=locked.order.customer, kind=Interaction.Kind.AT_STORE, channel=channel,
                               reference=f"order:{locked.order.number}",
                               detail={"store": locked.location.code, "bay": bay, "car": note})
    return locked


def arrivals_at(location: Location):
    """Ready pickups whose shopper said they are here, oldest first, for the counter."""
    return (Fulfillment.objects.filter(location=location, status=Status.READY, arrived_at__isnull=False)
            .select_related("order").prefetch_related("lines__order_line").order_by("arrived_at", "pk"))


def pickups_by_window(location: Location, day):
    """Open pickups at the store whose shopper booked a window on `day`, by window."""
    return (Fulfillment.objects.filter(location=location, method=Fulfillment.Method.PICKUP, order__collect_on=day)
            .filter(Q(status__in=(Status.NEW, Status.PICKING, Status.READY)))
            .select_related("order", "order__collect_window").order_by("order__collect_window__starts", "pk"))
