"""Back-office pages for orders from every channel (read-only: orders change through services),
vouchers, and each customer's orders shown on their customer page. Store staff see the orders their
stores send, hand over or sold at the till (a line at, or pickup at, a location they work with)."""
from django.contrib import admin, messages
from django.db.models import Q
from django.utils.html import format_html

from core.exceptions import DomainError
from core.readonly_admin import ReadOnlyInline
from customers.models import Customer
from inventory.selectors import locations_for_staff

from .models import DeliveryMethod, DeliveryRate, Order, OrderEvent, OrderLine, Payment, Refund, StripeEvent, Voucher
from .selectors import order_link
from .services import order_cancel


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "location", "quantity", "unit_price_amount", "discount_amount", "tax_rate", "tax_amount",
              "quantity_cancelled", "quantity_fulfilled", "quantity_returned"]


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
    list_filter = ["status", "channel", "fulfilment", ("pickup_store", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "email", "customer__email", "lines__sku"]
    list_select_related = ["channel", "pickup_store"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, PaymentInline, OrderEventInline]
    actions = ["cancel_orders"]
    readonly_fields = ["receipt"]

    @admin.display(description="Receipt")
    def receipt(self, order: Order) -> str:
        """The shopper's VAT receipt, to print at the till or send again."""
        return format_html('<a href="{}" target="_blank" rel="noopener">Print the receipt</a>',
                           order_link(order, "storefront:order-receipt"))

    def get_queryset(self, request):
        # A line's location is where its units are committed and sent from (the till's store for a
        # till sale), so it names every store with a fulfilment of the order. Subqueries, not joins.
        mine = locations_for_staff(request.user)
        at_mine = OrderLine.objects.filter(location__in=mine).values("order_id")
        return super().get_queryset(request).filter(Q(pk__in=at_mine) | Q(pickup_store__in=mine))

    def has_add_permission(self, request):
        return False

    def has_cancel_permission(self, request) -> bool:
        # The page is read-only ("change" is never granted here), so cancelling asks for the right itself.
        return request.user.has_perm("orders.change_order")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Cancel what has not been sent of the selected orders", permissions=["cancel"])
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


# The customer's page belongs to customers, which knows nothing of orders: add the inline to the admin
# registered there, through the admin site, rather than importing another app's admin module.
_customer_admin = admin.site.get_model_admin(Customer)
_customer_admin.inlines = [*_customer_admin.inlines, CustomerOrderInline]


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "value", "min_spend_amount", "valid_from", "valid_until", "uses", "max_uses",
                    "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code"]


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["payment", "amount", "tax_amount", "delivery_amount", "reason", "created_at"]
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


class DeliveryRateInline(admin.TabularInline):
    model = DeliveryRate
    fields = ["country", "postcode_prefix", "max_weight_grams", "price_amount", "currency", "free_over_amount",
              "min_days", "max_days"]
    extra = 1


@admin.register(DeliveryMethod)
class DeliveryMethodAdmin(admin.ModelAdmin):
    """Standard, express, pickup…: each with rates by country (or postcode region), weight band and a
    free-delivery threshold. Prices are tax-inclusive; delivery is taxed at the destination's standard rate."""

    list_display = ["name", "code", "kind", "needs_one_location", "position", "is_active"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"code": ("name",)}
    inlines = [DeliveryRateInline]
