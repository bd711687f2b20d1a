"""Every write about customers: sign-up, passwords (reset through an emailed link, or changed), the one cart
(add, change, remove, choose pickup or delivery, merge a guest cart at sign-in, take out what was bought at the
till), consent, addresses, and the timeline row each touch leaves.

Cart changes lock the cart row first, so two devices changing one cart at once queue up.
"""
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import ValidationError

from catalog.models import Channel, Variant
from catalog.selectors import prices_in_force
from core.inserts import insert
from core.phones import phone_or_blank
from core.selects import columns, instances
from inventory.models import Location
from notifications.models import OutboxMessage
from notifications.services import message_queue

from .exceptions import EmailTaken, NotEnoughForCart, NotSoldHere
from .models import CONSENT_CHANNELS, Address, Cart, CartLine, Customer, Interaction
from .selectors import CartView, cart_lines, cart_sellable, cart_view_of, cart_where, recipient_for
from .signals import customer_identified

MAX_LINE_QUANTITY = 99
MAX_CART_LINES = 50  # different items in one basket


def interaction_record(
    *, customer: Customer | None, kind: str, channel: Channel | None, reference: str = "", detail: dict | None = None,
    visitor: uuid.UUID | None = None, created_at: datetime | None = None,
) -> Interaction:
    """One touch on the timeline of the customer (or of the visitor, while they are a guest); `created_at` places
    a touch learnt of later (an order placed as a guest) when it happened."""
    return Interaction.objects.create(
        customer=customer, visitor=visitor, kind=kind, channel=channel, reference=reference, detail=detail or {},
        created_at=created_at or timezone.now(),
    )


# Sign-up --------------------------------------------------------------------------------------


def _validated_password(password: str, user) -> str:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError({"password": list(exc.messages)}) from exc
    return password


@transaction.atomic
def customer_register(
    *, email: str, password: str, channel: Channel, first_name: str = "", last_name: str = "", phone: str = ""
) -> Customer:
    """A new customer with a login. An email already on file (any case) is refused, and so is a phone that is
    not a valid number (PhoneInvalid); the phone is kept in E.164."""
    email, phone = email.strip(), phone_or_blank(phone)
    if Customer.objects.filter(email__iexact=email).exists():
        raise EmailTaken(
            "An account with this email already exists: sign in, or reset your password to claim it.",
            field="email",
        )
    User = get_user_model()
    user = User(username=email.lower()[:150], email=email, first_name=first_name, last_name=last_name)
    user.set_password(_validated_password(password, user))
    try:
        with transaction.atomic():
            user.save()
            customer = Customer.objects.create(
                email=email, user=user, first_name=first_name, last_name=last_name, phone=phone
            )
    except IntegrityError as exc:  # the same email registered a moment ago from another device
        raise EmailTaken("An account with this email already exists.", field="email") from exc
    interaction_record(customer=customer, kind=Interaction.Kind.SIGNED_UP, channel=channel)
    customer_identified.send(sender=Customer, customer=customer)
    return customer


def customer_login_for_reset(*, email: str):
    """The login a password reset goes to. A customer created at the till without a login gets one
    (with no usable password), so owning the mailbox is what claims the account."""
    customer = Customer.objects.filter(email__iexact=email.strip()).select_related("user").first()
    if customer is None:
        return None
    if customer.user is None:
        User = get_user_model()
        user = User(username=customer.email.lower()[:150], email=customer.email)
        user.set_unusable_password()
        user.save()
        customer.user = user
        customer.save(update_fields=["user"])
    return customer.user


# Passwords ------------------------------------------------------------------------------------

RESET_ASKED = "If that email has an account, a reset link is on its way."  # the same answer for any email
RESET_LINK_REFUSED = "This reset link is invalid or has expired; ask for a new one."


@transaction.atomic
def password_reset_request(*, email: str) -> bool:
    """Email the login of `email` a link to set a new password (through the outbox, by email only). Whether
    it had an account is returned for the caller's records and must not be told to the asker."""
    user = customer_login_for_reset(email=email)
    if user is None:
        return False
    uid, token = urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)
    link = f"{settings.SITE_URL}{reverse('storefront:password-reset-confirm', args=[uid, token])}"
    message_queue(template="password_reset", to=recipient_for(user.customer), medium=OutboxMessage.Medium.EMAIL,
                  context={"uid": uid, "token": token, "email": user.customer.email, "link": link,
                           "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)})
    return True


def password_reset_login(*, uid: str, token: str):
    """The login a reset link (its uid and token) is for, or None when the link is wrong, used or expired (a
    token stops working once the password changes, and after PASSWORD_RESET_TIMEOUT)."""
    User = get_user_model()
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uid)))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    return user if default_token_generator.check_token(user, token) else None


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, password: str):
    """Set a new password with a reset link's uid and token (used once); refused on the token when the link
    does not work, on the password when the validators say no. Every session and app token of the login ends."""
    user = password_reset_login(uid=uid, token=token)
    if user is None:
        raise ValidationError({"token": [RESET_LINK_REFUSED]})
    return _password_replace(user, password)


