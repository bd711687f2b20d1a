"""Which location sends which lines: a small strategy the checkout calls and a retailer can replace.

Pickup: the chosen store sends everything. Delivery: the nearest location that ships orders and can
send the whole order; only when none can is the order split, nearest locations first.
"""
from collections.abc import Sequence
from dataclasses import dataclass

from catalog.models import Channel, Variant
from inventory.exceptions import InsufficientStock, ShortLine
from inventory.models import Location, StockLevel
from inventory.selectors import distance_km_expression, sellable_expression


@dataclass(frozen=True)
class Routed:
    location: Location
    variant: Variant
    quantity: int


def _shipping_locations(latitude: float | None, longitude: float | None) -> list[Location]:
    places = Location.objects.active().filter(ships_orders=True)
    if latitude is None or longitude is None:
        # No coordinates for the address: warehouses first, then stores, in a stable order.
        return list(places.order_by("-kind", "code"))
    nearest = places.annotate(distance_km=distance_km_expression(latitude, longitude))
    return list(nearest.order_by("distance_km", "code"))


def route_delivery(
    *, lines: Sequence[tuple[Variant, int]], channel: Channel, latitude: float | None = None,
    longitude: float | None = None,
) -> list[Routed]:
    places = _shipping_locations(latitude, longitude)
    wanted = {variant.pk: quantity for variant, quantity in lines}
    variants = {variant.pk: variant for variant, _ in lines}
    stock = {
        (row["location_id"], row["variant_id"]): row["units"]
        for row in StockLevel.objects.filter(location__in=places, variant_id__in=wanted)
        .annotate(units=sellable_expression(channel))
        .values("location_id", "variant_id", "units")
    }
    for place in places:
        if all(stock.get((place.pk, v), 0) >= q for v, q in wanted.items()):
            return [Routed(place, variants[v], q) for v, q in wanted.items()]
    routed, left = [], dict(wanted)
    for place in places:
        for variant_id, quantity in list(left.items()):
            take = min(quantity, stock.get((place.pk, variant_id), 0))
            if take:
                routed.append(Routed(place, variants[variant_id], take))
                left[variant_id] -= take
                if not left[variant_id]:
                    del left[variant_id]
    if left:
        raise InsufficientStock([
            ShortLine(sku=variants[v].sku, location="delivery", wanted=wanted[v], available=wanted[v] - q)
            for v, q in left.items()
        ])
    return routed


def route_pickup(*, lines: Sequence[tuple[Variant, int]], store: Location) -> list[Routed]:
    return [Routed(store, variant, quantity) for variant, quantity in lines]
