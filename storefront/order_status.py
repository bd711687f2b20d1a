"""The one phrase a shopper reads for where an order is ("Ready to collect", "On its way", …), the same on the
order page and in the account's list of orders: from the order's status and its fulfilments' statuses."""
from collections.abc import Iterable

from fulfillment.models import Fulfillment
from orders.models import Order


def order_status_said(order: Order, fulfillments: Iterable[Fulfillment]) -> str:
    """One phrase for the whole order, as a shopper would say it. `fulfillments` are the order's own (prefetched
    for a list of orders, so each costs no query)."""
    statuses = {fulfillment.status for fulfillment in fulfillments}
    if order.status == Order.Status.CANCELLED:
        return "Cancelled"
    if statuses and statuses <= {Fulfillment.Status.COLLECTED}:
        return "Collected"
    if statuses and statuses <= {Fulfillment.Status.DELIVERED}:
        return "Delivered"
    if Fulfillment.Status.READY in statuses:
        return "Ready to collect"
    if statuses & {Fulfillment.Status.SHIPPED, Fulfillment.Status.DELIVERED}:
        return "On its way" if order.status != Order.Status.FULFILLED else "Sent"
    if order.status == Order.Status.FULFILLED:
        return "Completed"
    if statuses & {Fulfillment.Status.PICKING, Fulfillment.Status.PACKED}:
        return "Being prepared"
    return "Placed"