@transaction.atomic
def customer_change_password(*, user, current_password: str, password: str):
    """A signed-in shopper changes their password, proving the current one; every other session and app
    token of the login ends (the caller keeps its own browser session with update_session_auth_hash)."""
    if not user.check_password(current_password):
        raise ValidationError({"current_password": ["That is not your current password."]})
    return _password_replace(user, password)


def _password_replace(user, password: str):
    """The new password (checked by the validators) in place of the old. Browser sessions hold a hash of the
    password, so every session of the login ends; app tokens are deleted, so apps sign in again."""
    user.set_password(_validated_password(password, user))
    user.save(update_fields=["password"])
    Token.objects.filter(user=user).delete()
    return user


@transaction.atomic
def customer_update(*, customer: Customer, channel: Channel, **fields) -> Customer:
    """Change the customer's name, phone (refused unless a valid number, kept in E.164) or preferred store."""
    allowed = {"first_name", "last_name", "phone", "preferred_store"}
    if "phone" in fields:
        fields["phone"] = phone_or_blank(fields["phone"])
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(f"{name} cannot be changed here")
        setattr(customer, name, value)
    customer.save(update_fields=list(fields))
    return customer


@transaction.atomic
def customer_set_consent(*, customer: Customer, channel: Channel, **given: bool) -> Customer:
    """Turn marketing consent on or off per channel; turning it on stamps the time it was given."""
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    changed = {}
    for name, on in given.items():
        if name not in CONSENT_CHANNELS:
            raise ValueError(f"unknown consent channel {name}")
        field = f"{name}_consent_at"
        if on and getattr(locked, field) is None:
            setattr(locked, field, timezone.now())
            changed[name] = True
        elif not on and getattr(locked, field) is not None:
            setattr(locked, field, None)
            changed[name] = False
    if changed:
        locked.save(update_fields=[f"{name}_consent_at" for name in changed])
        interaction_record(customer=locked, kind=Interaction.Kind.CONSENT_CHANGED, channel=channel, detail=changed)
    return locked


# Addresses ------------------------------------------------------------------------------------


@transaction.atomic
def address_save(*, customer: Customer, address: Address | None = None, **fields) -> Address:
    address = address or Address(customer=customer)
    for name, value in fields.items():
        setattr(address, name, value)
    address.save()
    if address.is_default:
        customer.addresses.exclude(pk=address.pk).update(is_default=False)
    return address


def address_delete(*, address: Address) -> None:
    address.delete()


# The cart -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MergeNote:
    sku: str
    wanted: int
    kept: int
    message: str


def cart_open_for_customer(*, customer: Customer, channel: Channel) -> Cart:
    """The customer's one open cart, created on first use (the database allows only one)."""
    cart = Cart.objects.filter(customer=customer, status=Cart.Status.OPEN).first()
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(customer=customer, channel=channel)
    except IntegrityError:  # another device opened it a moment ago
        return Cart.objects.get(customer=customer, status=Cart.Status.OPEN)


def cart_create_guest(*, channel: Channel) -> Cart:
    return Cart.objects.create(channel=channel)


def _lock(cart: Cart, channel: Channel) -> Cart:
    """The cart as it is now, locked for this transaction and touched by `channel` (its channel and
    updated_at) in the same statement: one round trip where SELECT … FOR UPDATE and the UPDATE after the
    change took two (bench/checkout_profile.py). A closed cart is refused."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    locked = instances(
        f"UPDATE {Cart._meta.db_table} SET channel_id = %s, updated_at = %s WHERE id = %s AND status = %s"
        f" RETURNING {columns(Cart)}", [channel.pk, now, cart.pk, Cart.Status.OPEN], Cart)
    if not locked:
        raise ValidationError({"cart": ["This cart is closed; start a new one."]})
    return locked[0][0]


def _touched(cart: Cart, channel: Channel, change: dict) -> None:
    """A change to a customer's cart goes on their timeline (the cart itself was touched when locked)."""
    if cart.customer_id:
        interaction_record(
            customer=cart.customer, kind=Interaction.Kind.CART_CHANGED, channel=channel,
            reference=f"cart:{cart.token}", detail=change,
        )


def _check_quantity(quantity) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise ValidationError({"quantity": [f"Choose a whole number from 1 to {MAX_LINE_QUANTITY}."]})
    return quantity


