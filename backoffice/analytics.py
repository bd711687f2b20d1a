"""Analytics selectors: sales (by channel, store, source and over time against the period before), visits and
conversion, click-and-collect, pickup times, arrival to hand-over and ship-to-store, short picks and re-routes,
ship-from-store capacity, returns and low stock, each aggregated in the database over one period and the
locations the viewer may see (inventory.selectors.locations_for_staff). (Arrival to hand-over reads one row per
hand-over and takes its percentiles here: SQLite has no percentile function.)

Every figure is attributed to a location the way the back office scopes it: a sale to the location its
line is sent from (the store for a till sale or a pickup), a pickup to its store, a short pick to the store
that could not send the units (wherever they went instead), a ship order to the location that took it, a
return to the store that received it (or, while only requested, to the locations its order was sent from),
stock to its location.
Visits (the shop's "arrived" touches) belong to no location: only head office is given figures made of them.
"""
import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce, NullIf, TruncDate
from django.utils import timezone

from catalog.models import Channel, Price
from customers.models import Interaction
from fulfillment.models import Fulfillment, FulfillmentLine, LineProblem, Return, ReturnLine
from inventory.models import WEEKDAYS, Location, StockLevel
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

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def previous(self) -> "Period":
        """The same number of days just before this period."""
        return Period(self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    @property
    def with_previous(self) -> "Period":
        return Period(self.previous.first, self.last)

    def q(self, field: str) -> Q:
        return Q(**{f"{field}__gte": self.starts_at, f"{field}__lt": self.ends_before})


def _money(value) -> Decimal:
    return (value or Decimal("0")).quantize(PENNY)


def _percent(part, whole) -> Decimal | None:
    return (Decimal(100) * part / whole).quantize(TENTH) if whole else None


def _change(now, before) -> Decimal | None:
    """Percent up (or down) from the previous period; None where there was nothing to compare with."""
    return _percent(now - before, before)


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


def _sales_by(period: Period, locations: QuerySet[Location], *fields: str, **expressions) -> list[dict]:
    """Orders and revenue per group (fields and named expressions) and currency, biggest first, aggregated in the
    database."""
    return list(
        _sold_lines(period=period, locations=locations)
        .values(*fields, "currency", **expressions)
        .annotate(orders=Count("order", distinct=True), revenue=Sum(LINE_REVENUE))
        .order_by("-revenue", *fields, *expressions)
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


# Where sales came from ------------------------------------------------------------------------------

UNKNOWN = "(unknown)"  # an order placed before attribution was recorded, or a touch that names no source
# What a row with nothing sold is priced in: the currency prices are set in unless they say otherwise.
SHOP_CURRENCY = Price._meta.get_field("currency").default


def _touch(field: str, *keys: str) -> Coalesce:
    """The text at `keys` inside a JSON field, "(unknown)" where it is missing or empty. Built from the
    transforms because KT() cannot follow a relation (order__attribution) before the keys."""
    value = field
    for key in keys[:-1]:
        value = KeyTransform(key, value)
    return Coalesce(NullIf(KeyTextTransform(keys[-1], value), Value("")), Value(UNKNOWN), output_field=TextField())


def _arrivals(*, period: Period) -> QuerySet[Interaction]:
    """Visits to the shop (web or app) in the period: one "arrived" touch is one visit."""
    return Interaction.objects.filter(period.q("created_at"), kind=Interaction.Kind.ARRIVED)


def _sales_by_touch(period: Period, locations: QuerySet[Location], touch: str) -> list[dict]:
    rows = _sales_by(period, locations, source=_touch("order__attribution", touch, "source"),
                     medium=_touch("order__attribution", touch, "medium"))
    return [{"source": row["source"], "medium": row["medium"], "orders": row["orders"],
             "revenue": _money(row["revenue"]), "currency": row["currency"]} for row in rows]


def sales_by_first_touch(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """Orders and revenue by what brought the customer in the first place: the first touch's source and medium."""
    return _sales_by_touch(period, locations, "first")


def sales_by_source(*, period: Period, locations: QuerySet[Location], with_visits: bool) -> list[dict]:
    """Orders and revenue by the last touch before the order (source and medium), biggest first.

    with_visits (head office only: visits belong to no store): the period's visits from each and conversion
    = orders ÷ visits; sources that brought visits but no sale follow, most visits first. A source that sold
    in several currencies has a row for each: its visits and conversion (of all its orders) stand on the first.
    """
    rows = _sales_by_touch(period, locations, "last")
    if not with_visits:
        return rows
    visits = {(row["source"], row["medium"]): row["visits"] for row in _arrivals(period=period)
              .values(source=_touch("detail", "source"), medium=_touch("detail", "medium"))
              .annotate(visits=Count("pk")).order_by()}
    orders = Counter()
    for row in rows:
        orders[row["source"], row["medium"]] += row["orders"]
    for row in rows:
        pair = (row["source"], row["medium"])
        first = pair in orders  # the pair's first row: its figures are taken off below
        row["visits"] = visits.pop(pair, 0) if first else None
        row["conversion"] = _percent(orders.pop(pair), row["visits"]) if first else None
    unsold = sorted(visits.items(), key=lambda item: (-item[1], item[0]))
    return rows + [{"source": source, "medium": medium, "orders": 0, "revenue": _money(None),
                    "currency": SHOP_CURRENCY, "visits": count, "conversion": _percent(0, count)}
                   for (source, medium), count in unsold]


def conversion_by_channel(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """Each online channel (web, app): its visits, the orders placed on it, and conversion = orders ÷ visits."""
    visits = (_arrivals(period=period).filter(channel=OuterRef("pk")).order_by()
              .values("channel").annotate(count=Count("pk")).values("count"))
    orders = (_sold_lines(period=period, locations=locations).filter(order__channel=OuterRef("pk")).order_by()
              .values("order__channel").annotate(count=Count("order", distinct=True)).values("count"))
    channels = (Channel.objects.filter(is_online=True)
                .annotate(visits=Coalesce(Subquery(visits), 0), orders=Coalesce(Subquery(orders), 0))
                .values("name", "visits", "orders").order_by("-visits", "code"))
    return [{"channel": row["name"], "visits": row["visits"], "orders": row["orders"],
             "conversion": _percent(row["orders"], row["visits"])} for row in channels]


# Over time ------------------------------------------------------------------------------------------

DAILY_UP_TO = 62  # days; a longer period is shown week by week


def by_week(period: Period) -> bool:
    return period.days > DAILY_UP_TO


def sales_over_time(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """Orders and revenue per day of the period (per ISO week, from Monday, when it is longer than 62 days),
    each beside the same days of the previous period — day n of this period faces day n of that one — and
    the change in revenue; per currency, every day counted, a day with no sales as zero.

    The database sums each local day of both periods (in the site's time zone); the days go into weeks
    here, so that a previous day lands in the week of the day it faces, not in a week of its own: the
    periods' weeks fall on different days whenever the period is not a whole number of weeks."""
    per_day = (_sold_lines(period=period.with_previous, locations=locations)
               .annotate(day=TruncDate("order__placed_at", tzinfo=timezone.get_current_timezone()))
               .values("day", "currency").annotate(orders=Count("order", distinct=True), revenue=Sum(LINE_REVENUE))
               .order_by())
    sold = {(row["day"], row["currency"]): row for row in per_day}
    weekly, back = by_week(period), timedelta(days=period.days)
    buckets: dict[tuple[str, date], dict] = {}
    for currency in sorted({currency for _, currency in sold}) or [SHOP_CURRENCY]:
        for offset in range(period.days):
            day = period.first + timedelta(days=offset)
            start = day - timedelta(days=day.weekday()) if weekly else day
            bucket = buckets.setdefault((currency, start), {
                "start": start, "orders": 0, "revenue": Decimal(0), "previous_orders": 0,
                "previous_revenue": Decimal(0), "currency": currency})
            for prefix, when in (("", day), ("previous_", day - back)):
                found = sold.get((when, currency))
                if found:
                    bucket[f"{prefix}orders"] += found["orders"]
                    bucket[f"{prefix}revenue"] += found["revenue"]
    rows = []
    for bucket in buckets.values():
        revenue, previous = _money(bucket["revenue"]), _money(bucket["previous_revenue"])
        rows.append({**bucket, "revenue": revenue, "previous_revenue": previous, "change": _change(revenue, previous)})
    return rows


def _compared(now, previous) -> dict:
    return {"now": now, "previous": previous, "change": _change(now, previous)}


def sales_totals(*, period: Period, locations: QuerySet[Location], with_visits: bool) -> dict:
    """The period's orders and revenue (per currency) beside the previous period's, with the change in percent.

    with_visits (head office): visits too, and conversion = online orders (web and app; a till sale follows
    no visit) ÷ visits, its change in percentage points."""
    now, before = period.q("order__placed_at"), period.previous.q("order__placed_at")
    online = Q(order__channel__is_online=True)
    by_currency = list(
        _sold_lines(period=period.with_previous, locations=locations).values("currency").annotate(
            orders=Count("order", distinct=True, filter=now),
            previous_orders=Count("order", distinct=True, filter=before),
            online=Count("order", distinct=True, filter=now & online),
            previous_online=Count("order", distinct=True, filter=before & online),
            revenue=Sum(LINE_REVENUE, filter=now), previous_revenue=Sum(LINE_REVENUE, filter=before),
        ).order_by("currency"))
    totals = {
        "orders": _compared(sum(row["orders"] for row in by_currency),
                            sum(row["previous_orders"] for row in by_currency)),
        "revenue": [{"currency": row["currency"], **_compared(_money(row["revenue"]), _money(row["previous_revenue"]))}
                    for row in by_currency] or [{"currency": SHOP_CURRENCY, **_compared(_money(None), _money(None))}],
    }
    if with_visits:
        visits = _arrivals(period=period.with_previous).aggregate(
            now=Count("pk", filter=period.q("created_at")), previous=Count("pk", filter=period.previous.q("created_at")))
        conversion = (_percent(sum(row["online"] for row in by_currency), visits["now"]),
                      _percent(sum(row["previous_online"] for row in by_currency), visits["previous"]))
        totals["visits"] = _compared(visits["now"], visits["previous"])
        totals["conversion"] = {"now": conversion[0], "previous": conversion[1],
                                "change": None if None in conversion else conversion[0] - conversion[1]}
    return totals


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


def percentile(values: list[float], share: float) -> float | None:
    """The value `share` (0 to 1) of the way through the sorted values, interpolated between the two nearest
    (as PostgreSQL's percentile_cont): the median at 0.5. None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _minutes(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


def arrival_to_handover_by_store(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """Pickups handed over in the period whose shopper had said "I'm here", per store: how many, and the
    minutes from arriving to being handed the order: average, median and 90th percentile (nine in ten were
    handed over within it). One row per hand-over is read; the figures are worked out here."""
    rows = (Fulfillment.objects.filter(period.q("completed_at"), method=Fulfillment.Method.PICKUP, status=COLLECTED,
                                       arrived_at__isnull=False, location__in=locations)
            .values_list("location__code", "location__name", "arrived_at", "completed_at")
            .order_by("location__code"))
    waits: dict[tuple[str, str], list[float]] = {}
    for code, name, arrived, handed in rows:
        waits.setdefault((code, name), []).append(max((handed - arrived).total_seconds(), 0) / 60)
    return [{"store": code, "name": name, "handed_over": len(minutes),
             "average": _minutes(sum(minutes) / len(minutes)), "median": _minutes(percentile(minutes, 0.5)),
             "p90": _minutes(percentile(minutes, 0.9))}
            for (code, name), minutes in waits.items()]


def ship_to_store_by_store(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """Pickup orders placed in the period, per store, and how many of them other locations sent units for on a
    transfer (ship-to-store), with their share."""
    sent_in = Exists(Fulfillment.transfers.through.objects.filter(fulfillment=OuterRef("pk")))
    rows = (_pickups(period=period, locations=locations).values("location__code", "location__name")
            .annotate(pickups=Count("id"), ship_to_store=Count("id", filter=sent_in))
            .order_by("location__code"))
    return [{"store": row["location__code"], "name": row["location__name"], "pickups": row["pickups"],
             "ship_to_store": row["ship_to_store"], "share": _percent(row["ship_to_store"], row["pickups"])}
            for row in rows]


# Short picks and re-routes --------------------------------------------------------------------------

Outcome = LineProblem.Outcome
SENT = (Fulfillment.Status.SHIPPED, Fulfillment.Status.DELIVERED, COLLECTED)
# Finished, for the fill rate: done, except a pickup not collected in time, which the store did have ready.
FINISHED = tuple(status for status in Fulfillment.DONE if status != EXPIRED)
REROUTED = (Outcome.REROUTED, Outcome.COLLECT_ELSEWHERE, Outcome.DELIVER)
LOST = (Outcome.DROPPED, Outcome.CANCELLED)
REASONS = dict(LineProblem.Reason.choices)


def _units(rows: QuerySet, **where) -> Coalesce:
    """The units (`quantity`) of these rows at the outer location, 0 where there are none."""
    units = (rows.filter(fulfillment__location=OuterRef("pk"), **where).order_by()
             .values("fulfillment__location").annotate(units=Sum("quantity")).values("units"))
    return Coalesce(Subquery(units), 0)


def short_picks_by_store(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """Per store with fulfilments created in the period: units asked of it (still on its fulfilment lines, plus
    those it could not send: re-routed units leave its lines), units short, short-pick rate (short ÷ asked),
    fill rate (sent ÷ asked, of its finished fulfilments), where the short units went, and the reason given
    for most of them."""
    lines = FulfillmentLine.objects.filter(period.q("fulfillment__created_at"))
    problems = LineProblem.objects.filter(period.q("fulfillment__created_at"))
    top_reason = (problems.filter(fulfillment__location=OuterRef("pk")).order_by().values("reason")
                  .annotate(units=Sum("quantity"), problems=Count("id"))
                  .order_by("-units", "-problems", "reason").values("reason")[:1])
    finished = {"fulfillment__status__in": FINISHED}
    rows = (locations.filter(pk__in=Fulfillment.objects.filter(period.q("created_at")).values("location"))
            .annotate(on_lines=_units(lines), sent=_units(lines, fulfillment__status__in=SENT),
                      finished_on_lines=_units(lines, **finished), short=_units(problems),
                      finished_short=_units(problems, **finished), rerouted=_units(problems, outcome__in=REROUTED),
                      lost=_units(problems, outcome__in=LOST),
                      awaiting=_units(problems, outcome=Outcome.AWAITING_CHOICE), reason=Subquery(top_reason))
            .values("code", "name", "on_lines", "sent", "finished_on_lines", "short", "finished_short", "rerouted",
                    "lost", "awaiting", "reason")
            .order_by("code"))
    return [{"store": row["code"], "name": row["name"], "asked": row["on_lines"] + row["short"],
             "short": row["short"], "short_rate": _percent(row["short"], row["on_lines"] + row["short"]),
             "fill_rate": _percent(row["sent"], row["finished_on_lines"] + row["finished_short"]),
             "rerouted": row["rerouted"], "lost": row["lost"], "awaiting": row["awaiting"],
             "reason": REASONS.get(row["reason"])} for row in rows]


# Ship-from-store capacity ---------------------------------------------------------------------------


def _ship_days_in_words(days: list[str]) -> str:
    return ", ".join(day.capitalize() for day in WEEKDAYS if day in days) if days else "Every day"


def ship_capacity(*, period: Period, locations: QuerySet[Location]) -> list[dict]:
    """Each location with a daily ship capacity: the ship orders it has taken today against that capacity, and
    over the period's days up to today on which it ships (its ship days; every day when none are set), the
    average daily use (ship orders on those days ÷ (those days × capacity)) and the days it reached capacity.

    Every ship fulfilment created on a day counts against its location's capacity that day, as routing counts
    it, against the capacity set now. The database counts them per location and local day; the days are sorted
    into ship days or not here."""
    today = timezone.localdate()
    capped = list(locations.filter(daily_ship_capacity__isnull=False).order_by("code"))
    per_day = (Fulfillment.objects
               .filter(period.q("created_at") | Period(today, today).q("created_at"),
                       method=Fulfillment.Method.SHIP, location__in=[place.pk for place in capped])
               .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
               .values_list("location", "day").annotate(orders=Count("id")).order_by())
    taken: dict[int, dict[date, int]] = {}
    for location_id, day, orders in per_day:
        taken.setdefault(location_id, {})[day] = orders
    last = min(period.last, today)
    weekdays = Counter(WEEKDAYS[(period.first + timedelta(days=n)).weekday()]
                       for n in range(max((last - period.first).days + 1, 0)))
    rows = []
    for place in capped:
        orders_on, capacity = taken.get(place.pk, {}), place.daily_ship_capacity
        worked = [orders for day, orders in orders_on.items() if period.first <= day <= last and place.ships_on(day)]
        days_worked = sum(count for weekday, count in weekdays.items()
                          if not place.ship_days or weekday in place.ship_days)
        rows.append({"store": place.code, "name": place.name, "ship_days": _ship_days_in_words(place.ship_days),
                     "capacity": capacity, "today": orders_on.get(today, 0),
                     "today_use": _percent(orders_on.get(today, 0), capacity) if place.ships_on(today) else None,
                     "days": days_worked, "orders": sum(worked),
                     "average_use": _percent(sum(worked), days_worked * capacity),
                     "full_days": sum(1 for orders in worked if orders >= capacity)})
    return rows


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
