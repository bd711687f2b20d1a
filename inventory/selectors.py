"""Inventory reads: what a channel may sell where (per variant, per product page), the stores near a
point and the nearest that have a variant, a pair's movement history, ledger drift, and which
locations a member of staff works with (the one store scope every back-office page and staff API uses).
"""
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import F, FloatField, IntegerField, QuerySet, Sum, Value
from django.db.models.functions import ASin, Cos, Greatest, Least, Power, Radians, Sin, Sqrt

from catalog.models import Channel, Product, Variant
from core.reference import reference
from core.selects import any_of

from .exceptions import LocationNotFound, NotOnStaff
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


def shipping_location_ids() -> list[int]:
    """The active locations that ship orders (delivery's sources), kept in memory between requests."""
    return reference(("shipping-locations",),
                     lambda: list(Location.objects.active().filter(ships_orders=True).values_list("pk", flat=True)))


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


def low_stock_levels(*, locations: QuerySet[Location]) -> QuerySet[StockLevel]:
    """Stock at or below its reorder point (0 = no alerts) at active `locations`, with `units` available."""
    return (StockLevel.objects.filter(location__in=locations, reorder_point__gt=0, location__is_active=True)
            .annotate(units=F("on_hand") - F("committed") - F("reserved") - F("unavailable"))
            .filter(units__lte=F("reorder_point")))