def _check_sellable(cart: Cart, channel: Channel, variant: Variant, quantity: int, prices: dict | None = None,
                    sellable: dict | None = None) -> None:
    """Refuse more units than can be supplied where the cart will be fulfilled; `prices` and `sellable` when
    the caller has read them for the cart already (with this variant)."""
    if not variant.is_active or not variant.product.is_active:
        raise NotSoldHere(f"{variant.sku} is no longer sold.", sku=variant.sku)
    if prices is None:
        prices = prices_in_force(variant_ids=[variant.pk], channel=channel)
    if variant.pk not in prices:
        raise NotSoldHere(f"{variant.sku} is not sold on {channel.name}.", sku=variant.sku)
    if sellable is None:
        sellable = cart_sellable(cart=cart, channel=channel, variant_ids=[variant.pk])
    available = sellable.get(variant.pk, 0)
    if quantity > available:
        raise NotEnoughForCart(
            f"Only {available} × {variant.sku} available {cart_where(cart)}.", sku=variant.sku, available=available
        )


@transaction.atomic
def cart_add_line(*, cart: Cart | None, variant: Variant, quantity: int, channel: Channel) -> CartView:
    """Add units of a variant (to an existing line if there is one), within what can be supplied. Returns the
    cart as it now stands, priced (prices and stock read once, for the check and the answer). With cart None
    (a guest's first add) a new guest cart is opened in the same transaction: a refused add leaves no empty
    cart behind, and a cart nobody else can know of yet needs no lock and has no lines to read."""
    _check_quantity(quantity)
    if cart is None:
        (cart,), lines = insert([Cart(channel=channel)]), []  # core.inserts: no ORM compile on the hot path
    else:
        cart = _lock(cart, channel)
        lines = cart_lines(cart)  # at most MAX_CART_LINES: one read for the line, the count and the answer
    line = next((l for l in lines if l.variant_id == variant.pk), None)
    total = quantity + (line.quantity if line else 0)
    if total > MAX_LINE_QUANTITY:
        raise ValidationError({"quantity": [f"At most {MAX_LINE_QUANTITY} of one item per order."]})
    if line is None and len(lines) >= MAX_CART_LINES:
        raise ValidationError({"sku": [f"A basket holds at most {MAX_CART_LINES} different items."]})
    ids = [l.variant_id for l in lines] + ([] if line else [variant.pk])
    prices = prices_in_force(variant_ids=ids, channel=channel)
    sellable = cart_sellable(cart=cart, channel=channel, variant_ids=ids)
    _check_sellable(cart, channel, variant, total, prices, sellable)
    if line:
        line.quantity, line.channel, line.updated_at = total, channel, timezone.now()
        line.save(update_fields=["quantity", "channel", "updated_at"])
    else:
        (line,) = insert([CartLine(cart=cart, variant=variant, quantity=total, channel=channel)])
        lines.append(line)
    _touched(cart, channel, {"sku": variant.sku, "added": quantity, "quantity": total})
    return cart_view_of(cart, channel, lines, prices, sellable)


@transaction.atomic
def cart_set_quantity(*, cart: Cart, line: CartLine, quantity: int, channel: Channel) -> CartLine:
    cart = _lock(cart, channel)
    _check_quantity(quantity)
    if quantity > line.quantity:
        _check_sellable(cart, channel, line.variant, quantity)
    line.quantity, line.channel, line.updated_at = quantity, channel, timezone.now()
    line.save(update_fields=["quantity", "channel", "updated_at"])
    _touched(cart, channel, {"sku": line.variant.sku, "quantity": quantity})
    return line


@transaction.atomic
def cart_remove_line(*, cart: Cart, line: CartLine, channel: Channel) -> Cart:
    cart = _lock(cart, channel)
    sku = line.variant.sku
    line.delete()
    _touched(cart, channel, {"sku": sku, "removed": True})
    return cart


@transaction.atomic
def cart_remove_sold(*, customer: Customer, sold: dict[int, int], channel: Channel) -> Cart | None:
    """Units the customer has just bought on another channel (at the till) leave their open cart: each line
    is reduced by the units sold of its variant (by id), or removed when none are left, so the web and the
    app show only what is still to buy. Returns the open cart (None if there is none); a cart with none of
    the sold variants is left as it was."""
    cart = Cart.objects.select_for_update().filter(customer=customer, status=Cart.Status.OPEN).first()
    if cart is None:
        return None
    lines = list(cart.lines.filter(variant_id__in=[pk for pk, units in sold.items() if units > 0])
                 .select_related("variant"))
    if not lines:
        return cart
    removed = {}
    for line in lines:
        units = min(sold[line.variant_id], line.quantity)
        removed[line.variant.sku] = units
        if units == line.quantity:
            line.delete()
        else:
            line.quantity, line.channel, line.updated_at = line.quantity - units, channel, timezone.now()
            line.save(update_fields=["quantity", "channel", "updated_at"])
    cart.channel, cart.updated_at = channel, timezone.now()
    cart.save(update_fields=["channel", "updated_at"])
    _touched(cart, channel, {"bought": removed})
    return cart


