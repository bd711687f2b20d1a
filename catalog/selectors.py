"""Catalog reads: what a channel sells and at what price.

One rule decides whether a variant can be sold on a channel (at a store, for the till): an active Range
holds it for that channel and store, and a price is in force there. Everything that sells (the products
API and storefront through product_list; the cart, checkout and till through prices_in_force) asks here.
A store's own price, where it has one, wins over the channel's price for sales at that store.
"""
from datetime import datetime

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from core.reference import reference

from .models import Channel, Price, Product, Range, Variant


def channel_named(code: str) -> Channel | None:
    """The sales channel with this code (web, mobile, till), kept in memory between requests."""
    return reference(("channels",), lambda: {channel.code: channel for channel in Channel.objects.all()}).get(code)


def in_active_range(*, channel: Channel, at: datetime, location=None, variant_ref: str = "pk") -> Exists:
    """True where an active range holds the variant (OuterRef(variant_ref)) for the channel and the store.
    A range that names stores sells only at those stores (the till); without a store (web, app) only
    ranges that name no store count."""
    ranges = (
        Range.objects.active_at(at)
        .filter(Q(whole_catalog=True) | Q(variants=OuterRef(variant_ref)))
        .filter(Q(channels__isnull=True) | Q(channels=channel))
        .filter(Q(locations__isnull=True) | Q(locations=location) if location is not None else Q(locations__isnull=True))
    )
    return Exists(ranges)


def _price_order(location) -> list:
    # Price windows never overlap per (variant, channel, store); the store's own price comes first.
    first = [F("location_id").asc(nulls_last=True)] if location is not None else []
    return [*first, F("valid_from").desc(nulls_last=True), "-id"]


def _prices(*, channel: Channel, at: datetime, location) -> QuerySet[Price]:
    where = Q(location__isnull=True) | Q(location=location) if location is not None else Q(location__isnull=True)
    return Price.objects.filter(where, channel=channel).valid_at(at)


def price_get(*, variant: Variant, channel: Channel, at: datetime | None = None, location=None) -> Price | None:
    """The price in force on the channel (the store's own price first, when a store is given)."""
    return prices_in_force(variant_ids=[variant.pk], channel=channel, at=at, location=location).get(variant.pk)


def product_list(*, channel: Channel, at: datetime | None = None, location=None,
                 sold_only: bool = False) -> QuerySet[Product]:
    """Active products by name, each with `listed_variants`: its active variants that the channel sells at
    `at` (now) — held by an active range for the channel (and store) and priced there — by SKU, annotated
    with that price as `price_amount` and `price_currency`. A product left with none lists with no variants.

    A page costs a fixed number of queries (products with category, then variants), whatever its size.
    The price is a correlated subquery per variant (an index probe) rather than a Prefetch of Price rows,
    and products are not filtered on having a price: on bench/availability.py's data both alternatives
    were several times slower, the filter because it is a semi-join over every variant and price of the
    channel, paid twice per page (the rows and the paginator's count). Pages a shopper browses pass
    sold_only=True and pay it, so they never show a product that cannot be bought.
    """
    moment = at or timezone.now()
    in_force = _prices(channel=channel, at=moment, location=location).filter(variant=OuterRef("pk")).order_by(
        *_price_order(location)
    )
    listed = (
        Variant.objects.filter(is_active=True)
        .filter(in_active_range(channel=channel, at=moment, location=location))
        .annotate(
            price_amount=Subquery(in_force.values("amount")[:1]),
            price_currency=Subquery(in_force.values("currency")[:1]),
        )
        .filter(price_amount__isnull=False)
        .order_by("sku")
    )
    products = Product.objects.active()
    if sold_only:
        products = products.filter(Exists(listed.filter(product=OuterRef("pk")).values("pk")))
    return (
        products.select_related("category")
        .prefetch_related(Prefetch("variants", queryset=listed, to_attr="listed_variants"))
        .order_by("name", "id")
    )


def prices_in_force(*, variant_ids, channel: Channel, at: datetime | None = None, location=None) -> dict[int, Price]:
    """The price of each variant the channel (at the store, if given) sells now, by variant id; a variant
    it does not sell (no active range holds it there, or no price) is absent. One query."""
    moment = at or timezone.now()
    chosen: dict[int, Price] = {}
    rows = (
        _prices(channel=channel, at=moment, location=location)
        .filter(variant_id__in=variant_ids)
        .filter(in_active_range(channel=channel, at=moment, location=location, variant_ref="variant_id"))
        .order_by("variant_id", *_price_order(location))
    )
    for price in rows:
        chosen.setdefault(price.variant_id, price)
    return chosen


def with_price_range(products: QuerySet[Product], *, channel_code: str = Channel.WEB,
                     at: datetime | None = None) -> QuerySet[Product]:
    """Each product annotated with `price_low`, `price_high` and `price_currency`: the lowest and highest
    channel price (not a store's own) in force among its variants, for back-office lists. Subqueries, so a
    page costs the same at any size."""
    in_force = (Price.objects.filter(variant__product=OuterRef("pk"), channel__code=channel_code, location__isnull=True)
                .valid_at(at or timezone.now()))
    return products.annotate(price_low=Subquery(in_force.order_by("amount").values("amount")[:1]),
                             price_high=Subquery(in_force.order_by("-amount").values("amount")[:1]),
                             price_currency=Subquery(in_force.values("currency")[:1]))


def variant_by_code(*, code: str) -> Variant | None:
    """The variant a typed or scanned code names, by SKU or by barcode (with its product), or None. Case and
    spaces do not matter ("tee-navy-m ", "5012 3456 78900"): the code as given is looked up first (on the
    unique indexes; it wins where two SKUs differ only in case), then in any case."""
    codes = list(dict.fromkeys(c for c in (code.strip(), "".join(code.split())) if c))
    if not codes:
        return None
    variants = Variant.objects.select_related("product")
    exact = variants.filter(Q(sku__in=codes) | Q(barcode__in=codes)).first()
    if exact is not None:
        return exact
    any_case = Q()
    for c in codes:
        any_case |= Q(sku__iexact=c) | Q(barcode__iexact=c)
    return variants.filter(any_case).first()
