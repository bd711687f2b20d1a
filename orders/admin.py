"""Back-office pages for orders from every channel: each order as a summary (customer, channel, totals,
payment and refunds, the allowed actions) over its lines and history; vouchers, delivery methods; and each
customer's orders on their customer page. Orders change only through services. Store staff see the orders
their stores send, hand over or sold at the till (a line at, or pickup at, a location they work with)."""
from django.contrib import admin, messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from core.phones import phone_in
from core.readonly_admin import ReadOnlyAdmin, ReadOnlyInline, SuperuserOnlyAdmin, money_column
from customers.models import Customer
from inventory.selectors import locations_for_staff

from .models import (
    DeliveryMethod,
    DeliveryRate,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Refund,
    RoutingPolicy,
    RoutingRule,
    StripeEvent,
    Voucher,
)
from .selectors import order_link
from .services import order_cancel


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["sku", "name", "location", "in_transit", "quantity", "unit_price", "discount", "tax_rate", "tax",
              "quantity_cancelled", "quantity_fulfilled", "quantity_returned"]
    readonly_fields = fields
    verbose_name_plural = "items"
    unit_price = money_column("unit_price_amount", "each")
    discount = money_column("discount_amount", "discount")
    tax = money_column("tax_amount", "VAT inside")


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "change", "actor", "note"]
    readonly_fields = fields
    verbose_name_plural = "status history"

    @admin.display(description="change")
    def change(self, event: OrderEvent) -> str:
        return str(event)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "placed_at", "status", "channel", "fulfilment", "pickup_store", "customer_name",
                    "total"]
    list_filter = ["status", "channel", "fulfilment", ("pickup_store", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["number", "email", "customer__email", "customer__phone", "ship_to_name", "lines__sku"]
    list_select_related = ["channel", "pickup_store", "customer"]
    date_hierarchy = "placed_at"
    inlines = [OrderLineInline, OrderEventInline]
    actions = ["cancel_orders"]
    total = money_column("total_amount", "total")

    @admin.display(description="customer", ordering="email")
    def customer_name(self, order: Order) -> str:
        return order.ship_to_name or (order.customer.full_name if order.customer else "") or order.email or "—"

    def get_search_results(self, request, queryset, search_term):
        """A phone typed any way finds the orders placed with it or by the customer whose number it is."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        phone = phone_in(search_term)
        if phone:
            found = found | queryset.filter(Q(phone=phone) | Q(customer__phone=phone))
        return found, duplicates

    def get_urls(self):
        cancel = self.admin_site.admin_view(require_POST(self.cancel_view))
        return [path("<int:pk>/cancel/", cancel, name="orders_order_cancel"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, object_id)
        summary = {}
        if order is not None:
            payment = Payment.objects.filter(order=order).first()
            summary = {
                "order": order, "payment": payment,
                "refunds": list(payment.refunds.order_by("created_at")) if payment else [],
                "receipt_url": order_link(order, "storefront:order-receipt"),
                "can_cancel": self.has_cancel_permission(request) and order.can_transition_to(Order.Status.CANCELLED)
                and order.fulfilment != Order.Fulfilment.TILL,
            }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **summary})

    def cancel_view(self, request, pk: int):
        order = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_cancel_permission(request):
            messages.error(request, "Your role cannot cancel orders.")
        else:
            self._cancel(request, order)
        return redirect(reverse("admin:orders_order_change", args=[order.pk]))

    def _cancel(self, request, order: Order) -> None:
        try:
            order_cancel(order=order, actor=request.user, note="cancelled in the back office")
        except DomainError as error:
            self.message_user(request, f"{order.number}: {error.message}", messages.ERROR)
        else:
            self.message_user(request, f"{order.number} cancelled: what had not been sent will not be charged.",
                              messages.SUCCESS)

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
            self._cancel(request, order)


class CustomerOrderInline(ReadOnlyInline):
    """Every order of the customer, whichever channel it came from."""

    model = Order
    fk_name = "customer"
    fields = ["number", "placed_at", "channel", "fulfilment", "status", "total"]
    readonly_fields = fields
    total = money_column("total_amount", "total")
    ordering = ["-placed_at"]
    show_change_link = True
    verbose_name_plural = "orders from every channel"


# The customer's page belongs to customers, which knows nothing of orders: add the inline to the admin
# registered there, through the admin site, rather than importing another app's admin module.
_customer_admin = admin.site.get_model_admin(Customer)
_customer_admin.inlines = [*_customer_admin.inlines, CustomerOrderInline]


@admin.register(Voucher)
class VoucherAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "value", "min_spend", "valid_from", "valid_until", "uses", "max_uses",
                    "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code"]
    min_spend = money_column("min_spend_amount", "min spend")


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["payment", "refunded", "vat", "delivery", "reason", "created_at"]
    list_select_related = ["payment__order"]
    refunded = money_column("amount", "amount", currency="payment.currency")
    vat = money_column("tax_amount", "VAT inside", currency="payment.currency")
    delivery = money_column("delivery_amount", "delivery", currency="payment.currency")
    readonly_fields = [f.name for f in Refund._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(StripeEvent)
class StripeEventAdmin(SuperuserOnlyAdmin, ReadOnlyAdmin, admin.ModelAdmin):
    """The raw record of webhooks applied: for whoever debugs payments, not for the shop's staff."""

    list_display = ["event_id", "type", "payment_intent", "received_at"]
    search_fields = ["event_id", "payment_intent"]


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


class RoutingRuleInline(admin.TabularInline):
    model = RoutingRule
    fields = ["position", "rule"]
    extra = 0
    verbose_name_plural = "rules, applied in order (lowest position first); leave one out to turn it off"


@admin.register(RoutingPolicy)
class RoutingPolicyAdmin(admin.ModelAdmin):
    """Operations set how delivery orders are routed: the rules in order and the split limit (orders.routing).
    There is one policy (made by a migration with the default rules); each location's daily capacity, working
    days and rank are on its own page."""

    list_display = ["__str__", "split_limit", "rules_in_order"]
    inlines = [RoutingRuleInline]

    @admin.display(description="rules")
    def rules_in_order(self, policy: RoutingPolicy) -> str:
        return " → ".join(rule.get_rule_display() for rule in policy.rules.all()) or "—"

    def has_add_permission(self, request):
        return not RoutingPolicy.objects.exists() and super().has_add_permission(request)
