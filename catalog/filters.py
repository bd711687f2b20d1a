"""Product filters for the catalog API and anything else that lists products: free-text search,
a category with everything beneath it, and a brand."""
import django_filters
from django.db.models import Exists, OuterRef, Q
from django.db.models.expressions import RawSQL

from .models import Category, Product, Variant


def category_subtree_sql(slug: str) -> RawSQL:
    """The ids of the category named by `slug` and of every category beneath it, as a subquery
    (a recursive CTE that PostgreSQL and SQLite both run; UNION stops at a cycle)."""
    table = Category._meta.db_table
    return RawSQL(
        f"WITH RECURSIVE subtree(id) AS ("
        f" SELECT id FROM {table} WHERE slug = %s"
        f" UNION SELECT c.id FROM {table} c JOIN subtree ON c.parent_id = subtree.id"
        f") SELECT id FROM subtree",
        [slug],
    )


class ProductFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Words to find in the name, brand, description, or an active variant's SKU or barcode; "
        "every word must match somewhere.",
    )
    category = django_filters.CharFilter(
        method="filter_category", help_text="Category slug; products in its sub-categories are included."
    )
    brand = django_filters.CharFilter(field_name="brand", lookup_expr="iexact", help_text="Brand, any case.")

    class Meta:
        model = Product
        fields = ["search", "category", "brand"]

    def filter_search(self, queryset, name, value):
        for word in value.split():
            variant_match = Variant.objects.filter(product=OuterRef("pk"), is_active=True).filter(
                Q(sku__icontains=word) | Q(barcode__icontains=word)
            )
            queryset = queryset.filter(
                Q(name__icontains=word) | Q(brand__icontains=word) | Q(description__icontains=word)
                | Exists(variant_match)
            )
        return queryset

    def filter_category(self, queryset, name, value):
        return queryset.filter(category_id__in=category_subtree_sql(value.strip()))
