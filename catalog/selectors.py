"""Catalog reads: the price of a variant on a channel, the products a channel sells with their prices
in force, availability for a page of them, and the stores a shopper can visit (nearest first)."""
from collections.abc import Iterable
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from inventory.models import Location
from inventory.selectors import distance_km_expression, sellable_by_variant

from .models import Channel, Price, Product, Variant


def price_get(*, variant: Variant, channel: Channel, at: datetime | None = None) -> Price | None:
    """The price in force: among the windows covering `at`, the one that started last."""
    moment = at or timezone.now()
    return (
        Price.objects.filter(variant=variant, channel=channel)
        .valid_at(moment)
        .order_by(F("valid_from").desc(nulls_last=True), "-id")
        .first()
    )


def product_list(*, channel: Channel, at: datetime | None = None) -> QuerySet[Product]:
    """Active products the channel sells, by name: those with at least one active variant that has a
    price on the channel at `at` (now). A variant with no price there cannot be bought, so it is left
    out, and so is a product left with no variants.

    Prefetched, so a page costs a fixed number of queries: `category`; `listed_variants` (the active,
    priced variants, SKU order); on each variant, `channel_prices` with the price in force first (the
    covering window that started last, open-ended windows after dated ones — price_get's rule).
    """
    moment = at or timezone.now()
    prices = Price.objects.filter(channel=channel).valid_at(moment)
    listed = Variant.objects.filter(is_active=True).filter(Exists(prices.filter(variant=OuterRef("pk"))))
    return (
        Product.objects.active()
        .filter(Exists(listed.filter(product=OuterRef("pk"))))
        .select_related("category")
        .prefetch_related(
            Prefetch(
                "variants",
                queryset=listed.order_by("sku").prefetch_related(
                    Prefetch(
                        "prices",
                        queryset=prices.order_by(F("valid_from").desc(nulls_last=True), "-id"),
                        to_attr="channel_prices",
                    )
                ),
                to_attr="listed_variants",
            )
        )
        .order_by("name", "id")
    )


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


def store_list(*, latitude: float | None = None, longitude: float | None = None) -> QuerySet[Location]:
    """Active stores by code or, given a point, nearest first with `distance_km` (else None)."""
    stores = Location.objects.active().stores()
    if latitude is None or longitude is None:
        return stores.order_by("code")
    return stores.annotate(distance_km=distance_km_expression(latitude, longitude)).order_by("distance_km", "code")
