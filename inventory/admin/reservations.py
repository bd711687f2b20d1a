"""Reservations: holds made and settled by checkout, which staff can only look at or release."""
from django.contrib import admin

from core.readonly_admin import ReadOnlyAdmin

from ..models import Reservation, ReservationLine
from ..services import reservation_release
from .common import StockPermissionMixin, run_each


class ReservationLineInline(admin.TabularInline):
    model = ReservationLine
    fields = ("location", "variant", "quantity")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("location", "variant__product")

    def has_add_permission(self, request, obj) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin, StockPermissionMixin, admin.ModelAdmin):
    """Holds are made and settled by checkout; staff can only look, or release one."""

    list_display = ("id", "status", "channel", "reference", "expires_at")
    list_filter = ("status", "channel")
    list_select_related = ("channel",)
    search_fields = ("reference",)
    inlines = (ReservationLineInline,)
    actions = ("release_reservations",)

    def describe(self, reservation: Reservation) -> str:
        return f"reservation {reservation.pk}" + (f" ({reservation.reference})" if reservation.reference else "")

    @admin.action(description="Release selected reservations", permissions=("stock",))
    def release_reservations(self, request, queryset):
        run_each(self, request, queryset,
                 service=lambda r: reservation_release(reservation=r, actor=request.user),
                 done="Released", attempt="release")
