"""Customer, Address, the one open Cart per customer (guest carts by token) and the Interaction
timeline that records every touch from every channel."""
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from catalog.models import Channel, Variant
from inventory.models import Location

CONSENT_CHANNELS = ("email", "sms", "messenger")


class Customer(models.Model):
    email = models.EmailField()
    phone = models.CharField(max_length=32, blank=True, db_index=True)
    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer",
        help_text="The login, if the customer has one; till customers may not.",
    )
    preferred_store = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email_consent_at = models.DateTimeField(null=True, blank=True, help_text="When email marketing consent was given.")
    sms_consent_at = models.DateTimeField(null=True, blank=True, help_text="When SMS marketing consent was given.")
    messenger_consent_at = models.DateTimeField(
        null=True, blank=True, help_text="When messenger marketing consent was given."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(Lower("email"), name="customer_email_unique_any_case")]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def consents_to(self, channel: str) -> bool:
        return getattr(self, f"{channel}_consent_at") is not None


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(max_length=40, blank=True, help_text="e.g. Home, Work.")
    recipient = models.CharField(max_length=160)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    postcode = models.CharField(max_length=16)
    country = models.CharField(max_length=2, default="GB", help_text="ISO 3166-1 alpha-2.")
    phone = models.CharField(max_length=32, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_default", "id"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"{self.recipient}, {self.line1}, {self.city} {self.postcode}"


class Cart(models.Model):
    """A shopper's basket. A customer has at most one open cart; a guest's is found by its token."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged into the customer's cart"
        ORDERED = "ordered", "Turned into an order"

    class Fulfilment(models.TextChoices):
        PICKUP = "pickup", "Pickup in store"
        DELIVERY = "delivery", "Delivery"

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="carts")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    fulfilment = models.CharField(max_length=16, choices=Fulfilment.choices, blank=True)
    pickup_store = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    delivery_address = models.ForeignKey(Address, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", help_text="Last changed through.")
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reminded_state = models.CharField(max_length=64, blank=True,
                                      help_text="The cart's contents when the last abandoned-cart reminder went out.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(status="open"), name="cart_one_open_per_customer"
            ),
        ]

    def __str__(self) -> str:
        return f"Cart {self.token} ({self.status})"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", help_text="Last changed through.")
    added_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["cart", "variant"], name="cart_line_once_per_variant"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="cart_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class Interaction(models.Model):
    """One touch on the timeline of a customer, or of a visitor not yet known (a browser session or an app
    install, by its visitor id): folded into the customer's timeline when they sign in. An arrival (where
    they came from: referrer, UTM tags, landing page) is a touch too, and the record attribution reads."""

    class Kind(models.TextChoices):
        ARRIVED = "arrived", "Arrived"
        SIGNED_UP = "signed_up", "Signed up"
        SIGNED_IN = "signed_in", "Signed in"
        PRODUCT_VIEWED = "product_viewed", "Viewed a product"
        CART_CHANGED = "cart_changed", "Changed the cart"
        CONSENT_CHANGED = "consent_changed", "Changed marketing consent"
        ORDER_PLACED = "order_placed", "Placed an order"
        AT_STORE = "at_store", "Was at the store to collect"
        PICKUP = "pickup", "Collected an order"
        RETURN = "return", "Returned items"
        MESSAGE_SENT = "message_sent", "Was sent a message"

    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="interactions")
    visitor = models.UUIDField(null=True, blank=True, help_text="The browser or app install, before sign-in.")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=64, blank=True, help_text="e.g. variant:TEE-NAVY-M, order:R1001.")
    detail = models.JSONField(default=dict, blank=True)
    day = models.DateField(null=True, blank=True, help_text="Set on touches counted once a day (product views).")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="interaction_timeline"),
                   models.Index(fields=["visitor", "-created_at"], name="interaction_visitor_timeline")]
        constraints = [
            models.CheckConstraint(condition=Q(customer__isnull=False) | Q(visitor__isnull=False),
                                   name="interaction_has_someone"),
            models.UniqueConstraint(fields=["visitor", "kind", "reference", "day"],
                                    condition=Q(day__isnull=False, visitor__isnull=False),
                                    name="interaction_once_a_day_per_visitor"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def summary(self) -> str:
        """The touch in words: "Arrived from instagram / social (spring-sale), on /shop/jumper/", or the
        reference it is about."""
        if self.kind != self.Kind.ARRIVED:
            return self.reference
        detail = self.detail
        campaign = f" ({detail['campaign']})" if detail.get("campaign") else ""
        landing = f", on {detail['landing']}" if detail.get("landing") else ""
        return f"from {detail.get('source', '?')} / {detail.get('medium', '?')}{campaign}{landing}"
