"""Stock discrepancies for the store manager: the ledger corrections booked in the course of business (an
item sold at the till that the ledger said the store did not have), read-only and scoped to their stores.
"""
from django.contrib import admin

from core.readonly_admin import ReadOnlyAdmin

from ..models import StockDiscrepancy
from .common import MyLocationsFilter, StoreScopedAdmin


@admin.register(StockDiscrepancy)
class StockDiscrepancyAdmin(ReadOnlyAdmin, StoreScopedAdmin, admin.ModelAdmin):
    """When, where, what, how many units, who and which sale: enough to look into each one."""

    list_display = ("created_at", "location", "sku", "item", "units", "who", "sale", "reason")
    list_display_links = ("created_at",)
    list_filter = ("reason", ("location", MyLocationsFilter))
    list_select_related = ("location", "variant__product", "actor")
    date_hierarchy = "created_at"
    search_fields = ("variant__sku", "variant__product__name", "reference")
    fields = ("created_at", "location", "sku", "item", "units", "who", "sale", "reason", "note")
    readonly_fields = fields

    @admin.display(description="SKU", ordering="variant__sku")
    def sku(self, movement: StockDiscrepancy) -> str:
        return movement.variant.sku

    @admin.display(description="item")
    def item(self, movement: StockDiscrepancy) -> str:
        return movement.variant.name

    @admin.display(description="units", ordering="on_hand_delta")
    def units(self, movement: StockDiscrepancy) -> int:
        return movement.on_hand_delta

    @admin.display(description="who", ordering="actor__username")
    def who(self, movement: StockDiscrepancy) -> str:
        actor = movement.actor
        return (actor.get_full_name() or actor.get_username()) if actor else "—"

    @admin.display(description="sale", ordering="reference")
    def sale(self, movement: StockDiscrepancy) -> str:
        kind, _, number = movement.reference.partition(":")
        return number if kind == "order" else movement.reference or "—"
