"""Fulfilment follows orders: fulfilments are created when an order is placed and cancelled with it; routing is
told how many ship orders each location has taken today; a ship-to-store pickup follows its transfers."""
from django.dispatch import receiver

from inventory.signals import transfer_received, transfer_shipping
from orders.signals import order_lines_cancelled, order_placed, ship_orders_counted

from .collection import transfer_arrived, transfer_leaving
from .selectors import ship_orders_since
from .services import fulfillments_create_for, fulfillments_follow_cancellation


@receiver(order_placed)
def create_fulfillments(sender, *, order, **kwargs) -> None:
    fulfillments_create_for(order=order)


@receiver(order_lines_cancelled)
def follow_cancellation(sender, *, order, **kwargs) -> None:
    fulfillments_follow_cancellation(order=order)


@receiver(ship_orders_counted)
def count_ship_orders(sender, *, location_ids, since, **kwargs) -> dict[int, int]:
    return ship_orders_since(location_ids=location_ids, since=since)


@receiver(transfer_shipping)
def release_for_travel(sender, *, transfer, **kwargs) -> None:
    transfer_leaving(transfer=transfer)


@receiver(transfer_received)
def promise_on_arrival(sender, *, transfer, **kwargs) -> None:
    transfer_arrived(transfer=transfer)
