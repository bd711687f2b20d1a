"""Back-office pages for fulfilments and returns, read-only and scoped to the stores a user works at;
a fulfilment moves on only through the actions, which call fulfillment.services."""
from django.contrib import admin, messages
from django.db.models import Q

from core.exceptions import DomainError
from core.readonly_admin import ReadOnlyAdmin, ReadOnlyInline
from inventory.selectors import locations_for_staff

from .models import Fulfillment, FulfillmentEvent, FulfillmentLine, Return, ReturnLine
from .services import fulfillment_mark_delivered, fulfillment_mark_ready, fulfillment_start_picking


class FulfillmentLineInline(ReadOnlyInline):
    model = FulfillmentLine
    fields = ["sku", "name", "quantity", "still_to_send"]
    readonly_fields = fields

    @admin.display(description="SKU")
    def sku(self, line):
        return line.order_line.sku

    @admin.display(description="item")
    def name(self, line):
        return line.order_line.name

    @admin.display(description="still to send")
    def still_to_send(self, line):
        return line.order_line.quantity_open


class FulfillmentEventInline(ReadOnlyInline):
    model = FulfillmentEvent
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields
    verbose_name_plural = "status history"


@admin.register(Fulfillment)
class FulfillmentAdmin(admin.ModelAdmin):
    list_display = ["order_number", "location", "method", "status", "placed_at", "ready_at", "expires_at"]
    list_filter = ["status", "method", ("location", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["order__number", "pickup_code", "tracking_number"]
    list_select_related = ["order", "location"]
    fields = ["order", "location", "method", "status", "created_at", "carrier", "tracking_number", "tracking_url",
              "parcels", "weight_grams", "pickup_code", "ready_at", "expires_at", "reminder_sent_at", "completed_at"]
    readonly_fields = fields
    inlines = [FulfillmentLineInline, FulfillmentEventInline]
    actions = ["start_picking", "mark_ready", "mark_delivered"]

    def get_queryset(self, request):
        return Fulfillment.objects.for_staff(request.user).select_related("order", "location")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Nothing on the page is edited by hand (a stale save would overwrite a status the services
        # set); "change" is what the actions require.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="order", ordering="order__number")
    def order_number(self, fulfillment):
        return fulfillment.order.number

    @admin.display(description="placed", ordering="order__placed_at")
    def placed_at(self, fulfillment):
        return fulfillment.order.placed_at

    def _move(self, request, queryset, service, done: str) -> None:
        for fulfillment in queryset:
            try:
                moved = service(fulfillment=fulfillment, actor=request.user)
            except DomainError as refusal:
                self.message_user(request, f"{fulfillment.order.number}: {refusal.message}", messages.ERROR)
            else:
                self.message_user(request, f"{moved.order.number}: {done(moved)}", messages.SUCCESS)

    @admin.action(description="Start picking", permissions=["change"])
    def start_picking(self, request, queryset):
        self._move(request, queryset, fulfillment_start_picking, lambda f: "picking.")

    @admin.action(description="Mark ready for pickup", permissions=["change"])
    def mark_ready(self, request, queryset):
        self._move(request, queryset, fulfillment_mark_ready,
                   lambda f: f"ready for pickup with code {f.pickup_code}; the shopper is told.")

    @admin.action(description="Mark delivered", permissions=["change"])
    def mark_delivered(self, request, queryset):
        self._move(request, queryset, fulfillment_mark_delivered, lambda f: "delivered.")


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["order_line", "quantity", "reason", "condition"]
    readonly_fields = fields


@admin.register(Return)
class ReturnAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["code", "order", "status", "location", "refund_method", "refund_amount", "created_at",
                    "received_at"]
    list_filter = ["status", "refund_method", ("location", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "order__number"]
    list_select_related = ["order", "location"]
    readonly_fields = [f.name for f in Return._meta.fields if f.name != "id"]
    inlines = [ReturnLineInline]

    def get_queryset(self, request):
        # Received at my stores, or returning an order my stores sent. Subqueries, not joins: a join
        # through the staff table would repeat a return once per colleague.
        my_stores = locations_for_staff(request.user)
        my_orders = Fulfillment.objects.filter(location__in=my_stores).values("order_id")
        return super().get_queryset(request).filter(Q(location__in=my_stores) | Q(order__in=my_orders))
