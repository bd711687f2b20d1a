"""Fulfilment reads: a store's queue and pick list, the counter's waiting list and search, who an order is
for, and what of an order can still come back."""
from datetime import timedelta
from itertools import groupby

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from core.phones import phone_in
from core.selects import any_of
from inventory.models import Location
from orders.models import Order, OrderLine

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
    """Units to pick, grouped by the department they sit in (the product's category), then by SKU."""
    rows = []
    for fulfillment in fulfillments:
        for fl in fulfillment.lines.all():
            line = fl.order_line
            if line.quantity_open:
                rows.append({"department": str(line.variant.product.category), "sku": line.sku, "name": line.name,
                             "quantity": line.quantity_open, "order": fulfillment.order.number,
                             "placed_at": fulfillment.order.placed_at, "line": line,
                             "fulfillment": fulfillment.pk})
    rows.sort(key=lambda r: (r["department"], r["sku"], r["placed_at"]))
    return [(department, list(items)) for department, items in groupby(rows, key=lambda r: r["department"])]


def customer_name(order) -> str:
    """Who an order is for, as staff greet them: the name on it, the customer's, or the email."""
    return order.ship_to_name or (order.customer.full_name if order.customer_id else "") or order.email


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
    their name (every word, in the name on the order or the customer's); ready ones first."""
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
                           | Q(order__customer__last_name__icontains=word))
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
