"""Fulfilments (one per order and sending location: ship, or pickup with a code) with their status
history, and returns of any order received at any location."""
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inventory.models import Location, Transfer
from inventory.selectors import locations_for_staff
from orders.models import Order, OrderLine, Refund

OPEN_PICKUP_STATUSES = ("new", "picking", "ready_for_pickup")


class FulfillmentQuerySet(models.QuerySet):
    def for_staff(self, user) -> "FulfillmentQuerySet":
        """Only the fulfilments of the locations the user works with (inventory.selectors.locations_for_staff)."""
        return self.filter(location__in=locations_for_staff(user))

    def queue(self) -> "FulfillmentQuerySet":
        """Still to do, oldest promise first."""
        return self.exclude(status__in=Fulfillment.DONE).order_by("order__placed_at", "id")


class Fulfillment(models.Model):
    class Method(models.TextChoices):
        SHIP = "ship", "Ship"
        PICKUP = "pickup", "Pickup in store"

    class Status(models.TextChoices):
        NEW = "new", "New"
        PICKING = "picking", "Picking"
        PACKED = "packed", "Packed"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        READY = "ready_for_pickup", "Ready for pickup"
        COLLECTED = "collected", "Collected"
        EXPIRED = "expired", "Not collected in time"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS = {
        Method.SHIP: {
            Status.NEW: {Status.PICKING, Status.CANCELLED},
            Status.PICKING: {Status.PACKED, Status.CANCELLED},
            Status.PACKED: {Status.SHIPPED, Status.CANCELLED},
            Status.SHIPPED: {Status.DELIVERED},
        },
        Method.PICKUP: {
            Status.NEW: {Status.PICKING, Status.CANCELLED},
            Status.PICKING: {Status.READY, Status.CANCELLED},
            Status.READY: {Status.COLLECTED, Status.EXPIRED, Status.CANCELLED},
        },
    }
    DONE = (Status.SHIPPED, Status.DELIVERED, Status.COLLECTED, Status.EXPIRED, Status.CANCELLED)

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fulfillments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="fulfillments")
    method = models.CharField(max_length=8, choices=Method.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    created_at = models.DateTimeField(default=timezone.now)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=64, blank=True)
    tracking_url = models.URLField(blank=True)
    parcels = models.PositiveSmallIntegerField(default=0)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    pickup_code = models.CharField(max_length=8, blank=True, db_index=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    transfers = models.ManyToManyField(Transfer, blank=True, related_name="+", help_text=(
        "Ship-to-store: the transfers bringing units of this pickup from other locations; it is ready when all "
        "are received."))
    picked_at = models.DateTimeField(null=True, blank=True, help_text=(
        "Ship-to-store: when staff had picked what the store holds, while transfers were still on their way."))
    shelf = models.CharField(max_length=20, blank=True, help_text=(
        "Where the ready order waits in the store (a shelf or bin), so whoever brings it out finds it."))
    arrived_at = models.DateTimeField(null=True, blank=True, help_text="When the shopper said \"I'm here\".")
    arrival_bay = models.CharField(max_length=20, blank=True, help_text="Where they wait: a bay number.")
    arrival_note = models.CharField(max_length=120, blank=True, help_text="Their car, or how to find them.")

    objects = FulfillmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "fulfilment"  # the code's one spelling is fulfillment; staff read British English
        permissions = [("use_scan_station", "Can use the scan station and pick lists (/scan/)")]
        constraints = [
            models.UniqueConstraint(fields=["order", "location"], name="fulfillment_one_per_order_and_location"),
            models.UniqueConstraint(fields=["pickup_code"], condition=Q(status__in=OPEN_PICKUP_STATUSES) & ~Q(pickup_code=""),
                                    name="fulfillment_pickup_code_unique_while_open"),
        ]
        indexes = [models.Index(fields=["location", "status"], name="fulfillment_store_queue"),
                   models.Index(fields=["status", "expires_at"], name="fulfillment_expiry_scan"),
                   models.Index(fields=["method", "created_at"], name="fulfillment_ship_day"),
                   models.Index(fields=["location", "arrived_at"], name="fulfillment_arrivals")]

    def __str__(self) -> str:
        return f"{self.order.number} from {self.location.code} ({self.get_status_display()})"

    def can_transition_to(self, new: str) -> bool:
        return new in self.TRANSITIONS[self.method].get(self.status, set())


class FulfillmentLine(models.Model):
    fulfillment = models.ForeignKey(Fulfillment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="fulfillment_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.sku}"


class FulfillmentEvent(models.Model):
    fulfillment = models.ForeignKey(Fulfillment, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        """The change in words: "Picking → Ready for pickup"."""
        labels = dict(Fulfillment.Status.choices)
        return f"{labels.get(self.from_status, self.from_status) or '—'} → {labels.get(self.to_status, self.to_status)}"


class Return(models.Model):
    """Items of one order coming back, from any channel, received at any location that takes returns."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        RECEIVED = "received", "Received and refunded"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    code = models.CharField(max_length=10, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="returns",
                                 help_text="Where it was received.")
    refund = models.OneToOneField(Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    refund_method = models.CharField(max_length=16, blank=True, help_text="card, cash or store credit.")
    refund_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                        help_text="Goods (after their discount share) and, if it completes the "
                                                  "return of the whole order, the delivery.")
    refund_tax_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0,
                                            help_text="The tax inside the refund.")
    refund_delivery_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0,
                                                 help_text="The delivery charge inside the refund.")
    created_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True,
                                       help_text="The returns desk form's key: the same form sent twice receives "
                                                 "the return once.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Return {self.code} for {self.order.number}"


class ReturnLine(models.Model):
    class Condition(models.TextChoices):
        RESELLABLE = "resellable", "Resellable"
        DAMAGED = "damaged", "Damaged"

    return_request = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=200, blank=True)
    condition = models.CharField(max_length=12, choices=Condition.choices, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.sku}"


class LineProblem(models.Model):
    """Staff could not send units of a line from their location: why, what the ledger was told, and where the
    units went instead (another location, the shopper's choice, or cancelled and refunded)."""

    class Reason(models.TextChoices):
        NOT_FOUND = "not_found", "Not found"
        DAMAGED = "damaged", "Damaged"
        WRONG_ITEM = "wrong_item", "Wrong item or size"
        WORN_DISPLAY = "worn_display", "Worn display"

    class Outcome(models.TextChoices):
        REROUTED = "rerouted", "Sent from another location"
        AWAITING_CHOICE = "awaiting_choice", "Waiting for the shopper's choice"
        COLLECT_ELSEWHERE = "collect_elsewhere", "To collect at another store"
        DELIVER = "deliver", "To be delivered instead"
        DROPPED = "dropped", "Dropped and refunded"
        CANCELLED = "cancelled", "Cancelled: nowhere has it"

    fulfillment = models.ForeignKey(Fulfillment, on_delete=models.PROTECT, related_name="problems")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="problems",
                                   help_text="The line of the units that could not be sent (split off if only some).")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    quantity = models.PositiveIntegerField()
    on_shelf = models.PositiveIntegerField(null=True, blank=True,
                                           help_text="Not found: how many staff said were left on the shelf.")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    sent_from = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                  help_text="Where the units are sent or collected from instead.")
    choose_by = models.DateTimeField(null=True, blank=True,
                                     help_text="Pickup: when the default (drop and refund) applies if the shopper "
                                               "has not chosen.")
    settled = models.BooleanField(default=True, help_text="False until a drop's cancellation and refund are done.")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["outcome", "choose_by"], name="line_problem_choice_due"),
                   models.Index(fields=["created_at"], name="line_problem_by_day")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="line_problem_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line.sku} {self.get_reason_display().lower()}"
