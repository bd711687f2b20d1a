"""Inventory reads: what a channel may sell where, the nearest stores that have a variant,
a pair's movement history, and ledger drift (StockLevel against the sum of its movements).
"""
from dataclasses import dataclass

from django.db.models import F, FloatField, IntegerField, QuerySet, Sum, Value
from django.db.models.functions import ASin, Cos, Greatest, Least, Power, Radians, Sin, Sqrt

from catalog.models import Channel, Variant

from .models import BUCKETS, Location, StockLevel, StockMovement

EARTH_RADIUS_KM = 6371.0088


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


def sellable_by_variant(*, variant_ids, channel: Channel, location: Location | None = None) -> dict[int, int]:
    """Units each variant can be sold in one query: at `location` (pickup, the till), or, without one,
    across every active location that ships orders (delivery). Variants with no stock are absent (0)."""
    levels = StockLevel.objects.filter(variant_id__in=variant_ids, location__is_active=True)
    if location is not None:
        levels = levels.filter(location=location)
    else:
        levels = levels.filter(location__ships_orders=True)
    return dict(
        levels.values("variant_id")
        .annotate(units=Sum(sellable_expression(channel)))
        .order_by()
        .values_list("variant_id", "units")
    )


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
