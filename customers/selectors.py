"""Customer reads: the cart as a shopper sees it on a channel (current prices, availability for the
chosen store or for delivery, totals), and a customer's timeline newest first."""
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db.models import QuerySet

from catalog.models import Channel, Product, Variant
from catalog.selectors import prices_in_force
from core.phones import phone_parse
from core.selects import columns, instances
from inventory.selectors import sellable_by_variant
from notifications.recipients import Recipient

from .models import CONSENT_CHANNELS, Cart, CartLine, Customer, Interaction


def cart_sellable(*, cart: Cart, channel: Channel, variant_ids) -> dict[int, int]:
    """Units of each variant the cart can have: at its pickup store, or for delivery."""
    store = cart.pickup_store if cart.fulfilment == Cart.Fulfilment.PICKUP else None
    return sellable_by_variant(variant_ids=variant_ids, channel=channel, location=store)


def cart_where(cart: Cart) -> str:
    return f"at {cart.pickup_store.name}" if cart.fulfilment == Cart.Fulfilment.PICKUP else "for delivery"


@dataclass(frozen=True)
class CartLineView:
    line: CartLine
    unit_price: Decimal | None
    currency: str | None
    available: int

    @property
    def line_total(self) -> Decimal | None:
        return None if self.unit_price is None else self.unit_price * self.line.quantity

    @property
    def in_stock(self) -> bool:
        return self.available >= self.line.quantity


@dataclass(frozen=True)
class CartView:
    cart: Cart | None
    channel: Channel
    lines: list[CartLineView]

    @property
    def subtotal(self) -> Decimal:
        return sum((l.line_total or Decimal("0") for l in self.lines), Decimal("0.00"))

    @property
    def currency(self) -> str | None:
        return next((l.currency for l in self.lines if l.currency), None)

    @property
    def item_count(self) -> int:
        return sum(l.line.quantity for l in self.lines)


def cart_view(*, cart: Cart | None, channel: Channel) -> CartView:
    """The cart priced for this channel, with availability where it will be fulfilled. Three queries."""
    if cart is None:
        return CartView(cart=None, channel=channel, lines=[])
    lines = cart_lines(cart)
    ids = [l.variant_id for l in lines]
    return cart_view_of(cart, channel, lines, prices_in_force(variant_ids=ids, channel=channel),
                        cart_sellable(cart=cart, channel=channel, variant_ids=ids) if ids else {})


def cart_lines(cart: Cart) -> list[CartLine]:
    """The cart's lines with their variants and products, in the order they were added (one hand-written
    SELECT: every cart change and checkout reads them, core.selects)."""
    found = instances(
        f"SELECT {columns(CartLine, 'l')}, {columns(Variant, 'v')}, {columns(Product, 'p')}"
        f" FROM {CartLine._meta.db_table} l JOIN {Variant._meta.db_table} v ON v.id = l.variant_id"
        f" JOIN {Product._meta.db_table} p ON p.id = v.product_id WHERE l.cart_id = %s ORDER BY l.added_at, l.id",
        [cart.pk], CartLine, Variant, Product)
    for line, variant, product in found:
        variant.product, line.variant, line.cart = product, variant, cart
    return [line for line, _, _ in found]


def cart_view_of(cart: Cart, channel: Channel, lines: list[CartLine], prices: dict, sellable: dict) -> CartView:
    """A CartView from lines, prices (prices_in_force) and units (cart_sellable) already read."""
    return CartView(
        cart=cart,
        channel=channel,
        lines=[
            CartLineView(
                line=l,
                unit_price=prices[l.variant_id].amount if l.variant_id in prices else None,
                currency=prices[l.variant_id].currency if l.variant_id in prices else None,
                available=sellable.get(l.variant_id, 0),
            )
            for l in lines
        ],
    )


RESUME_SALT = "customers.cart.resume"


def cart_resume_link(cart: Cart) -> str:
    """A link (for reminders) that opens this very cart on the website or in the app."""
    return f"{settings.SITE_URL}/cart/?resume={signing.dumps(str(cart.token), salt=RESUME_SALT)}"


def cart_from_resume_link(value: str) -> Cart | None:
    try:
        token = signing.loads(value, salt=RESUME_SALT, max_age=60 * 60 * 24 * 30)
    except signing.BadSignature:
        return None
    return Cart.objects.filter(token=token).select_related("customer", "pickup_store").first()


def interaction_list(*, customer: Customer) -> QuerySet[Interaction]:
    """The customer's timeline, newest first."""
    return customer.interactions.select_related("channel").order_by("-created_at", "-id")


def recipient_for(customer: Customer | None, *, email: str = "", phone: str = "") -> Recipient:
    """Where to reach a customer (or a guest, by the email and phone they gave), with their consents."""
    if customer is None:
        return Recipient(email=email, phone=phone)
    return Recipient(email=email or customer.email, phone=phone or customer.phone, first_name=customer.first_name,
                     consents=frozenset(c for c in CONSENT_CHANNELS if customer.consents_to(c)),
                     customer_id=customer.pk)


def customers_by_contact(*, contact: str, limit: int = 10) -> list[Customer]:
    """The customers an email (any case) or a phone number (spelt any way: 07700 900123, +44 7700 900123) names,
    the phone matched exactly in E.164 as stored. What is neither raises PhoneInvalid, saying how to write it."""
    contact = contact.strip()
    if "@" in contact:
        return list(Customer.objects.filter(email__iexact=contact)[:1])
    return list(Customer.objects.filter(phone=phone_parse(contact, field="contact"))
                .order_by("last_name", "first_name", "pk")[:limit])
