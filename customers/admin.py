"""Back-office pages for customers: profile, consent, the open cart and the timeline on one page,
searchable by email, phone and name; carts are read-only (shoppers change them, staff look)."""
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from catalog.models import Channel
from core.readonly_admin import ReadOnlyAdmin

from .models import Address, Cart, CartLine, Customer
from .selectors import cart_view, interaction_list

TIMELINE_ROWS = 50


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["email", "full_name", "phone", "preferred_store", "created_at"]
    search_fields = ["email", "phone", "first_name", "last_name"]
    list_select_related = ["preferred_store"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["preferred_store"]
    readonly_fields = ["created_at", "email_consent_at", "sms_consent_at", "messenger_consent_at", "open_cart",
                       "timeline"]
    fieldsets = [
        (None, {"fields": ["email", "first_name", "last_name", "phone", "preferred_store", "user", "created_at"]}),
        ("Marketing consent (changed by the customer)", {"fields": ["email_consent_at", "sms_consent_at",
                                                                   "messenger_consent_at"]}),
        ("Open cart", {"fields": ["open_cart"]}),
        ("Timeline, newest first", {"fields": ["timeline"]}),
    ]
    inlines = [AddressInline]

    @admin.display(description="Cart")
    def open_cart(self, customer):
        cart = customer.carts.filter(status=Cart.Status.OPEN).first() if customer.pk else None
        if cart is None or not cart.lines.exists():
            return "Empty."
        view = cart_view(cart=cart, channel=Channel.objects.get(code=Channel.TILL))
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((l.line.variant.sku, l.line.variant.name, l.line.quantity, l.unit_price or "—", l.line.channel.code)
             for l in view.lines),
        )
        return format_html(
            '<table><thead><tr><th>SKU</th><th>Item</th><th>Qty</th><th>Till price</th><th>Last changed on</th>'
            "</tr></thead><tbody>{}</tbody></table><p>Last changed {} through {}.</p>",
            rows, cart.updated_at.strftime("%Y-%m-%d %H:%M"), cart.channel.name,
        )

    @admin.display(description="Timeline")
    def timeline(self, customer):
        if not customer.pk:
            return "—"
        rows = interaction_list(customer=customer)[:TIMELINE_ROWS]
        return format_html(
            "<table><thead><tr><th>When</th><th>What</th><th>Channel</th><th>Reference</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((i.created_at.strftime("%Y-%m-%d %H:%M"), i.get_kind_display(),
                  i.channel.name if i.channel else "—", i.reference) for i in rows),
            ),
        )


class CartLineInline(admin.TabularInline):
    model = CartLine
    extra = 0
    can_delete = False
    readonly_fields = ["variant", "quantity", "channel", "added_at", "updated_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Cart)
class CartAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["token", "customer", "status", "fulfilment", "pickup_store", "channel", "updated_at"]
    list_filter = ["status", "fulfilment", "channel"]
    search_fields = ["token", "customer__email"]
    list_select_related = ["customer", "pickup_store", "channel"]
    inlines = [CartLineInline]
