"""Catalog back office: categories, products with their variants, variants with their prices,
channels, prices (per channel, optionally per store, in windows that never overlap), ranges and tax
rates. Changelists load related rows up front so a page costs the same at any size.
"""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone
from django.utils.html import format_html

from core.money import format_money
from core.readonly_admin import money_column

from .images import ACCEPTED_KINDS, MAX_BYTES, MAX_PIXELS, picture_read, rendition_url, variant_colours
from .models import Category, Channel, Price, Product, ProductImage, Range, TaxRate, Variant
from .selectors import with_price_range
from .services import product_image_add, product_image_delete, product_image_update, range_add_variants

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


class StoredPicture(forms.Widget):
    """A stored picture's file, shown, not changed: its name is its content (catalog.images)."""

    needs_multipart_form = True  # the admin asks the first row whether the page sends files

    def render(self, name, value, attrs=None, renderer=None) -> str:
        return format_html('<a href="{}">Original file</a>', value.url) if value else "—"


class ProductImageForm(forms.ModelForm):
    """A new picture is checked here (the refusal shown on its row) and stored by product_image_add; a stored
    one keeps its file: delete it and upload another to change it."""

    image = forms.FileField(
        label="picture", required=False,
        help_text=f"{ACCEPTED_KINDS}, at most {MAX_BYTES // (1024 * 1024)} MB and {MAX_PIXELS // 1_000_000} megapixels.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    position = forms.IntegerField(min_value=0, max_value=32767, required=False,
                                  help_text="Lowest first; empty puts a new picture last.")

    class Meta:
        model = ProductImage
        fields = ("image", "alt", "colour", "position")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["image"].disabled = True
            self.fields["image"].widget = StoredPicture()

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if self.instance.pk:
            return self.instance.image
        if not upload:
            raise ValidationError("Choose a picture to upload.")
        picture_read(upload)
        return upload

    def clean_colour(self):
        colour = self.cleaned_data["colour"].strip()
        known = variant_colours(self.instance.product_id) if self.instance.product_id else []
        if colour and known and colour.casefold() not in {c.casefold() for c in known}:
            raise ValidationError(f"No variant of this product is {colour}; its colours are {', '.join(known)}. "
                                  "Leave it empty for a picture of any colour.")
        return colour


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    fields = ("preview", "image", "alt", "colour", "position")
    readonly_fields = ("preview",)
    extra = 1

    @admin.display(description="preview")
    def preview(self, image: ProductImage) -> str:
        if not image.pk:
            return "—"
        return format_html('<img src="{}" alt="" width="80" height="80" style="object-fit:contain;background:#f3f4f2">'
                           '<br><span class="help">{} × {} px</span>',
                           rendition_url(image, 160), image.width, image.height)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "brand", "category", "price", "tax_class", "is_active")
    list_filter = (("category", CategoryPathListFilter), "brand", "tax_class", "is_active")
    list_select_related = (f"category__{CATEGORY_PATH}",)
    search_fields = ("name", "brand", "variants__sku", "variants__barcode")
    autocomplete_fields = ("category",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = (VariantInline, ProductImageInline)

    def get_queryset(self, request):
        return with_price_range(super().get_queryset(request))

    def save_formset(self, request, form, formset, change):
        """Pictures go through the catalog's services (files, renditions); other inlines save as usual."""
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        # What the admin's history says was added, changed and deleted (construct_change_message reads these).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for image_form in formset.forms:
            data, image = image_form.cleaned_data, image_form.instance
            if not data or not image_form.has_changed():
                continue
            if image.pk and formset._should_delete_form(image_form):
                product_image_delete(image=image)
                formset.deleted_objects.append(image)
            elif image.pk:
                position = image.position if data["position"] is None else data["position"]
                product_image_update(image=image, alt=data["alt"], colour=data["colour"], position=position)
                formset.changed_objects.append((image, image_form.changed_data))
            elif not data.get("DELETE"):
                formset.new_objects.append(product_image_add(
                    product=form.instance, upload=data["image"], alt=data["alt"], colour=data["colour"],
                    position=data["position"]))

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
