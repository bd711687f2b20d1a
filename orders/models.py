"""Orders from every channel with frozen line prices, their status history, vouchers, and the money:
Stripe payments (authorised at checkout, captured when goods leave), refunds and webhook receipts."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper
from django.utils import timezone

from catalog.models import Channel, Variant
from core.money import round_money
from customers.models import Customer
from inventory.models import Location

MONEY = {"max_digits": 12, "decimal_places": 2}


class Voucher(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent", "Percentage off"
        FIXED = "fixed", "Fixed amount off"

    code = models.CharField(max_length=32, help_text="What the shopper types; matched ignoring case.")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))],
                                help_text="Percent (e.g. 15) or amount (e.g. 10.00).")
    currency = models.CharField(max_length=3, default="GBP")
    min_spend_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text="Across everyone; 1 = single-use code.")
    max_uses_per_customer = models.PositiveIntegerField(null=True, blank=True)
    uses = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Upper("code"), name="voucher_code_unique_any_case"),
            models.CheckConstraint(condition=~Q(kind="percent") | Q(value__lte=100), name="voucher_percent_max_100"),
            models.CheckConstraint(condition=Q(max_uses__isnull=True) | Q(uses__lte=F("max_uses")),
                                   name="voucher_uses_within_limit"),
        ]

    def __str__(self) -> str:
        return self.code


class DeliveryMethod(models.Model):
    """A way an order reaches the shopper: sent (standard, express) or collected in store (free)."""

    class Kind(models.TextChoices):
        DELIVERY = "delivery", "Delivery to an address"
        PICKUP = "pickup", "Pickup in store"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DELIVERY)
    needs_one_location = models.BooleanField(
        default=False, help_text="Offer only when one location can send the whole order (e.g. express)."
    )
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in which methods are offered.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.name


class DeliveryRate(models.Model):
    """What a method costs to a destination, by weight band, with an optional free-delivery threshold.
    The most specific rate wins: a postcode prefix over the whole country, then the lightest band that
    takes the order's weight."""

    method = models.ForeignKey(DeliveryMethod, on_delete=models.CASCADE, related_name="rates")
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. GB.")
    postcode_prefix = models.CharField(
        max_length=10, blank=True, help_text="A region of the country by postcode start, e.g. BT; empty for all of it."
    )
    max_weight_grams = models.PositiveIntegerField(null=True, blank=True, help_text="Empty for any weight.")
    price_amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="GBP")
    free_over_amount = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Free when the goods, after discounts, come to at least this."
    )
    min_days = models.PositiveSmallIntegerField(default=2)
    max_days = models.PositiveSmallIntegerField(default=4)

    class Meta:
        ordering = ["method", "country", "postcode_prefix", "max_weight_grams"]
        constraints = [
            models.CheckConstraint(condition=Q(max_days__gte=F("min_days")), name="delivery_rate_days_in_order"),
            models.UniqueConstraint(
                fields=["method", "country", "postcode_prefix", "max_weight_grams", "currency"],
                name="one_delivery_rate_per_band",
            ),
        ]

    def __str__(self) -> str:
        where = f"{self.country} {self.postcode_prefix}".strip()
        return f"{self.method} to {where}: {self.price_amount} {self.currency}"


