"""Catalog reads: what a channel sells and at what price.

One rule decides whether a variant can be sold on a channel (at a store, for the till): an active Range
holds it for that channel and store, and a price is in force there. Everything that sells (the products
API and storefront through product_list, their price sorts through with_price_from; the cart, checkout and till
through prices_in_force) asks here.
A store's own price, where it has one, wins over the channel's price for sales at that store.
"""
from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    DecimalField,
    Exists,
    Expression,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from core.reference import reference
from core.selects import columns, instances

from .models import Category, Channel, Price, Product, ProductPriceFrom, Variant


def channel_named(code: str) -> Channel | None:
    """The sales channel with this code (web, mobile, till), kept in memory between requests."""
    return reference(("channels",), lambda: {channel.code: channel for channel in Channel.objects.all()}).get(code)


def category_subtree_ids(slug: str) -> list[int]:
    """The ids of the category named by `slug` and of every category beneath it; none for an unknown slug. From the
    tree kept in memory (core.reference): given the ids, PostgreSQL plans a category's page by its products' index,
    where a recursive CTE's guessed size made it test every product of the catalogue (bench/search.py, a leaf
    category's first page in the shop: p50 33 → 12 ms)."""
    tree = reference(("categories",), lambda: list(Category.objects.values_list("id", "parent_id", "slug")))
    found = [pk for pk, _, category_slug in tree if category_slug == slug]
    for parent in found:  # grows as it goes; each id once, so a cycle ends
        found += [pk for pk, parent_id, _ in tree if parent_id == parent and pk not in found]
    return found


# The rule, written once as SQL (`{variant}` names the variant's id column) and used two ways: compiled into
# product_list's querysets by _Rule, and run as it stands by prices_in_force. Plain SQL because the cart and
# checkout ask on every request, and building the same rule with the ORM cost a cart add more CPU than anything
# else it did (bench/checkout_profile.py --profile --profile-step cart). It reads the same on SQLite and PostgreSQL.

def _range_rule(*, channel: Channel, at, location) -> tuple[str, list]:
    """True where an active range holds the variant for the channel and the store. A range that names stores sells
    only at those stores (the till); without a store (web, app) only ranges that name no store count. A range that
    names no channel sells on every channel."""
    stores = "NOT EXISTS (SELECT 1 FROM catalog_range_locations rl WHERE rl.range_id = r.id)"
    params = [at, at, channel.pk]
    if location is not None:
        stores = (f"({stores} OR EXISTS (SELECT 1 FROM catalog_range_locations rl WHERE rl.range_id = r.id"
                  f" AND rl.location_id = %s))")
        params.append(location.pk)
    return (
        "EXISTS (SELECT 1 FROM catalog_range r WHERE r.starts_at <= %s AND (r.ends_at IS NULL OR r.ends_at > %s)"
        " AND (r.whole_catalog OR EXISTS (SELECT 1 FROM catalog_range_variants rv WHERE rv.range_id = r.id"
        " AND rv.variant_id = {variant}))"
        " AND (NOT EXISTS (SELECT 1 FROM catalog_range_channels rc WHERE rc.range_id = r.id)"
        " OR EXISTS (SELECT 1 FROM catalog_range_channels rc WHERE rc.range_id = r.id AND rc.channel_id = %s))"
        f" AND {stores})", params)


def _price_rule(*, column: str, channel: Channel, at, location) -> tuple[str, list]:
    """`column` of the variant's price in force on the channel: the store's own price first when a store is given
    (price windows never overlap per variant, channel and store, so the latest start is the only one)."""
    where, first, params = "p.location_id IS NULL", "", [channel.pk]
    if location is not None:
        where, first = "(p.location_id IS NULL OR p.location_id = %s)", "p.location_id IS NULL, "
        params.append(location.pk)
    return (
        f"SELECT p.{column} FROM catalog_price p WHERE p.variant_id = {{variant}} AND p.channel_id = %s AND {where}"
        " AND (p.valid_from IS NULL OR p.valid_from <= %s) AND (p.valid_until IS NULL OR p.valid_until > %s)"
        f" ORDER BY {first}p.valid_from DESC NULLS LAST, p.id DESC LIMIT 1", params + [at, at])


def _moment(at: datetime | None):
    return connection.ops.adapt_datetimefield_value(at or timezone.now())


