"""Back-office pages for fulfilments and returns, scoped to the stores a user works at: each fulfilment's
page shows its next steps as buttons, and every step goes through fulfillment.services (steps.py)."""
import uuid

from django.contrib import admin, messages
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from core.exceptions import DomainError
from core.readonly_admin import ReadOnlyAdmin, ReadOnlyInline, money_column
from core.redirects import safe_next
from inventory.selectors import locations_for_staff
from orders.models import Order

from . import steps
from .models import Fulfillment, FulfillmentEvent, FulfillmentLine, LineProblem, Return, ReturnLine
from .selectors import customer_name


class FulfillmentLineInline(ReadOnlyInline):
    model = FulfillmentLine
    fields = ["sku", "name", "quantity", "still_to_send"]
    readonly_fields = fields
    verbose_name_plural = "items"

    @admin.display(description="SKU")
    def sku(self, line):
        return line.order_line.sku

    @admin.display(description="item")
    def name(self, line):
        return line.order_line.name

    @admin.display(description="still to send")
    def still_to_send(self, line):
        return line.order_line.quantity_open


class LineProblemInline(ReadOnlyInline):
    model = LineProblem
    fields = ["created_at", "sku", "reason", "quantity", "on_shelf", "outcome", "sent_from", "choose_by", "actor"]
    readonly_fields = fields
    verbose_name_plural = "problems reported with lines"

    @admin.display(description="SKU")
    def sku(self, problem):
        return problem.order_line.sku


class FulfillmentEventInline(ReadOnlyInline):
    model = FulfillmentEvent
    fields = ["created_at", "change", "actor", "note"]
    readonly_fields = fields
    verbose_name_plural = "status history"

    @admin.display(description="change")
    def change(self, event):
        return str(event)


