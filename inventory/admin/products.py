"""Stock on the catalogue's product pages: the product list gains what can be sold across all locations, and
each product's page a grid of its variants by location. The pages belong to catalog, which knows nothing of
stock, so this subclasses the admin registered there (through the admin site) and registers it in its place."""
from django.contrib import admin
from django.db.models import F, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from catalog.models import Product

from ..models import Location, StockLevel

CatalogProductAdmin = type(admin.site.get_model_admin(Product))


AVAILABLE = Coalesce(Sum(F("on_hand") - F("committed") - F("reserved") - F("unavailable")), 0,
                     output_field=IntegerField())


class ProductWithStockAdmin(CatalogProductAdmin):
    list_display = tuple(column for name in CatalogProductAdmin.list_display
                         for column in ((name, "stock") if name == "price" else (name,)))
    readonly_fields = (*CatalogProductAdmin.readonly_fields, "stock_by_location")

    def get_queryset(self, request):
        units = (StockLevel.objects.filter(variant__product=OuterRef("pk")).order_by().values("variant__product")
                 .annotate(units=AVAILABLE).values("units"))
        return super().get_queryset(request).annotate(available_units=Coalesce(Subquery(units), 0))

    @admin.display(description="available (all locations)", ordering="available_units")
    def stock(self, product: Product) -> int:
        return product.available_units

    @admin.display(description="stock by location (available; on hand in brackets where it differs)")
    def stock_by_location(self, product: Product) -> str:
        if product.pk is None:
            return "—"
        levels = (StockLevel.objects.filter(variant__product=product).select_related("location", "variant")
                  .order_by("location__code", "variant__sku"))
        grid: dict[int, dict[int, StockLevel]] = {}
        for level in levels:
            grid.setdefault(level.variant_id, {})[level.location_id] = level
        if not grid:
            return "No stock anywhere yet."
        locations = list(Location.objects.filter(pk__in={lid for row in grid.values() for lid in row})
                         .order_by("kind", "code"))
        variants = product.variants.filter(pk__in=grid).order_by("sku")
        stock_list = reverse("admin:inventory_stocklevel_changelist")
        head = format_html_join("", '<th scope="col" title="{}">{}</th>', ((l.name, l.code) for l in locations))
        rows = format_html_join("", "<tr>{}</tr>", (
            (format_html('<th scope="row"><a href="{}?variant__id__exact={}">{}</a></th>{}', stock_list, v.pk, v.sku,
                         format_html_join("", "<td>{}</td>", ((self._cell(grid[v.pk].get(l.pk)),) for l in locations))),)
            for v in variants))
        return format_html('<div class="table-wrap"><table class="stock-grid"><thead><tr><th scope="col">SKU</th>{}'
                           "</tr></thead><tbody>{}</tbody></table></div>", head, rows)

    @staticmethod
    def _cell(level: StockLevel | None) -> str:
        if level is None:
            return "–"
        return str(level.available) if level.available == level.on_hand else f"{level.available} ({level.on_hand})"


admin.site.unregister(Product)
admin.site.register(Product, ProductWithStockAdmin)
