"""Inventory reads: what a channel may sell where (per variant, per product page), from when it can be
collected at a store (held there, or sent by a location that ships orders), the stores near a point and the
nearest that have a variant or can get it, how many stores have each variant, a pair's movement history,
ledger drift, and which locations a member of staff works with (the one store scope every back-office page
and staff API uses).
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection
from django.db.models import Count, F, FloatField, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import ASin, Coalesce, Cos, Greatest, Least, Power, Radians, Sin, Sqrt
from django.utils import timezone

from catalog.models import Channel, Product, Variant
from core.reference import reference
from core.selects import any_of

from .exceptions import LocationNotFound, NotOnStaff
from .hours import collect_from, km_between
from .models import BUCKETS, Location, SellableOnline, StockLevel, StockMovement, sellable_online_current

EARTH_RADIUS_KM = 6371.0088
# Head office (merchandisers, operations): not limited to the stores whose staff they are on.
ALL_LOCATIONS_PERMISSION = "inventory.all_locations"


def store_named(code: str) -> Location | None:
    """The active store with this code (where a shopper collects), kept in memory between requests."""
    return reference(("stores",), lambda: {store.code: store for store in Location.objects.active().stores()}).get(code)


def locations_for_staff(user) -> QuerySet[Location]:
    """The locations whose stock, documents, orders and fulfilments the user sees and works on: every one
    for a superuser or a holder of the all_locations permission, else those whose staff include the user."""
    if not user.is_authenticated:
        return Location.objects.none()
    if user.is_superuser or user.has_perm(ALL_LOCATIONS_PERMISSION):
        return Location.objects.all()
    return Location.objects.filter(staff=user)


def staff_location_get(*, user, code: str) -> Location:
    """The active location with this code, if the user works there: LocationNotFound (404) for a code no
    active location has, NotOnStaff (403) for someone else's store."""
    location = Location.objects.active().filter(code=code).first()
    if location is None:
        raise LocationNotFound(f"No location has code {code!r}.", store=code)
    if not locations_for_staff(user).filter(pk=location.pk).exists():
        raise NotOnStaff(f"You are not on the staff of {location.name} ({location.code}).", store=location.code)
    return location


def sellable_expression(channel: Channel, prefix: str = ""):
    """Units the channel may sell: online channels keep safety stock back, the till does not."""
    available = F(f"{prefix}on_hand") - F(f"{prefix}committed") - F(f"{prefix}reserved") - F(f"{prefix}unavailable")
    if channel.is_online:
        available = available - F(f"{prefix}safety_stock")
    return Greatest(available, Value(0), output_field=IntegerField())


def distance_km_expression(latitude: float, longitude: float, prefix: str = ""):
    """Great-circle distance (haversine) from a point to each location, computed in the database."""
    lat1, lng1 = Radians(Value(float(latitude))), Radians(Value(float(longitude)))
    lat2, lng2 = Radians(F(f"{prefix}latitude")), Radians(F(f"{prefix}longitude"))
    half_chord = Power(Sin((lat2 - lat1) / 2), 2) + Cos(lat1) * Cos(lat2) * Power(Sin((lng2 - lng1) / 2), 2)
    return Value(2 * EARTH_RADIUS_KM) * ASin(Sqrt(Least(half_chord, Value(1.0), output_field=FloatField())))


def variant_availability(*, variant: Variant, channel: Channel) -> QuerySet[StockLevel]:
    """The variant's stock at every active location, with `sellable`: what this channel may sell there."""
    return (
        StockLevel.objects.filter(variant=variant, location__is_active=True)
        .annotate(sellable=sellable_expression(channel))
        .select_related("location")
        .order_by("location__code")
    )


def stores_nearest_with_variant(
    *, variant: Variant, channel: Channel, latitude: float, longitude: float, quantity: int = 1, limit: int = 10
) -> QuerySet[StockLevel]:
    """Stock levels at active stores that can sell `quantity` on this channel, nearest first.

    Each row carries its location, `sellable` and `distance_km`.
    """
    return (
        StockLevel.objects.filter(
            variant=variant, location__is_active=True, location__kind=Location.Kind.STORE
        )
        .annotate(sellable=sellable_expression(channel), distance_km=distance_km_expression(latitude, longitude, "location__"))
        .filter(sellable__gte=quantity)
        .select_related("location")
        .order_by("distance_km", "location__code")[:limit]
    )


def store_list(*, latitude: float | None = None, longitude: float | None = None) -> QuerySet[Location]:
    """Active stores by code or, given a point, nearest first with `distance_km`."""
    stores = Location.objects.active().stores()
    if latitude is None or longitude is None:
        return stores.order_by("code")
    return stores.annotate(distance_km=distance_km_expression(latitude, longitude)).order_by("distance_km", "code")


