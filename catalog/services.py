"""Catalog writes that are more than a form save: filling a range by category or brand."""
from django.db import transaction

from .filters import category_subtree_sql
from .models import Category, Range, Variant


@transaction.atomic
def range_add_variants(*, range_: Range, category: Category | None = None, brand: str = "") -> int:
    """Add to the range every active variant of a category (and everything beneath it) and/or of a brand;
    returns how many were not in it yet. Both given: variants matching both."""
    if category is None and not brand.strip():
        return 0
    variants = Variant.objects.filter(is_active=True)
    if category is not None:
        variants = variants.filter(product__category_id__in=category_subtree_sql(category.slug))
    if brand.strip():
        variants = variants.filter(product__brand__iexact=brand.strip())
    new = list(variants.exclude(ranges=range_).values_list("pk", flat=True))
    Through = Range.variants.through
    Through.objects.bulk_create([Through(range_id=range_.pk, variant_id=pk) for pk in new], ignore_conflicts=True)
    return len(new)
