"""Catalog writes that are more than a form save: filling a range by category or brand; adding, changing and
deleting a product's pictures (their files through Django's default storage, catalog.images); keeping the products'
lowest prices for the price sorts."""
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from .images import picture_files, picture_files_write, picture_read, renditions_missing
from .models import Category, Channel, Product, ProductImage, ProductPriceFrom, Range, Variant
from .selectors import category_subtree_ids, lowest_price_sql


@transaction.atomic
def range_add_variants(*, range_: Range, category: Category | None = None, brand: str = "") -> int:
    """Add to the range every active variant of a category (and everything beneath it) and/or of a brand;
    returns how many were not in it yet. Both given: variants matching both."""
    if category is None and not brand.strip():
        return 0
    variants = Variant.objects.filter(is_active=True)
    if category is not None:
        variants = variants.filter(product__category_id__in=category_subtree_ids(category.slug))
    if brand.strip():
        variants = variants.filter(product__brand__iexact=brand.strip())
    new = list(variants.exclude(ranges=range_).values_list("pk", flat=True))
    Through = Range.variants.through
    Through.objects.bulk_create([Through(range_id=range_.pk, variant_id=pk) for pk in new], ignore_conflicts=True)
    return len(new)


@transaction.atomic
def product_image_add(*, product: Product, upload, alt: str = "", colour: str = "",
                      position: int | None = None) -> ProductImage:
    """Add a picture to a product (last, unless a position is given) and make its renditions now, so the
    pages never wait for them. A refused upload (catalog.images.picture_read) raises ValidationError on
    "image" and writes nothing; a failed save takes back the files it wrote."""
    try:
        picture = picture_read(upload)
    except ValidationError as refusal:
        raise ValidationError({"image": refusal.messages}) from None
    if position is None:
        last = product.images.aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    image = ProductImage(product=product, image=picture.name, position=position, alt=alt.strip(),
                         colour=colour.strip(), width=picture.width, height=picture.height)
    image.full_clean(exclude=["product"])  # the product is in hand: no query to check it exists
    written = picture_files_write(picture)
    try:
        image.save()
    except BaseException:
        _files_delete(written)
        raise
    return image


@transaction.atomic
def product_image_update(*, image: ProductImage, alt: str, colour: str, position: int) -> ProductImage:
    """Change what a picture says (alt text), which colour it shows and where it comes; the file stays."""
    image.alt, image.colour, image.position = alt.strip(), colour.strip(), position
    image.full_clean(exclude=["product"])
    image.save(update_fields=["alt", "colour", "position"])
    return image


@transaction.atomic
def product_image_delete(*, image: ProductImage) -> None:
    """Delete a picture; its files go once that is committed (catalog.receivers, which also covers pictures
    deleted with their product)."""
    image.delete()


def product_image_files_forget(*, image: ProductImage) -> None:
    """Once the transaction deleting `image` commits, delete its files, unless another picture row shows the same
    picture (files are named by content, so they are shared). A rolled-back delete keeps them."""
    names, original = picture_files(image), image.image.name

    def forget() -> None:
        if not ProductImage.objects.filter(image=original).exists():
            _files_delete(names)

    transaction.on_commit(forget)


def product_image_renditions_make(*, image: ProductImage) -> list[str]:
    """Make the renditions a picture lacks (after RENDITION_WIDTHS changed, or a copy of the files without
    them) from its original; returns the names written."""
    if not renditions_missing(image):
        return []
    with default_storage.open(image.image.name, "rb") as original:
        return picture_files_write(picture_read(original), name=image.image.name)


def _files_delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


@transaction.atomic
def prices_from_refresh(*, now: datetime | None = None) -> int:
    """Work out, for every active product and channel, the lowest price ProductPriceFrom lacks or holds out of date
    (the model says when), and save it with the moment it next changes: the next start or end of one of the product's
    prices on the channel, or of any range. PostgreSQL only: elsewhere nothing forgets a row, so the price sorts
    work every price out. Returns the rows written.

    Alone under the advisory lock every price, variant and range write takes (shared) from migration 0009's triggers:
    it waits for the writes in progress and sees them, and a write that comes while it runs waits, then forgets."""
    if connection.vendor != "postgresql":
        return 0
    moment = connection.ops.adapt_datetimefield_value(now or timezone.now())
    table, written = ProductPriceFrom._meta.db_table, 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ProductPriceFrom.LOCK])
        for channel in Channel.objects.order_by("pk"):
            lowest, params = lowest_price_sql(channel=channel, at=moment)
            cursor.execute(
                f"INSERT INTO {table} (product_id, channel_id, amount, fresh_from, fresh_until)"
                f" SELECT p.id, %s, {lowest.replace('{product}', 'p.id')}, %s, LEAST("
                "   (SELECT MIN(b.at) FROM catalog_variant v JOIN catalog_price pr ON pr.variant_id = v.id,"
                "           LATERAL (VALUES (pr.valid_from), (pr.valid_until)) b(at)"
                "     WHERE v.product_id = p.id AND pr.channel_id = %s AND pr.location_id IS NULL AND b.at > %s),"
                "   (SELECT MIN(b.at) FROM catalog_range r, LATERAL (VALUES (r.starts_at), (r.ends_at)) b(at)"
                "     WHERE b.at > %s))"
                f" FROM catalog_product p WHERE p.is_active AND NOT EXISTS (SELECT 1 FROM {table} f"
                "   WHERE f.product_id = p.id AND f.channel_id = %s AND f.fresh_from <= %s"
                "     AND (f.fresh_until IS NULL OR f.fresh_until > %s))"
                " ORDER BY p.id"
                " ON CONFLICT (product_id, channel_id) DO UPDATE SET amount = EXCLUDED.amount,"
                "   fresh_from = EXCLUDED.fresh_from, fresh_until = EXCLUDED.fresh_until",
                [channel.pk, *params, moment, channel.pk, moment, moment, channel.pk, moment, moment])
            written += cursor.rowcount
    return written