def shipping_locations() -> dict[int, Location]:
    """The active locations that ship orders (delivery's and ship-to-store's sources) by id, kept in memory
    between requests."""
    return reference(("shipping-locations",),
                     lambda: {place.pk: place for place in Location.objects.active().filter(ships_orders=True)})


def shipping_location_ids() -> list[int]:
    return list(shipping_locations())


def sellable_online(variant_ids) -> dict[int, int]:
    """Units each variant can be sold online for delivery: the sum of its SellableOnline stripes. A page's
    500 ids go as one array (core.selects.any_of); bound one by one, they cost more CPU to compile and send
    than the database spends on the query (bench/availability.py)."""
    ids = list(variant_ids)
    if not ids:
        return {}
    sellable_online_current()
    where, params = any_of("variant_id", ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT variant_id, SUM(units) FROM {SellableOnline._meta.db_table} WHERE {where}"
                       " GROUP BY variant_id HAVING SUM(units) > 0", params)
        return {variant_id: int(units) for variant_id, units in cursor.fetchall()}


def sellable_by_variant(*, variant_ids, channel: Channel, location: Location | None = None) -> dict[int, int]:
    """Units each variant can be sold in one query: at `location` (pickup, the till), or, without one,
    across every active location that ships orders (delivery). Variants with no stock are absent (0)."""
    if location is None and channel.is_online:
        return sellable_online(variant_ids)
    # A location, or delivery on a channel that may sell safety stock (staff ordering for a customer).
    places = ([location.pk] if location.is_active else []) if location is not None else shipping_location_ids()
    levels = StockLevel.objects.filter(variant_id__in=variant_ids, location_id__in=places)
    return dict(
        levels.values("variant_id")
        .annotate(units=Sum(sellable_expression(channel)))
        .order_by()
        .values_list("variant_id", "units")
    )


_ONLINE = "s.on_hand - s.committed - s.reserved - s.unavailable - s.safety_stock"
_SELLABLE_ONLINE_DRIFT = f"""
    SELECT variant_id, SUM(counted), SUM(stock) FROM (
        SELECT variant_id, units AS counted, 0 AS stock FROM inventory_sellableonline
        UNION ALL
        SELECT s.variant_id, 0, CASE WHEN {_ONLINE} > 0 THEN {_ONLINE} ELSE 0 END
          FROM inventory_stocklevel s JOIN inventory_location l ON l.id = s.location_id
         WHERE l.is_active AND l.ships_orders
    ) AS both_sides
    GROUP BY variant_id HAVING SUM(counted) <> SUM(stock) ORDER BY variant_id"""


def sellable_online_drift() -> list[tuple[str, int, int]]:
    """(SKU, units sellable online, what its active shipping locations can sell online) of every variant where
    the two differ; one statement, so one snapshot even while the shop trades."""
    sellable_online_current()
    with connection.cursor() as cursor:
        cursor.execute(_SELLABLE_ONLINE_DRIFT)
        wrong = cursor.fetchall()
    skus = dict(Variant.objects.filter(pk__in=[v for v, _, _ in wrong]).values_list("pk", "sku")) if wrong else {}
    return [(skus[v], int(counted), int(stock)) for v, counted, stock in wrong]


def stock_movement_list(*, location: Location, variant: Variant) -> QuerySet[StockMovement]:
    """A pair's ledger, newest first."""
    return StockMovement.objects.filter(location=location, variant=variant).select_related("actor").order_by(
        "-created_at", "-id"
    )


@dataclass(frozen=True)
class Drift:
    location: str
    sku: str
    bucket: str
    level: int
    ledger: int


def ledger_drift(*, location: Location) -> list[Drift]:
    """Every bucket at this location whose StockLevel differs from the sum of its movements."""
    sums = {
        row["variant_id"]: row
        for row in StockMovement.objects.filter(location=location)
        .values("variant_id")
        .annotate(**{b: Sum(f"{b}_delta") for b in BUCKETS})
        .order_by()
    }
    levels = {
        row["variant_id"]: row
        for row in StockLevel.objects.filter(location=location).values("variant_id", *BUCKETS)
    }
    drifted = []
    skus: dict[int, str] = {}
    for variant_id in sorted(set(sums) | set(levels)):
        level, ledger = levels.get(variant_id, {}), sums.get(variant_id, {})
        for bucket in BUCKETS:
            have, expect = level.get(bucket) or 0, ledger.get(bucket) or 0
            if have != expect:
                if not skus:
                    skus = dict(Variant.objects.filter(pk__in=set(sums) | set(levels)).values_list("pk", "sku"))
                drifted.append(Drift(location.code, skus[variant_id], bucket, have, expect))
    return drifted