@transaction.atomic
def cart_choose_pickup(*, cart: Cart, store: Location, channel: Channel) -> Cart:
    if not (store.is_active and store.offers_pickup):
        raise ValidationError({"store": [f"{store.name} does not offer pickup."]})
    cart = _lock(cart, channel)
    cart.fulfilment, cart.pickup_store, cart.delivery_address = Cart.Fulfilment.PICKUP, store, None
    cart.save(update_fields=["fulfilment", "pickup_store", "delivery_address"])
    _touched(cart, channel, {"fulfilment": "pickup", "store": store.code})
    return cart


@transaction.atomic
def cart_choose_delivery(*, cart: Cart, address: Address | None, channel: Channel) -> Cart:
    if address is not None and address.customer_id != cart.customer_id:
        raise ValueError("address belongs to another customer")
    cart = _lock(cart, channel)
    cart.fulfilment, cart.pickup_store, cart.delivery_address = Cart.Fulfilment.DELIVERY, None, address
    cart.save(update_fields=["fulfilment", "pickup_store", "delivery_address"])
    _touched(cart, channel, {"fulfilment": "delivery"})
    return cart


@transaction.atomic
def customer_sign_in(
    *, customer: Customer, channel: Channel, guest_cart: Cart | None = None, visitor: uuid.UUID | None = None
) -> tuple[Cart, list[MergeNote]]:
    """Record the sign-in, fold what the visitor did as a guest (arrivals, product views) into the
    customer's timeline, and fold a guest cart into the customer's one cart.

    Quantities are added, each capped by what can be supplied for the customer's cart (its pickup
    store, or delivery); every cap or drop is returned as a note to show the shopper.
    """
    if visitor is not None:
        Interaction.objects.filter(visitor=visitor, customer__isnull=True).update(customer=customer)
    interaction_record(customer=customer, kind=Interaction.Kind.SIGNED_IN, channel=channel, visitor=visitor)
    customer_identified.send(sender=Customer, customer=customer)
    cart = cart_open_for_customer(customer=customer, channel=channel)
    if guest_cart is None or guest_cart.pk == cart.pk:
        return cart, []
    guest = Cart.objects.select_for_update().filter(pk=guest_cart.pk, customer__isnull=True,
                                                     status=Cart.Status.OPEN).first()
    if guest is None:
        return cart, []
    cart = _lock(cart, channel)
    if not cart.fulfilment and guest.fulfilment:
        cart.fulfilment, cart.pickup_store = guest.fulfilment, guest.pickup_store
        cart.save(update_fields=["fulfilment", "pickup_store"])
    guest_lines = list(guest.lines.select_related("variant"))
    mine = {line.variant_id: line for line in cart.lines.all()}
    sellable = cart_sellable(cart=cart, channel=channel, variant_ids=[l.variant_id for l in guest_lines])
    notes = []
    for gl in guest_lines:
        existing = mine.get(gl.variant_id)
        wanted = gl.quantity + (existing.quantity if existing else 0)
        kept = min(wanted, sellable.get(gl.variant_id, 0), MAX_LINE_QUANTITY)
        sku = gl.variant.sku
        if kept < wanted:
            message = (f"{sku}: only {kept} available {cart_where(cart)}, so your cart has {kept} (you had {wanted})."
                       if kept else f"{sku} is no longer available {cart_where(cart)} and was not added.")
        else:
            message = f"{sku}: added {gl.quantity} from the cart you filled before signing in."
        notes.append(MergeNote(sku=sku, wanted=wanted, kept=kept, message=message))
        if existing and kept:
            existing.quantity, existing.channel, existing.updated_at = kept, channel, timezone.now()
            existing.save(update_fields=["quantity", "channel", "updated_at"])
        elif existing:
            existing.delete()
        elif kept:
            CartLine.objects.create(cart=cart, variant=gl.variant, quantity=kept, channel=gl.channel)
    guest.status, guest.merged_into = Cart.Status.MERGED, cart
    guest.save(update_fields=["status", "merged_into"])
    _touched(cart, channel, {"merged_guest_cart": str(guest.token), "lines": len(guest_lines)})
    return cart, notes


def cart_state(cart: Cart) -> str:
    """A fingerprint of what is in the cart, so a reminder is never sent twice for the same contents."""
    lines = sorted(cart.lines.values_list("variant_id", "quantity"))
    return hashlib.sha256(repr(lines).encode()).hexdigest()


def cart_mark_reminded(*, cart: Cart, state: str) -> None:
    """Remember the contents a reminder was sent for (without counting as a change by the shopper)."""
    Cart.objects.filter(pk=cart.pk).update(reminded_state=state)
