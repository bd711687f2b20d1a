"""Fulfilment reads: a store's queue and pick list, and an order's fulfilments as the shopper sees them."""
from itertools import groupby

from django.db.models import Prefetch, QuerySet

from inventory.models import Location

from .models import Fulfillment, FulfillmentLine


def fulfillment_queue(*, user, location: Location | None = None, status: str = "") -> QuerySet[Fulfillment]:
    """What the user's stores still have to do, oldest promise first."""
    rows = Fulfillment.objects.for_staff(user).queue()
    if location is not None:
        rows = rows.filter(location=location)
    if status:
        rows = rows.filter(status=status)
    return rows.select_related("order", "location").prefetch_related(
        Prefetch("lines", queryset=FulfillmentLine.objects.select_related(
            "order_line__variant__product__category")))


def pick_list(*, fulfillments) -> list[tuple[str, list[dict]]]:
    """Units to pick, grouped by the department they sit in (the product's category), then by SKU."""
    rows = []
    for fulfillment in fulfillments:
        for fl in fulfillment.lines.all():
            line = fl.order_line
            if line.quantity_open:
                rows.append({"department": str(line.variant.product.category), "sku": line.sku, "name": line.name,
                             "quantity": line.quantity_open, "order": fulfillment.order.number,
                             "placed_at": fulfillment.order.placed_at})
    rows.sort(key=lambda r: (r["department"], r["sku"], r["placed_at"]))
    return [(department, list(items)) for department, items in groupby(rows, key=lambda r: r["department"])]