def product_availability_attach(
    *, products: Iterable[Product], channel: Channel, location: Location | None = None
) -> list[Product]:
    """Set `available` on every listed variant of these products (from product_list): units this
    channel can sell at `location`, or for delivery without one. One query for the whole page."""
    products = list(products)
    variant_ids = [v.pk for p in products for v in p.listed_variants]
    units = sellable_by_variant(variant_ids=variant_ids, channel=channel, location=location) if variant_ids else {}
    for product in products:
        for variant in product.listed_variants:
            variant.available = units.get(variant.pk, 0)
    return products


# Collection: from when a store can hand a variant over ------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    """A variant at a store: `available`, the units the channel can sell there now, and `collect_from`, the first
    day a shopper can collect what they want there: held there, the store's next chance to hand it over; else when
    the nearest location that ships orders and can sell the rest would get it there (`source`). None when the store
    does not offer pickup, or nowhere else can send it."""

    available: int
    collect_from: date | None
    source: Location | None = None


@dataclass(frozen=True)
class StoreCollection:
    """One store near a point for one variant: `sellable` there now and `collect_from` (as Collection's)."""

    location: Location
    distance_km: float
    sellable: int
    collect_from: date | None


def _shipping_stock(*, variant_ids, channel: Channel) -> dict[int, list[tuple[Location, int]]]:
    """{variant id: [(location that ships orders, units the channel can sell there)]} where above 0; one query."""
    places = shipping_locations()
    ids = list(variant_ids)
    if not ids or not places:
        return {}
    rows = (StockLevel.objects.filter(variant_id__in=ids, location_id__in=list(places))
            .annotate(units=sellable_expression(channel)).filter(units__gt=0)
            .order_by("location_id").values_list("variant_id", "location_id", "units"))
    stock: dict[int, list[tuple[Location, int]]] = {}
    for variant_id, location_id, units in rows:
        stock.setdefault(variant_id, []).append((places[location_id], units))
    return stock


class _Dates:
    """collect_from for (store, source) pairs at one moment, each worked out once (a page asks for many)."""

    def __init__(self, now: datetime | None):
        self.now = now or timezone.now()
        self.dates: dict[tuple[int, int | None], date] = {}
        self.km: dict[tuple[int, int], float] = {}

    def ready(self, store: Location, source: Location | None = None) -> date:
        key = (store.pk, source.pk if source else None)
        if key not in self.dates:
            self.dates[key] = collect_from(store=store, sources=[source] if source else [], now=self.now)
        return self.dates[key]

    def distance(self, store: Location, source: Location) -> float:
        key = (store.pk, source.pk)
        if key not in self.km:
            self.km[key] = km_between(source, store)
        return self.km[key]

    def collection(self, store: Location, held: int, wanted: int,
                   sources: list[tuple[Location, int]]) -> Collection:
        """Collection of `wanted` at `store`, which can sell `held`; `sources`: what each shipping location can."""
        if not (store.is_active and store.offers_pickup):
            return Collection(held, None)
        if held >= wanted:
            return Collection(held, self.ready(store))
        lacking = wanted - held
        able = [place for place, units in sources if units >= lacking and place.pk != store.pk]
        if not able:
            return Collection(held, None)
        nearest = min(able, key=lambda place: (self.distance(store, place), place.code))
        return Collection(held, self.ready(store, nearest), nearest)


NEAREST_FIRST = 50  # the shipping locations nearest a store, asked first for what it lacks


def _shipping_by_distance(store: Location) -> list[Location]:
    """The active locations that ship orders, but the store, nearest it first (then by code); kept in memory with
    them."""
    return reference(("shipping-by-distance", store.pk), lambda: sorted(
        (place for place in shipping_locations().values() if place.pk != store.pk),
        key=lambda place: (km_between(store, place), place.code)))


def _nearest_sources(*, lacking: dict[int, int], store: Location, channel: Channel
                     ) -> dict[int, list[tuple[Location, int]]]:
    """{variant id: [(the nearest location that ships orders and can sell the `lacking` units of it, its units)]},
    but the store itself. The NEAREST_FIRST nearest are asked first, the others only for the variants they leave
    without one: two queries at most, where reading every shipping location's stock of a page's 250 variants
    returned some 12,000 rows (bench/availability.py, the products API at a store)."""
    ordered, found = _shipping_by_distance(store), {}
    for batch, farther in ((ordered[:NEAREST_FIRST], False), (ordered[NEAREST_FIRST:], True)):
        ids = [pk for pk in lacking if pk not in found]
        if not ids or not batch:
            break
        rank = {place.pk: n for n, place in enumerate(batch)}
        levels = StockLevel.objects.filter(variant_id__in=ids)
        if farther:  # every other shipping location: named by what they are rather than by hundreds of ids
            levels = levels.filter(location__is_active=True, location__ships_orders=True).exclude(
                location_id__in=[store.pk, *(place.pk for place in ordered[:NEAREST_FIRST])])
        else:
            levels = levels.filter(location_id__in=list(rank))
        rows = (levels.annotate(units=sellable_expression(channel)).filter(units__gte=min(lacking[pk] for pk in ids))
                .values_list("variant_id", "location_id", "units"))
        for variant_id, location_id, units in rows:
            if units < lacking[variant_id] or location_id not in rank:
                continue
            if variant_id not in found or rank[location_id] < rank[found[variant_id][0].pk]:
                found[variant_id] = (batch[rank[location_id]], units)
    return {pk: [source] for pk, source in found.items()}


def collection_at_store(
    *, variant_ids, store: Location, channel: Channel, wanted: int = 1, now: datetime | None = None
) -> dict[int, Collection]:
    """{variant id: Collection} of `wanted` units of each variant at `store`: two to four queries for any number
    of variants (the others only when the store lacks some). The estimate takes the nearest location that ships
    orders and can sell what is lacking; checkout's routing (orders.routing.route_pickup) decides for real."""
    ids = list(variant_ids)
    held = sellable_by_variant(variant_ids=ids, channel=channel, location=store) if ids else {}
    lacking = {pk: wanted - held.get(pk, 0) for pk in ids if held.get(pk, 0) < wanted}
    sources = _nearest_sources(lacking=lacking, store=store, channel=channel) if lacking and store.offers_pickup else {}
    dates = _Dates(now)
    return {pk: dates.collection(store, held.get(pk, 0), wanted, sources.get(pk, [])) for pk in ids}


def product_collection_attach(
    *, products: Iterable[Product], channel: Channel, store: Location, now: datetime | None = None
) -> list[Product]:
    """As product_availability_attach at `store`, and set `collect_from` on every listed variant (Collection's)."""
    products = list(products)
    collections = collection_at_store(variant_ids=[v.pk for p in products for v in p.listed_variants], store=store,
                                      channel=channel, now=now)
    for product in products:
        for variant in product.listed_variants:
            variant.available = collections[variant.pk].available
            variant.collect_from = collections[variant.pk].collect_from
    return products


def stores_near_for_collection(
    *, variant: Variant, channel: Channel, latitude: float, longitude: float, quantity: int = 1, limit: int = 10,
    now: datetime | None = None,
) -> list[StoreCollection]:
    """Where a shopper near a point can have `quantity` of the variant, at most `limit` stores: first those that
    can sell it now, nearest first (collect_from null at one that does not offer pickup: buy it there), then
    the stores offering pickup that a location that ships orders can send the rest to, nearest first, each with
    what it holds and from when it can be collected. Four queries at most, whatever the limit."""
    dates = _Dates(now)
    rows = [StoreCollection(level.location, level.distance_km, level.sellable,
                            dates.collection(level.location, level.sellable, quantity, []).collect_from)
            for level in stores_nearest_with_variant(variant=variant, channel=channel, latitude=latitude,
                                                     longitude=longitude, quantity=quantity, limit=limit)]
    sources = _shipping_stock(variant_ids=[variant.pk], channel=channel).get(variant.pk) if len(rows) < limit else []
    if not sources:
        return rows
    held = StockLevel.objects.filter(location=OuterRef("pk"), variant=variant).annotate(
        units=sellable_expression(channel)).values("units")[:1]
    others = (store_list(latitude=latitude, longitude=longitude).filter(offers_pickup=True)
              .exclude(pk__in=[row.location.pk for row in rows])
              .annotate(held=Coalesce(Subquery(held, output_field=IntegerField()), Value(0)))[:limit - len(rows)])
    for store in others:
        collection = dates.collection(store, store.held, quantity, sources)
        if collection.collect_from is not None:
            rows.append(StoreCollection(store, store.distance_km, store.held, collection.collect_from))
    return rows


def low_stock_levels(*, locations: QuerySet[Location]) -> QuerySet[StockLevel]:
    """Stock at or below its reorder point (0 = no alerts) at active `locations`, with `units` available."""
    return (StockLevel.objects.filter(location__in=locations, reorder_point__gt=0, location__is_active=True)
            .annotate(units=F("on_hand") - F("committed") - F("reserved") - F("unavailable"))
            .filter(units__lte=F("reorder_point")))


def stores_stocking(*, variant_ids, channel: Channel) -> dict[int, int]:
    """How many active stores can sell each variant now on this channel ("in stock at 4 stores"); a variant no
    store has is absent. One query."""
    ids = list(variant_ids)
    if not ids:
        return {}
    return dict(StockLevel.objects.filter(variant_id__in=ids, location__is_active=True,
                                          location__kind=Location.Kind.STORE)
                .alias(units=sellable_expression(channel)).filter(units__gt=0)
                .values("variant_id").annotate(stores=Count("id")).order_by().values_list("variant_id", "stores"))
