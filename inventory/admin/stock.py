"""The stock pages: the read-only stock levels, whose list leads to the stock forms (stock_forms.py),
and the append-only ledger of stock movements.
"""
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.exceptions import DomainError
from core.readonly_admin import ReadOnlyAdmin

from ..models import StockLevel, StockMovement
from ..selectors import locations_for_staff, low_stock_levels
from .common import MyLocationsFilter, StockPermissionMixin, StoreScopedAdmin
from .stock_forms import STOCK_OPERATIONS, StockOperationForm


def _pair_query(location_id: int, variant_id: int) -> str:
    return urlencode({"location__id__exact": location_id, "variant__id__exact": variant_id})


class LowStockFilter(admin.SimpleListFilter):
    """At or below the reorder point: what the store home's "Low on stock" figure counts."""

    title = "stock"
    parameter_name = "low"

    def lookups(self, request, model_admin):
        return [("yes", "Low: at or below the reorder point")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(pk__in=low_stock_levels(locations=locations_for_staff(request.user)).values("pk"))
        return queryset


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdmin, StoreScopedAdmin, StockPermissionMixin, admin.ModelAdmin):
    """Shown, never edited: every change is a stock form or a document action calling a service."""

    list_display = (
        "location", "sku", "on_hand", "committed", "reserved", "unavailable", "incoming", "safety_stock",
        "available", "history",
    )
    list_filter = (("location", MyLocationsFilter), LowStockFilter)
    list_select_related = ("location", "variant")
    search_fields = ("variant__sku", "variant__barcode", "variant__product__name", "location__code")
    ordering = ("location__code", "variant__sku")
    fields = (
        "location", "variant", "on_hand", "committed", "reserved", "unavailable", "incoming", "safety_stock",
        "available", "history",
    )

    def get_queryset(self, request):
        # Annotated so staff can sort by what can be sold.
        return super().get_queryset(request).annotate(
            available_units=F("on_hand") - F("committed") - F("reserved") - F("unavailable")
        )

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, level: StockLevel) -> str:
        return level.variant.sku

    @admin.display(description="available", ordering="available_units")
    def available(self, level: StockLevel) -> int:
        return level.available_units

    @admin.display(description="movements")
    def history(self, level: StockLevel) -> str:
        url = reverse("admin:inventory_stockmovement_changelist")
        return format_html('<a href="{}?{}">History</a>', url, _pair_query(level.location_id, level.variant_id))

    def get_urls(self):
        operations = [
            path(
                f"{slug}/",
                self.admin_site.admin_view(self.stock_operation_view),
                {"form_class": form_class},
                name=f"inventory_stocklevel_{slug.replace('-', '_')}",
            )
            for slug, form_class in STOCK_OPERATIONS
        ]
        return operations + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        operations = []
        if self.has_stock_permission(request):
            operations = [
                (reverse(f"admin:inventory_stocklevel_{slug.replace('-', '_')}"), form_class.title)
                for slug, form_class in STOCK_OPERATIONS
            ]
        return super().changelist_view(request, {**(extra_context or {}), "stock_operations": operations})

    def stock_operation_view(self, request, form_class: type[StockOperationForm]):
        if not self.has_stock_permission(request):
            raise PermissionDenied
        form = form_class(request.POST if request.method == "POST" else None,
                          locations=locations_for_staff(request.user))
        if form.is_bound and form.is_valid():
            try:
                message = form.run(actor=request.user)
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, message, messages.SUCCESS)
                changed = _pair_query(form.cleaned_data["location"].pk, form.cleaned_data["variant"].pk)
                return redirect(f"{reverse('admin:inventory_stocklevel_changelist')}?{changed}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": form_class.title,
            "form": form,
        }
        return TemplateResponse(request, "admin/inventory/stock_operation_form.html", context)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin, StoreScopedAdmin, admin.ModelAdmin):
    """The ledger, append-only: nobody adds, edits or deletes a movement here."""

    list_display = (
        "created_at", "location", "variant", "reason", "on_hand_delta", "committed_delta", "reserved_delta",
        "unavailable_delta", "incoming_delta", "reference", "actor", "note",
    )
    list_filter = ("reason", ("location", MyLocationsFilter))
    list_select_related = ("location", "variant__product", "actor")
    date_hierarchy = "created_at"
    search_fields = ("variant__sku", "reference")
