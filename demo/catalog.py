"""The demo catalogue: products with size and colour variants, EAN-13 barcodes and weights, priced on
every channel (a few cheaper online), generated from a fixed seed and written only where missing."""
import random
from dataclasses import dataclass
from decimal import Decimal

from django.utils.text import slugify

from catalog.models import Category, Channel, Price, Product, Variant

from .assortment import CATEGORY_PLANS, COLOURS, TOP_CATEGORIES

SEED = 20250601
EAN_PREFIX = "5069421"  # UK GS1 range ("50"); seven digits, leaving five for the item reference
CHANNELS = (Channel.WEB, Channel.MOBILE, Channel.TILL)
ONLINE_DISCOUNT_SHARE = 0.08


def ean13(first_twelve: str) -> str:
    """The twelve digits followed by their GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)


@dataclass
class Catalog:
    """Everything the loader writes, generated in memory from the seed before touching the database."""

    products: list[Product]
    category_of: dict[str, str]  # product slug -> category slug
    variants: list[Variant]
    product_of: dict[str, str]  # sku -> product slug
    prices: dict[str, dict[str, Decimal]]  # sku -> channel code -> amount


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high - 1)) + rng.choice((Decimal("0.00"), Decimal("0.50"), Decimal("0.99")))


def build_catalog() -> Catalog:
    rng = random.Random(SEED)
    catalog = Catalog([], {}, [], {}, {})
    for r in CATEGORY_PLANS:
        names = rng.sample([f"{style} {kind}" for style in r.styles for kind in r.kinds], r.count)
        for number, name in enumerate(names, start=1):
            stem = f"{r.code}-{number:04d}"
            brand = rng.choice(r.brands)
            details = " ".join(rng.sample(r.details, 2))
            product = Product(
                name=name, slug=slugify(f"{name} {stem}"), brand=brand,
                description=f"{r.blurb} {details} {rng.choice(r.care)}", tax_class=r.tax_class,
            )
            catalog.products.append(product)
            catalog.category_of[product.slug] = r.slug
            base = _price(rng, *r.price)
            online = base
            if rng.random() < ONLINE_DISCOUNT_SHARE:
                online = Decimal(int(base * Decimal("0.8"))) - Decimal("0.01")
            colours = rng.sample(r.colours, rng.choice(r.colours_per_product)) if r.colours else [None]
            for colour in colours:
                for step, size in enumerate(r.sizes or [None]):
                    options, parts = {}, [stem]
                    if colour:
                        options["colour"] = colour
                        parts.append(COLOURS[colour])
                    if size:
                        options["size"] = size[0]
                        parts.append(size[1])
                    sku = "-".join(parts)
                    barcode = ean13(f"{EAN_PREFIX}{len(catalog.variants) + 1:05d}")
                    grams = r.grams + r.grams * step // 10
                    catalog.variants.append(Variant(sku=sku, barcode=barcode, options=options, weight_grams=grams))
                    catalog.product_of[sku] = product.slug
                    catalog.prices[sku] = {Channel.WEB: online, Channel.MOBILE: online, Channel.TILL: base}
    return catalog


def upsert_categories() -> dict[str, Category]:
    by_slug = {}
    for slug, name in TOP_CATEGORIES:
        by_slug[slug], _ = Category.objects.get_or_create(slug=slug, defaults={"name": name})
    for r in CATEGORY_PLANS:
        by_slug[r.slug], _ = Category.objects.get_or_create(
            slug=r.slug, defaults={"name": r.name, "parent": by_slug[r.parent]}
        )
    return by_slug


def upsert_products(catalog: Catalog, categories: dict[str, Category]) -> dict[str, int]:
    """Create the missing products (by slug); return product ids by slug."""
    slugs = [p.slug for p in catalog.products]
    existing = set(Product.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    missing = [p for p in catalog.products if p.slug not in existing]
    for product in missing:
        product.category = categories[catalog.category_of[product.slug]]
    Product.objects.bulk_create(missing)
    return dict(Product.objects.filter(slug__in=slugs).values_list("slug", "pk"))


def upsert_variants(catalog: Catalog, product_ids: dict[str, int]) -> dict[str, Variant]:
    """Create the missing variants (by SKU); return every demo variant by SKU."""
    skus = [v.sku for v in catalog.variants]
    existing = set(Variant.objects.filter(sku__in=skus).values_list("sku", flat=True))
    missing = [v for v in catalog.variants if v.sku not in existing]
    for variant in missing:
        variant.product_id = product_ids[catalog.product_of[variant.sku]]
    Variant.objects.bulk_create(missing)
    return {v.sku: v for v in Variant.objects.filter(sku__in=skus).only("pk", "sku")}


def upsert_prices(catalog: Catalog, variants: dict[str, Variant]) -> None:
    """Give every demo variant a price on each channel unless it already has one there."""
    channels = {c.code: c for c in Channel.objects.filter(code__in=CHANNELS)}
    priced = set(
        Price.objects.filter(variant__in=variants.values(), channel__in=channels.values())
        .values_list("variant_id", "channel_id")
    )
    Price.objects.bulk_create(
        Price(variant=variant, channel=channels[code], amount=amount, currency="GBP")
        for sku, variant in variants.items()
        for code, amount in catalog.prices[sku].items()
        if (variant.pk, channels[code].pk) not in priced
    )

