"""Back-office pages for orders from every channel (read-only: orders change through services),
vouchers, and each customer's orders shown on their customer page."""
from django.contrib import admin, messages

from config.exceptions import DomainError
from customers.admin import CustomerAdmin

from .models import Order, OrderEvent, OrderLine, Payment, Refund, StripeEvent, Voucher
from .services import order_cancel


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "location", "quantity", "unit_price_amount", "discount_amount", "quantity_cancelled",
              "quantity_fulfilled", "quantity_returned"]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["method", "status", "authorised_amount", "captured_amount", "refunded_amount", "stripe_payment_intent"]


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor", "note"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "placed_at", "status", "channel", "fulfilment", "pickup_store", "email", "total_amount",
                    "currency"]
    list_filter = ["status", "channel", "fulfilment", "pickup_store"]
    search_fields = ["number", "email", "customer__email", "lines__sku"]
    list_select_related = ["channel", "pickup_store"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, PaymentInline, OrderEventInline]
    actions = ["cancel_orders"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Cancel what has not been sent of the selected orders")
    def cancel_orders(self, request, queryset):
        for order in queryset:
            try:
                order_cancel(order=order, actor=request.user, note="cancelled in the back office")
            except DomainError as error:
                self.message_user(request, f"{order.number}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{order.number} cancelled.", messages.SUCCESS)


class CustomerOrderInline(ReadOnlyInline):
    """Every order of the customer, whichever channel it came from."""

    model = Order
    fk_name = "customer"
    fields = ["number", "placed_at", "channel", "fulfilment", "status", "total_amount", "currency"]
    readonly_fields = fields
    ordering = ["-placed_at"]
    show_change_link = True
    verbose_name_plural = "orders from every channel"


CustomerAdmin.inlines = [*CustomerAdmin.inlines, CustomerOrderInline]


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "value", "min_spend_amount", "valid_from", "valid_until", "uses", "max_uses",
                    "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code"]


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["payment", "amount", "reason", "created_at"]
    readonly_fields = [f.name for f in Refund._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "payment_intent", "received_at"]
    search_fields = ["event_id", "payment_intent"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