@admin.register(Fulfillment)
class FulfillmentAdmin(admin.ModelAdmin):
    """Each fulfilment's page shows its next steps as buttons (steps.py); the list is the store's queue."""

    list_display = ["order_number", "customer", "store", "method", "status", "placed_at", "collect_by"]
    list_filter = ["status", "method", ("location", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["order__number", "pickup_code", "tracking_number", "order__email", "order__ship_to_name"]
    list_select_related = ["order__customer", "location"]
    fieldsets = [
        (None, {"fields": ["order", "location", "method", "status", "created_at"]}),
        ("Parcel", {"fields": ["carrier", "tracking_number", "tracking_url", "parcels", "weight_grams"],
                    "classes": ["collapse"]}),
        ("Pickup", {"fields": ["pickup_code", "ready_at", "expires_at", "reminder_sent_at", "completed_at"],
                    "classes": ["collapse"]}),
    ]
    readonly_fields = [name for _, options in fieldsets for name in options["fields"]]
    inlines = [FulfillmentLineInline, LineProblemInline, FulfillmentEventInline]
    actions = ["start_picking", "mark_ready", "mark_delivered"]

    def get_queryset(self, request):
        return Fulfillment.objects.for_staff(request.user).select_related("order__customer", "location")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Nothing on the page is edited by hand (a stale save would overwrite a status the services
        # set); "change" is what the steps and actions require.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="order", ordering="order__number")
    def order_number(self, fulfillment):
        return fulfillment.order.number

    @admin.display(description="customer", ordering="order__ship_to_name")
    def customer(self, fulfillment):
        return customer_name(fulfillment.order)

    @admin.display(description="from", ordering="location__code")
    def store(self, fulfillment):
        return fulfillment.location.code

    @admin.display(description="placed", ordering="order__placed_at")
    def placed_at(self, fulfillment):
        return fulfillment.order.placed_at

    @admin.display(description="collect by", ordering="expires_at")
    def collect_by(self, fulfillment):
        return fulfillment.expires_at if fulfillment.status == Fulfillment.Status.READY else None

    def get_urls(self):
        step = self.admin_site.admin_view(require_POST(self.step_view))
        return [path("<int:pk>/step/<slug:step>/", step, name="fulfillment_fulfillment_step"), *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        fulfillment = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if fulfillment is not None:
            context.update(fulfillment=fulfillment, next_steps=steps.next_steps(fulfillment),
                           can_act=super().has_change_permission(request), carriers=steps.CARRIERS,
                           problem_key=uuid.uuid4().hex,
                           open_lines=[fl.order_line for fl in fulfillment.lines.select_related("order_line")
                                       if fl.order_line.quantity_open])
        return super().change_view(request, object_id, form_url, context)

    def step_view(self, request, pk: int, step: str):
        """One click on a step's button: the service runs, the page says what happened or why not."""
        fulfillment = get_object_or_404(self.get_queryset(request), pk=pk)
        back = safe_next(request, reverse("admin:fulfillment_fulfillment_change", args=[pk]))
        if not super().has_change_permission(request):
            self.message_user(request, "Your role cannot move fulfilments on.", messages.ERROR)
            return redirect(back)
        try:
            done = steps.take(step, fulfillment=fulfillment, data=request.POST, actor=request.user)
        except DomainError as refusal:
            self.message_user(request, f"{fulfillment.order.number}: {refusal.message}", messages.ERROR)
        else:
            self.message_user(request, f"{fulfillment.order.number}: {done}", messages.SUCCESS)
        return redirect(back)

    def _move(self, request, queryset, step: str) -> None:
        for fulfillment in queryset:
            try:
                done = steps.take(step, fulfillment=fulfillment, data={}, actor=request.user)
            except DomainError as refusal:
                self.message_user(request, f"{fulfillment.order.number}: {refusal.message}", messages.ERROR)
            else:
                self.message_user(request, f"{fulfillment.order.number}: {done}", messages.SUCCESS)

    @admin.action(description="Start picking", permissions=["change"])
    def start_picking(self, request, queryset):
        self._move(request, queryset, "pick")

    @admin.action(description="Mark ready for pickup", permissions=["change"])
    def mark_ready(self, request, queryset):
        self._move(request, queryset, "ready")

    @admin.action(description="Mark delivered", permissions=["change"])
    def mark_delivered(self, request, queryset):
        self._move(request, queryset, "delivered")


class OrderFulfillmentInline(ReadOnlyInline):
    """On the order's page: where each part of the order is sent from, how, and how far it has got."""

    model = Fulfillment
    fields = ["location", "method", "status", "tracking_number", "pickup_code"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "fulfilments (open one for its next step)"


# The order's page belongs to orders, which knows nothing of fulfilment: add the inline to the admin
# registered there, through the admin site.
_order_admin = admin.site.get_model_admin(Order)
_order_admin.inlines = [*_order_admin.inlines, OrderFulfillmentInline]


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    fields = ["order_line", "quantity", "reason", "condition"]
    readonly_fields = fields


@admin.register(Return)
class ReturnAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["code", "order", "status", "location", "refund_method", "refund", "created_at", "received_at",
                    "receive"]
    list_filter = ["status", "refund_method", ("location", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["code", "order__number"]
    list_select_related = ["order", "location"]
    readonly_fields = [f.name for f in Return._meta.fields if f.name != "id"]
    inlines = [ReturnLineInline]
    refund = money_column("refund_amount", "refund", currency="order.currency")
    list_display_links = ["code"]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {**(extra_context or {}), "desk_url": reverse("return-desk")})

    @admin.display(description="")
    def receive(self, request_row: Return) -> str:
        if request_row.status != Return.Status.REQUESTED:
            return ""
        return format_html('<a class="button" href="{}?{}">Receive at the desk</a>', reverse("return-desk"),
                           urlencode({"q": request_row.code}))

    def get_queryset(self, request):
        # Received at my stores, or returning an order my stores sent. Subqueries, not joins: a join
        # through the staff table would repeat a return once per colleague.
        my_stores = locations_for_staff(request.user)
        my_orders = Fulfillment.objects.filter(location__in=my_stores).values("order_id")
        return super().get_queryset(request).filter(Q(location__in=my_stores) | Q(order__in=my_orders))
