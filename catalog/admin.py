"""Catalog back office: categories, products with their variants, variants with their prices,
channels and prices. Changelists load related rows up front so a page costs the same at any size.
"""
from django.contrib import admin

from .models import Category, Channel, Price, Product, Variant

# Category.__str__ walks up the tree; joining three parents covers a four-level tree in one query.
CATEGORY_PATH = "parent__parent__parent"


class CategoryPathListFilter(admin.RelatedFieldListFilter):
    """Lists categories by their full path without one query per ancestor."""

    def field_choices(self, field, request, model_admin):
        categories = Category.objects.select_related(CATEGORY_PATH)
        return sorted(((c.pk, str(c)) for c in categories), key=lambda choice: choice[1])


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "parent", "slug")
    list_select_related = (CATEGORY_PATH,)
    search_fields = ("name",)
    autocomplete_fields = ("parent",)
    prepopulated_fields = {"slug": ("name",)}


class VariantInline(admin.TabularInline):
    model = Variant
    fields = ("sku", "barcode", "options", "is_active")
    extra = 1
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "brand", "category", "is_active")
    list_filter = (("category", CategoryPathListFilter), "brand", "is_active")
    list_select_related = (f"category__{CATEGORY_PATH}",)
    search_fields = ("name", "brand", "variants__sku", "variants__barcode")
    autocomplete_fields = ("category",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = (VariantInline,)


class PriceInline(admin.TabularInline):
    model = Price
    fields = ("channel", "amount", "currency", "valid_from", "valid_until")
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant", "channel")


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ("sku", "barcode", "product", "options", "is_active")
    list_filter = ("is_active",)
    search_fields = ("sku", "barcode", "product__name")
    autocomplete_fields = ("product",)
    inlines = (PriceInline,)

    def get_queryset(self, request):
        # Variant.__str__ names the product: the changelist and every variant autocomplete need it.
        return super().get_queryset(request).select_related("product")


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_online")
    search_fields = ("code", "name")


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("variant", "channel", "amount", "currency", "valid_from", "valid_until")
    list_filter = ("channel",)
    list_select_related = ("variant__product", "channel")
    search_fields = ("variant__sku",)
    autocomplete_fields = ("variant",)
