"""Fulfilment follows orders: fulfilments are created when an order is placed and cancelled with it."""
from django.dispatch import receiver

from orders.signals import order_lines_cancelled, order_placed

from .services import fulfillments_create_for, fulfillments_follow_cancellation


@receiver(order_placed)
def create_fulfillments(sender, *, order, **kwargs) -> None:
    fulfillments_create_for(order=order)


@receiver(order_lines_cancelled)
def follow_cancellation(sender, *, order, **kwargs) -> None:
    fulfillments_follow_cancellation(order=order)
