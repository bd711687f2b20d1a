"""Back-office pages for customers: profile, consent, the open cart and the timeline on one page,
searchable by email, phone and name; carts are read-only (shoppers change them, staff look)."""
from django.contrib import admin
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from catalog.models import Channel
from core.money import format_money
from core.phones import PhoneFormField, phone_in
from core.readonly_admin import ReadOnlyAdmin

from .models import Address, Cart, CartLine, Customer
from .selectors import cart_view, interaction_list

TIMELINE_ROWS = 50


class PhoneFieldsAdmin:
    """Phones typed in the back office are checked and stored as every other way in stores them (E.164)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "phone":
            return PhoneFormField(label="Phone", required=not db_field.blank, help_text=db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class AddressInline(PhoneFieldsAdmin, admin.StackedInline):
    model = Address
    extra = 0


@admin.register(Customer)
class CustomerAdmin(PhoneFieldsAdmin, admin.ModelAdmin):
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

    def get_search_results(self, request, queryset, search_term):
        """A phone typed any way (07700 900123, +44 7700 900123) finds the customer whose number it is."""
        found, duplicates = super().get_search_results(request, queryset, search_term)
        phone = phone_in(search_term)
        return (found | queryset.filter(phone=phone), duplicates) if phone else (found, duplicates)

    @admin.display(description="Cart")
    def open_cart(self, customer):
        cart = customer.carts.filter(status=Cart.Status.OPEN).first() if customer.pk else None
        if cart is None or not cart.lines.exists():
            return "Empty."
        view = cart_view(cart=cart, channel=Channel.objects.get(code=Channel.TILL))
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((l.line.variant.sku, l.line.variant.name, l.line.quantity,
              format_money(l.unit_price, l.currency) if l.unit_price is not None else "—", l.line.channel.name)
             for l in view.lines),
        )
        return format_html(
            '<table><thead><tr><th>SKU</th><th>Item</th><th>Qty</th><th>Till price</th><th>Last changed on</th>'
            "</tr></thead><tbody>{}</tbody></table><p>Last changed {} through {}.</p>",
            rows, date_format(timezone.localtime(cart.updated_at), "j M Y, H:i"), cart.channel.name,
        )

    @admin.display(description="Timeline")
    def timeline(self, customer):
        if not customer.pk:
            return "—"
        rows = interaction_list(customer=customer)[:TIMELINE_ROWS]
        return format_html(
            "<table><thead><tr><th>When</th><th>What</th><th>Channel</th><th>About</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((date_format(timezone.localtime(i.created_at), "j M Y, H:i"), i.get_kind_display(),
                  i.channel.name if i.channel else "—", i.summary) for i in rows),
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