class Order(models.Model):
    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        PARTLY_FULFILLED = "partly_fulfilled", "Partly fulfilled"
        FULFILLED = "fulfilled", "Fulfilled"
        CANCELLED = "cancelled", "Cancelled"

    placed_now = False  # not a column: True on the instance a checkout has just recorded (201, not a replay)

    TRANSITIONS = {
        Status.PLACED: {Status.PARTLY_FULFILLED, Status.FULFILLED, Status.CANCELLED},
        Status.PARTLY_FULFILLED: {Status.FULFILLED, Status.CANCELLED},
        Status.FULFILLED: set(),
        Status.CANCELLED: set(),
    }

    class Fulfilment(models.TextChoices):
        PICKUP = "pickup", "Pickup in store"
        DELIVERY = "delivery", "Delivery"
        TILL = "till", "Sold at the till"

    number = models.CharField(max_length=16, unique=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLACED)
    fulfilment = models.CharField(max_length=10, choices=Fulfilment.choices)
    pickup_store = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    ship_to_name = models.CharField(max_length=160, blank=True)
    ship_to_line1 = models.CharField(max_length=200, blank=True)
    ship_to_line2 = models.CharField(max_length=200, blank=True)
    ship_to_city = models.CharField(max_length=100, blank=True)
    ship_to_postcode = models.CharField(max_length=16, blank=True)
    ship_to_country = models.CharField(max_length=2, blank=True)
    currency = models.CharField(max_length=3)
    subtotal_amount = models.DecimalField(**MONEY)
    discount_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    delivery_method = models.ForeignKey(DeliveryMethod, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+")
    delivery_amount = models.DecimalField(**MONEY, default=Decimal("0"), help_text="Tax-inclusive.")
    delivery_tax_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    delivery_tax_rate = models.DecimalField("delivery tax rate (%)", max_digits=5, decimal_places=2,
                                            default=Decimal("0"))
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0"),
                                     help_text="All the tax in the total: the lines' and the delivery's.")
    tax_country = models.CharField(max_length=2, blank=True, help_text="Whose rates applied.")
    total_amount = models.DecimalField(**MONEY, help_text="Goods less discount plus delivery; tax included.")
    voucher = models.ForeignKey(Voucher, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    placed_at = models.DateTimeField(default=timezone.now)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", help_text="The member of staff, for till sales.")
    ship_to_latitude = models.FloatField(null=True, blank=True, help_text="Where the address is, for routing.")
    ship_to_longitude = models.FloatField(null=True, blank=True)
    routing = models.JSONField(default=dict, blank=True, help_text=(
        "How the order was routed: {\"rule\": the rule that decided it, \"said\": the decision in words, "
        "\"locations\": codes}."))
    collect_from = models.DateField(null=True, blank=True, help_text=(
        "Pickup: the first day it can be collected, as promised at checkout (later when another location sends "
        "some of it to the store)."))
    collect_window = models.ForeignKey(
        "inventory.CollectionWindow", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The collection window the shopper booked. A window someone booked cannot be deleted (the "
                  "store's page says which orders): change its capacity or times instead.")
    collect_on = models.DateField(null=True, blank=True, help_text="The day of the booked collection window.")
    collector_name = models.CharField(max_length=120, blank=True, help_text=(
        "Someone else collects: their name, shown at the counter (the pickup code still decides)."))
    review_requested_at = models.DateTimeField(null=True, blank=True)
    attribution = models.JSONField(default=dict, blank=True, help_text=(
        "Where the shopper came from, frozen at checkout: {\"first\": …, \"last\": …}, each with source, medium, "
        "campaign, referrer, landing page, channel and when."))

    class Meta:
        ordering = ["-placed_at"]
        permissions = [("sell_at_till", "Can sell at the till")]
        indexes = [models.Index(fields=["customer", "-placed_at"], name="order_history"),
                   models.Index(fields=["collect_window", "collect_on"], name="order_collect_window_booked"),
                   models.Index(fields=["phone"], name="order_phone"),
                   models.Index(Upper("email"), name="order_email_any_case")]
        constraints = [
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(condition=~Q(fulfilment="pickup") | Q(pickup_store__isnull=False),
                                   name="order_pickup_has_store"),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    def can_transition_to(self, new: str) -> bool:
        return new in self.TRANSITIONS[self.status]


class RoutingPolicy(models.Model):
    """How delivery orders are routed, set by operations: an ordered list of rules and a split limit. The first
    policy is the one in force (the admin keeps one); with none, the defaults below apply."""

    split_limit = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1)],
        help_text="Most locations one delivery order is sent from, re-routes included (1 = never split).")

    class Meta:
        verbose_name = "routing policy"
        verbose_name_plural = "routing policy"

    def __str__(self) -> str:
        return "Routing policy"


class RoutingRule(models.Model):
    class Rule(models.TextChoices):
        SKIP_AT_CAPACITY = "skip_at_capacity", "Skip locations at capacity or not working today"
        DESTINATION_COUNTRY = "destination_country", "Keep in the destination country"
        FEWEST_PARCELS = "fewest_parcels", "Fewest parcels"
        NEAREST = "nearest", "Nearest"
        LOCATION_RANK = "location_rank", "Location priority rank"

    policy = models.ForeignKey(RoutingPolicy, on_delete=models.CASCADE, related_name="rules")
    rule = models.CharField(max_length=24, choices=Rule.choices)
    position = models.PositiveSmallIntegerField(default=0, help_text="Rules apply in this order, lowest first.")

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["policy", "rule"], name="routing_rule_once_per_policy")]

    def __str__(self) -> str:
        return self.get_rule_display()