class _Rule(Expression):
    """A piece of the rule's SQL inside an ORM query, its `{variant}` (or other `placeholder`) the compiled `variant`
    expression (the variant's pk, or OuterRef("pk") from a subquery), so Django relabels it like any column."""

    def __init__(self, rule: tuple[str, list], variant, output_field, placeholder: str = "{variant}"):
        super().__init__(output_field=output_field)
        self.rule, self.variant, self.placeholder = rule, variant, placeholder

    def get_source_expressions(self):
        return [self.variant]

    def set_source_expressions(self, exprs):
        (self.variant,) = exprs

    def as_sql(self, compiler, connection):
        sql, params = self.rule
        before, after = sql.split(self.placeholder)
        variant_sql, variant_params = compiler.compile(self.variant)
        n = before.count("%s")
        return f"({before}{variant_sql}{after})", [*params[:n], *variant_params, *params[n:]]


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
    sold_only=True, so they never show a product that cannot be bought; on PostgreSQL a product's fresh
    ProductPriceFrom row answers that (its lowest price is null when nothing is sold), and the semi-join is
    paid only for a product without one (bench/search.py: the shop's search p95 34 → 19 ms).
    """
    moment = _moment(at)
    pk = F("pk")

    def price(column, field):
        return _Rule(_price_rule(column=column, channel=channel, at=moment, location=location), pk, field)

    listed = (
        Variant.objects.filter(is_active=True)
        .filter(_Rule(_range_rule(channel=channel, at=moment, location=location), pk, BooleanField()))
        .annotate(price_amount=price("amount", DecimalField(max_digits=12, decimal_places=2)),
                  price_currency=price("currency", CharField()))
        .filter(price_amount__isnull=False)
        .order_by("sku")
    )
    products = Product.objects.active()
    if sold_only:
        sold = Exists(listed.filter(product=OuterRef("pk")).values("pk"))
        if connection.vendor == "postgresql" and location is None:  # a fresh ProductPriceFrom row knows already
            fresh, params = _price_from_fresh(channel=channel, at=moment)
            kept = _Rule((f"SELECT f.amount IS NOT NULL FROM {ProductPriceFrom._meta.db_table} f"
                          f" WHERE f.product_id = {{product}} AND {fresh}", params), pk, BooleanField(),
                         placeholder="{product}")
            sold = Coalesce(kept, sold, output_field=BooleanField())
        products = products.filter(sold)
    return (
        products.select_related("category")
        .prefetch_related(Prefetch("variants", queryset=listed, to_attr="listed_variants"))
        .order_by("name", "id")
    )


BRANDS_KEPT_SECONDS = 300


def brands_sold(*, channel: Channel) -> list[str]:
    """The brands of what the channel sells now (product_list(sold_only=True)), by name: the shop's brand filter.
    Kept in the shared cache for five minutes: working it out reads every product (27 ms over bench/search.py's
    20,000, more than all the rest of a catalogue page), and a brand that joins or leaves the list minutes late
    misleads nobody (choosing one that has just left finds nothing)."""
    return cache.get_or_set(f"catalog:brands-sold:{channel.code}", lambda: list(
        product_list(channel=channel, sold_only=True).exclude(brand="").order_by("brand")
        .values_list("brand", flat=True).distinct()), BRANDS_KEPT_SECONDS)


def with_price_from(products: QuerySet[Product], *, channel: Channel, at: datetime | None = None,
                    location=None) -> QuerySet[Product]:
    """Each product annotated with `price_from`: the lowest price among the variants product_list lists for it (the
    same rule: active, held by an active range for the channel and store, priced there), null when none; to put a
    list in price order. A correlated subquery, so a page costs the same number of queries at any size.

    On PostgreSQL, for the channel's own prices (no store), it reads ProductPriceFrom where it holds a row fresh at
    `at`, and works the price out only where it does not: working out every match's price cost a search of a few
    thousand matches 10 times as much (bench/search.py --alternatives)."""
    moment = _moment(at)
    sql, params = lowest_price_sql(channel=channel, at=moment, location=location)
    if connection.vendor == "postgresql" and location is None:
        fresh, fresh_params = _price_from_fresh(channel=channel, at=moment)
        sql, params = (
            f"SELECT CASE WHEN f.id IS NULL THEN {sql.replace('{product}', 'me.id')} ELSE f.amount END"
            f" FROM (SELECT {{product}} AS id) me LEFT JOIN {ProductPriceFrom._meta.db_table} f"
            f" ON f.product_id = me.id AND {fresh}", [*params, *fresh_params])
    return products.annotate(price_from=_Rule((sql, params), F("pk"), DecimalField(max_digits=12, decimal_places=2),
                                              placeholder="{product}"))


def _price_from_fresh(*, channel: Channel, at) -> tuple[str, list]:
    """The condition on a ProductPriceFrom row `f` that it is the channel's and may be used at `at` (adapted)."""
    return "f.channel_id = %s AND f.fresh_from <= %s AND (f.fresh_until IS NULL OR f.fresh_until > %s)", [
        channel.pk, at, at]


def lowest_price_sql(*, channel: Channel, at, location=None) -> tuple[str, list]:
    """The rule as SQL for a product, its `{product}` the product's id: the lowest price in force on the channel (and
    store) among its active variants an active range holds there; null when none. `at` is an adapted moment."""
    held, held_params = _range_rule(channel=channel, at=at, location=location)
    price, price_params = _price_rule(column="amount", channel=channel, at=at, location=location)
    return (f"(SELECT MIN(({price.format(variant='v.id')})) FROM {Variant._meta.db_table} v"
            f" WHERE v.product_id = {{product}} AND v.is_active AND {held.format(variant='v.id')})",
            [*price_params, *held_params])


def prices_in_force(*, variant_ids, channel: Channel, at: datetime | None = None, location=None) -> dict[int, Price]:
    """The price of each variant the channel (at the store, if given) sells now, by variant id; a variant
    it does not sell (no active range holds it there, or no price) is absent. One query."""
    ids = list(variant_ids)
    if not ids:
        return {}
    moment = _moment(at)
    held, held_params = _range_rule(channel=channel, at=moment, location=location)
    chosen, chosen_params = _price_rule(column="id", channel=channel, at=moment, location=location)
    columns = ", ".join(f"p.{f.column}" for f in Price._meta.concrete_fields)
    return {price.variant_id: price for price in Price.objects.raw(
        f"SELECT {columns} FROM catalog_variant v JOIN catalog_price p ON p.id = ({chosen.format(variant='v.id')})"
        f" WHERE v.id IN ({', '.join(['%s'] * len(ids))}) AND {held.format(variant='v.id')}",
        [*chosen_params, *ids, *held_params])}


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


def variant_by_sku(sku: str) -> Variant | None:
    """The variant with exactly this SKU, with its product (one hand-written SELECT: every cart add asks)."""
    found = instances(f"SELECT {columns(Variant, 'v')}, {columns(Product, 'p')} FROM {Variant._meta.db_table} v"
                      f" JOIN {Product._meta.db_table} p ON p.id = v.product_id WHERE v.sku = %s", [sku],
                      Variant, Product)
    if not found:
        return None
    variant, product = found[0]
    variant.product = product
    return variant


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
