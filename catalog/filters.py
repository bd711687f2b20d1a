"""Product filters for the catalog API and anything else that lists products: free-text search (catalog.search),
a category with everything beneath it, a brand, and the order."""
import django_filters

from .models import Channel, Product
from .search import Sort, product_search, product_sort, sort_chosen
from .selectors import category_subtree_ids, channel_named


class ProductFilter(django_filters.FilterSet):
    """Search, category and brand, in the order `sort` asks for: relevance by default when searching, else by name.
    Price sorts use the channel's prices (pass `channel`; the web's without one)."""

    search = django_filters.CharFilter(
        method="filter_search",
        help_text="Words to find: in the name first, then the brand and category, the variants' options (such as "
        "colour) and the description; plurals and other word forms match (“jumpers” finds jumpers), a misspelt "
        "word finds the nearest word the catalogue has (“jeens” finds jeans), and a code finds the products whose "
        "SKU or barcode starts with it. Every word must match.",
    )
    category = django_filters.CharFilter(
        method="filter_category", help_text="Category slug; products in its sub-categories are included."
    )
    brand = django_filters.CharFilter(field_name="brand", lookup_expr="iexact", help_text="Brand, any case.")
    sort = django_filters.ChoiceFilter(
        choices=Sort.CHOICES, method="filter_sort", empty_label=None,
        help_text="The order: `relevance` (the default with `search`), `price_asc` and `price_desc` (by the lowest "
        "price on the channel), `newest`, `popular` (most units sold in the last 30 days) or `name` (the default "
        "without `search`).",
    )

    class Meta:
        model = Product
        fields = ["search", "category", "brand", "sort"]

    def __init__(self, *args, channel: Channel | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel

    def filter_search(self, queryset, name, value):
        return product_search(queryset, q=value, ranked=self.form.cleaned_data.get("sort") in (None, "", Sort.RELEVANCE))

    def filter_category(self, queryset, name, value):
        return queryset.filter(category_id__in=category_subtree_ids(value.strip()))

    def filter_sort(self, queryset, name, value):
        return queryset  # applied last, in filter_queryset, whatever the other filters did

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        sort = sort_chosen(self.form.cleaned_data.get("sort"), q=self.form.cleaned_data.get("search") or "")
        return product_sort(queryset, sort=sort, channel=self.channel or channel_named(Channel.WEB))
