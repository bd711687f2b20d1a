"""Catalog reads: the price of a variant on a channel (one, or many at once), and the products a
channel sells with their prices in force."""
from datetime import datetime

from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone

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
    """Active products by name, each with `listed_variants`: its active variants that have a price on
    the channel at `at` (now), by SKU, annotated with that price as `price_amount` and `price_currency`
    (the covering window that started last — price_get's rule). A variant with no price there cannot be
    bought on the channel, so it is left out; a product left with none lists with no variants.

    A page costs a fixed number of queries (products with category, then variants), whatever its size.
    The price is a correlated subquery per variant (an index probe) rather than a Prefetch of Price rows,
    and products are not filtered on having a price: on bench/availability.py's data both alternatives
    were several times slower, the filter because it is a semi-join over every variant and price of the
    channel, paid twice per page (the rows and the paginator's count).
    """
    moment = at or timezone.now()
    in_force = (
        Price.objects.filter(channel=channel, variant=OuterRef("pk"))
        .valid_at(moment)
        .order_by(F("valid_from").desc(nulls_last=True), "-id")
    )
    listed = (
        Variant.objects.filter(is_active=True)
        .annotate(
            price_amount=Subquery(in_force.values("amount")[:1]),
            price_currency=Subquery(in_force.values("currency")[:1]),
        )
        .filter(price_amount__isnull=False)
        .order_by("sku")
    )
    return (
        Product.objects.active()
        .select_related("category")
        .prefetch_related(Prefetch("variants", queryset=listed, to_attr="listed_variants"))
        .order_by("name", "id")
    )


def prices_in_force(*, variant_ids, channel: Channel, at=None) -> dict[int, Price]:
    """Each variant's price on the channel now: the covering window that started last (one query)."""
    chosen: dict[int, Price] = {}
    rows = (
        Price.objects.filter(variant_id__in=variant_ids, channel=channel)
        .valid_at(at or timezone.now())
        .order_by("variant_id", F("valid_from").desc(nulls_last=True), "-id")
    )
    for price in rows:
        chosen.setdefault(price.variant_id, price)
    return chosen
