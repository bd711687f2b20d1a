"""Catalog back office: categories, products with their variants, variants with their prices,
channels, prices (per channel, optionally per store, in windows that never overlap), ranges and tax
rates. Changelists load related rows up front so a page costs the same at any size.
"""
from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils import timezone

from core.money import format_money
from core.readonly_admin import money_column

from .models import Category, Channel, Price, Product, Range, TaxRate, Variant
from .selectors import with_price_range
from .services import range_add_variants

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
    fields = ("sku", "barcode", "options", "weight_grams", "is_active")
    extra = 1
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "brand", "category", "price", "tax_class", "is_active")
    list_filter = (("category", CategoryPathListFilter), "brand", "tax_class", "is_active")
    list_select_related = (f"category__{CATEGORY_PATH}",)
    search_fields = ("name", "brand", "variants__sku", "variants__barcode")
    autocomplete_fields = ("category",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = (VariantInline,)

    def get_queryset(self, request):
        return with_price_range(super().get_queryset(request))

    @admin.display(description="web price", ordering="price_low")
    def price(self, product: Product) -> str:
        if product.price_low is None:
            return "No price"
        low, high = (format_money(a, product.price_currency) for a in (product.price_low, product.price_high))
        return low if low == high else f"{low} to {high}"


class PriceInline(admin.TabularInline):
    model = Price
    fields = ("channel", "location", "amount", "currency", "valid_from", "valid_until")
    autocomplete_fields = ("location",)
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("variant", "channel", "location")


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
    list_display = ("variant", "channel", "location", "price", "valid_from", "valid_until")
    list_filter = ("channel", ("location", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("variant__product", "channel", "location")
    search_fields = ("variant__sku",)
    autocomplete_fields = ("variant", "location")
    price = money_column("amount", "price")


class RangeForm(forms.ModelForm):
    add_category = forms.ModelChoiceField(
        Category.objects.all(), required=False, label="Add every variant of category",
        help_text="Sub-categories included. Combined with a brand: variants of that brand in that category.",
    )
    add_brand = forms.CharField(required=False, label="Add every variant of brand")

    class Meta:
        model = Range
        fields = "__all__"


class RangeStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active now"), ("scheduled", "Scheduled"), ("ended", "Ended")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.active_at(now)
        if self.value() == "scheduled":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "ended":
            return queryset.filter(ends_at__lte=now)
        return queryset


@admin.register(Range)
class RangeAdmin(admin.ModelAdmin):
    """An assortment: which variants a channel (or a store's till) sells, and when. A variant in no active
    range for a channel is not sold there; a range naming stores applies to sales at those stores."""

    form = RangeForm
    list_display = ("name", "code", "whole_catalog", "variant_count", "starts_at", "ends_at")
    list_filter = (RangeStatusFilter, "channels", "whole_catalog")
    search_fields = ("name", "code", "variants__sku")
    prepopulated_fields = {"code": ("name",)}
    autocomplete_fields = ("variants", "locations")
    filter_horizontal = ("channels",)
    fieldsets = (
        (None, {"fields": ("name", "code", "starts_at", "ends_at")}),
        ("Where", {"fields": ("channels", "locations")}),
        ("What", {"fields": ("whole_catalog", "variants", "add_category", "add_brand")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(variant_total=Count("variants", distinct=True))

    @admin.display(description="variants", ordering="variant_total")
    def variant_count(self, range_: Range):
        return "all" if range_.whole_catalog else range_.variant_total

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        category, brand = form.cleaned_data.get("add_category"), form.cleaned_data.get("add_brand", "")
        if category is not None or brand.strip():
            added = range_add_variants(range_=form.instance, category=category, brand=brand)
            what = " and ".join(filter(None, [f"category {category}" if category else "", brand and f"brand {brand}"]))
            self.message_user(request, f"Added {added} variant(s) of {what} to {form.instance}.", messages.SUCCESS)


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    """Rates per tax class and country; prices are tax-inclusive and the tax is worked out of them."""

    list_display = ("country", "tax_class", "rate")
    list_filter = ("country", "tax_class")
    ordering = ("country", "tax_class")