class CheckoutAttempt(models.Model):
    """Claims an Idempotency-Key before any stock or money moves, so a retried or doubled checkout
    returns the first one's order, and the same key with a different body is refused. A claim with no
    order past its lease was left by a request that died: the next request with the key takes it over."""

    key = models.CharField(max_length=100, unique=True)
    fingerprint = models.CharField(max_length=64)
    order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    payment_intent = models.CharField(max_length=64, blank=True, db_index=True,
                                      help_text="The card authorisation this attempt asked for, so a takeover voids it.")
    created_at = models.DateTimeField(default=timezone.now)
    # While the shopper's bank checks it is them (3-D Secure), what the order will be made of, kept until
    # authenticate_by (when the stock hold lapses): the browser, the app or Stripe's webhook finishes it.
    authenticate_by = models.DateTimeField(null=True, blank=True,
                                           help_text="Set while the card's bank checks the shopper (3-D Secure).")
    cart = models.ForeignKey("customers.Cart", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    choice = models.JSONField(default=dict, blank=True, help_text="The checkout choice, to record the order later.")

    def __str__(self) -> str:
        return f"Checkout {self.key}"


class OrderLine(models.Model):
    """A line as sold: SKU, name, options and unit price copied at the time of sale."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+",
                                 help_text="Where the units are committed and sent from.")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=250)
    options = models.JSONField(default=dict, blank=True)
    unit_price_amount = models.DecimalField(**MONEY)
    discount_amount = models.DecimalField(**MONEY, default=Decimal("0"), help_text="This line's share of vouchers.")
    tax_rate = models.DecimalField("tax rate (%)", max_digits=5, decimal_places=2, default=Decimal("0"))
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0"), help_text="The tax inside the line's total.")
    currency = models.CharField(max_length=3)
    quantity = models.PositiveIntegerField()
    quantity_cancelled = models.PositiveIntegerField(default=0)
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)
    in_transit = models.BooleanField(default=False, help_text=(
        "Ship-to-store: the units have left their location on a transfer to the pickup store and are promised "
        "nowhere until it arrives (a cancelled line's units then arrive as the store's own stock)."))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("quantity_cancelled") + F("quantity_fulfilled")),
                name="order_line_cancelled_and_fulfilled_within_quantity",
            ),
            models.CheckConstraint(condition=Q(quantity_fulfilled__gte=F("quantity_returned")),
                                   name="order_line_returned_within_fulfilled"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku}"

    @property
    def gross_amount(self) -> Decimal:
        """Before the line's share of vouchers: what the order's subtotal adds up."""
        return self.unit_price_amount * self.quantity

    @property
    def total_amount(self) -> Decimal:
        return self.gross_amount - self.discount_amount

    @property
    def quantity_open(self) -> int:
        return self.quantity - self.quantity_cancelled - self.quantity_fulfilled

    def amount_for(self, units: int) -> Decimal:
        """What `units` of this line cost after its discount share, rounded in the line's currency."""
        if units == self.quantity:
            return self.total_amount
        return round_money(self.total_amount * units / self.quantity, self.currency)

    def tax_for(self, units: int) -> Decimal:
        """The tax inside what `units` of this line cost (all of it for the whole line)."""
        if units == self.quantity:
            return self.tax_amount
        return round_money(self.tax_amount * units / self.quantity, self.currency)


class OrderEvent(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    note = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        """The change in words: "Placed → Fulfilled"."""
        labels = dict(Order.Status.choices)
        return f"{labels.get(self.from_status, self.from_status) or '—'} → {labels.get(self.to_status, self.to_status)}"


class VoucherRedemption(models.Model):
    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="redemption")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.voucher} on {self.order}"


class Payment(models.Model):
    class Method(models.TextChoices):
        CARD = "card", "Card (online)"
        PAY_AT_PICKUP = "pay_at_pickup", "Pay at pickup"
        CASH = "cash", "Cash at the till"
        CARD_PRESENT = "card_present", "Card at the till"

    class Status(models.TextChoices):
        PENDING = "pending", "To be paid at pickup"
        AUTHORISED = "authorised", "Authorised"
        CAPTURED = "captured", "Captured"
        VOIDED = "voided", "Voided"

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="payment")
    method = models.CharField(max_length=16, choices=Method.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    currency = models.CharField(max_length=3)
    authorised_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    captured_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    refunded_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    tendered_amount = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="Cash the customer handed over at the till; the rest is change."
    )
    stripe_payment_intent = models.CharField(max_length=64, null=True, blank=True, unique=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(captured_amount__lte=F("authorised_amount")) | Q(method="pay_at_pickup"),
                                   name="payment_captured_within_authorised"),
            models.CheckConstraint(condition=Q(refunded_amount__lte=F("captured_amount")),
                                   name="payment_refunded_within_captured"),
            models.CheckConstraint(
                condition=Q(tendered_amount__isnull=True) | Q(tendered_amount__gte=F("captured_amount")),
                name="payment_tendered_covers_captured",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} for {self.order.number} ({self.status})"

    @property
    def change_amount(self) -> Decimal | None:
        """The change given back for cash handed over at the till (None when nothing was tendered)."""
        return None if self.tendered_amount is None else self.tendered_amount - self.captured_amount


class Refund(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    tax_amount = models.DecimalField(**MONEY, default=Decimal("0"), help_text="The tax inside the amount.")
    delivery_amount = models.DecimalField(**MONEY, default=Decimal("0"), help_text="Delivery paid back, if any.")
    reason = models.CharField(max_length=200, blank=True)
    stripe_refund = models.CharField(max_length=64, blank=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Refund {self.amount} on {self.payment.order.number}"


class StrayAuthorisation(models.Model):
    """A card authorisation that belongs to no order (its checkout failed or was let go) and that Stripe
    would not void just then: voided by the sweep (payments_void_stray), so the shopper's money is not held
    for the week the bank would otherwise keep it."""

    payment_intent = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    tries = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"stray {self.payment_intent}"


class StripeEvent(models.Model):
    """A webhook event applied; its id is unique, so a redelivered event is applied at most once."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64)
    payment_intent = models.CharField(max_length=64, blank=True, db_index=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"
