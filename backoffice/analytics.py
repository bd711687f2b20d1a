"""Analytics selectors: sales, click-and-collect, pickup times, returns and low stock, each aggregated in
the database over one period and the locations the viewer may see (inventory.selectors.locations_for_staff).

Every figure is attributed to a location the way the back office scopes it: a sale to the location its
line is sent from (the store for a till sale or a pickup), a pickup to its store, a return to the store
that received it (or, while only requested, to the locations its order was sent from), stock to its location.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Avg, Count, DecimalField, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.utils import timezone

from fulfillment.models import Fulfillment, Return, ReturnLine
from inventory.models import Location, StockLevel
from orders.models import Order, OrderLine

PENNY = Decimal("0.01")
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Period:
    """Whole days from `first` to `last`, both included, in the site's time zone."""

    first: date
    last: date

    @classmethod
    def last_days(cls, days: int, *, today: date | None = None) -> "Period":
        today = today or timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def starts_at(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    @property
    def ends_before(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    def q(self, field: str) -> Q:
        return Q(**{f"{field}__gte": self.starts_at, f"{field}__lt": self.ends_before})


def _money(value) -> Decimal:
    return (value or Decimal("0")).quantize(PENNY)


def _percent(part: int, whole: int) -> Decimal | None:
    return (Decimal(100) * part / whole).quantize(TENTH) if whole else None


def _hours(duration: timedelta | None) -> Decimal | None:
    return None if duration is None else (Decimal(duration.total_seconds()) / 3600).quantize(TENTH)


# Sales ----------------------------------------------------------------------------------------------

# What a line sold for, after its share of vouchers, less the units cancelled before they left.
LINE_REVENUE = ExpressionWrapper(
    (F("unit_price_amount") * F("quantity") - F("discount_amount")) * (F("quantity") - F("quantity_cancelled"))
    / F("quantity"),
    output_field=DecimalField(max_digits=14, decimal_places=4),
)


def _sold_lines(*, period: Period, locations: QuerySet[Location]) -> QuerySet[OrderLine]:
    """Lines of orders placed in the period, sent from (or sold at) these locations, not wholly cancelled."""
    return OrderLine.objects.filter(period.q("order__placed_at"), location__in=locations,
                                    quantity__gt=F("quantity_cancelled"))


def _sales_by(period: Period, locations: QuerySet[Location], code: str, name: str) -> list[dict]:
    """Orders and revenue per (code, name, currency), biggest first, aggregated in the database."""
    return list(
        _sold_lines(period=period, locations=locations)
        .values(code, name, "currency")
        .annotate(orders=Count("order", distinct=True), revenue=Sum(LINE_REVENUE))
        .order_by("-revenue", code)
    )


def sales_by_channel(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    return [{"channel": row["order__channel__name"], "orders": row["orders"], "revenue": _money(row["revenue"]),
             "currency": row["currency"]}
            for row in _sales_by(period, locations, "order__channel__code", "order__channel__name")]


def sales_by_store(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    return [{"store": row["location__code"], "name": row["location__name"], "orders": row["orders"],
             "revenue": _money(row["revenue"]), "currency": row["currency"]}
            for row in _sales_by(period, locations, "location__code", "location__name")]


def click_and_collect(*, period: Period, locations: QuerySet[Location]) -> dict:
    """Online orders (web and app: pickup or delivery) and the share of them collected in store."""
    counts = _sold_lines(period=period, locations=locations).aggregate(
        pickup=Count("order", distinct=True, filter=Q(order__fulfilment=Order.Fulfilment.PICKUP)),
        online=Count("order", distinct=True, filter=Q(order__fulfilment__in=[Order.Fulfilment.PICKUP,
                                                                               Order.Fulfilment.DELIVERY])),
    )
    return {"pickup_orders": counts["pickup"], "online_orders": counts["online"],
            "share": _percent(counts["pickup"], counts["online"])}


# Pickups --------------------------------------------------------------------------------------------

ORDER_TO_READY = ExpressionWrapper(F("ready_at") - F("order__placed_at"), output_field=DurationField())
READY_TO_COLLECTED = ExpressionWrapper(F("completed_at") - F("ready_at"), output_field=DurationField())
COLLECTED, EXPIRED = Fulfillment.Status.COLLECTED, Fulfillment.Status.EXPIRED
PICKUP_FIGURES = {
    "pickups": Count("id"),
    "order_to_ready": Avg(ORDER_TO_READY, filter=Q(ready_at__isnull=False)),
    "ready_to_collected": Avg(READY_TO_COLLECTED, filter=Q(status=COLLECTED)),
    "collected": Count("id", filter=Q(status=COLLECTED)),
    "expired": Count("id", filter=Q(status=EXPIRED)),
}


def _pickups(*, period: Period, locations: QuerySet[Location]) -> QuerySet[Fulfillment]:
    return Fulfillment.objects.filter(period.q("order__placed_at"), method=Fulfillment.Method.PICKUP,
                                      location__in=locations)


def _pickup_row(figures: dict) -> dict:
    finished = figures["collected"] + figures["expired"]
    return {"pickups": figures["pickups"], "hours_to_ready": _hours(figures["order_to_ready"]),
            "hours_to_collect": _hours(figures["ready_to_collected"]), "collected": figures["collected"],
            "expired": figures["expired"], "finished": finished,
            "uncollected_rate": _percent(figures["expired"], finished)}


def pickups_by_store(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """Pickup orders placed in the period, per store: average hours from order to ready and from ready to
    collected, and the uncollected rate (expired ÷ finished, finished = collected or expired)."""
    rows = (_pickups(period=period, locations=locations).values("location__code", "location__name")
            .annotate(**PICKUP_FIGURES).order_by("location__code"))
    return [{"store": row["location__code"], "name": row["location__name"], **_pickup_row(row)} for row in rows]


def pickup_totals(*, period: Period, locations: QuerySet[Location]) -> dict:
    """The same figures over all the stores together."""
    return _pickup_row(_pickups(period=period, locations=locations).aggregate(**PICKUP_FIGURES))


# Returns --------------------------------------------------------------------------------------------


def _returns(*, period: Period, locations: QuerySet[Location]) -> QuerySet[Return]:
    """Returns started in the period, received at these locations or, not yet received, of orders sent from them."""
    sent_from_mine = OrderLine.objects.filter(location__in=locations).values("order_id")
    return Return.objects.filter(period.q("created_at")).filter(
        Q(location__in=locations) | Q(location__isnull=True, order__in=sent_from_mine))


def _returns_grouped(returns: QuerySet[Return], key: str, name: str) -> list[dict]:
    # Units come from a second query: summing lines in the first would count each refund once per line.
    rows = returns.values(key, name).annotate(
        returns=Count("id"), received=Count("id", filter=Q(status=Return.Status.RECEIVED)),
        refunded=Sum("refund_amount"),
    ).order_by(key)
    units = dict(ReturnLine.objects.filter(return_request__in=returns.values("pk"))
                 .values(f"return_request__{key}").annotate(units=Sum("quantity"))
                 .values_list(f"return_request__{key}", "units").order_by())
    return [{"code": row[key], "name": row[name], "returns": row["returns"], "received": row["received"],
             "units": units.get(row[key], 0), "refunded": _money(row["refunded"])} for row in rows]


def returns_by_channel(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """By the channel the return was started on (walk-in returns at a counter are the till's)."""
    rows = _returns_grouped(_returns(period=period, locations=locations), "channel__code", "channel__name")
    return [{"channel": row.pop("name"), **{k: v for k, v in row.items() if k != "code"}} for row in rows]


def returns_by_store(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """By the location that received them (returns still only requested have none and are left out)."""
    received = _returns(period=period, locations=locations).filter(location__isnull=False)
    rows = _returns_grouped(received, "location__code", "location__name")
    return [{"store": row.pop("code"), **row} for row in rows]


# Stock ----------------------------------------------------------------------------------------------


def _low_levels(*, locations: QuerySet[Location]) -> QuerySet[StockLevel]:
    """Levels now at or below their reorder point (0 = no reorder point set, never low)."""
    return (StockLevel.objects.filter(location__in=locations, reorder_point__gt=0)
            .annotate(available_units=F("on_hand") - F("committed") - F("reserved") - F("unavailable"))
            .filter(available_units__lte=F("reorder_point")))


def low_stock_by_store(*, locations: QuerySet[Location]) -> list[dict]:
    rows = (_low_levels(locations=locations).values("location__code", "location__name")
            .annotate(skus=Count("id"), out_of_stock=Count("id", filter=Q(available_units__lte=0)))
            .order_by("-skus", "location__code"))
    return [{"store": row["location__code"], "name": row["location__name"], "skus": row["skus"],
             "out_of_stock": row["out_of_stock"]} for row in rows]


def low_stock_lines(*, locations: QuerySet[Location], limit: int | None = None) -> list[dict]:
    """The low levels themselves, emptiest first."""
    rows = (_low_levels(locations=locations)
            .values("location__code", "variant__sku", "variant__product__name", "available_units", "reorder_point")
            .order_by("available_units", "location__code", "variant__sku"))
    if limit is not None:
        rows = rows[:limit]
    return [{"store": row["location__code"], "sku": row["variant__sku"], "product": row["variant__product__name"],
             "available": row["available_units"], "reorder_point": row["reorder_point"]} for row in rows]
