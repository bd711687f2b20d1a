"""Inventory records. StockLevel holds the buckets of one (location, variant); StockMovement is
the append-only ledger whose sums equal them (StockDiscrepancy: its corrections a store manager looks
into). Only inventory.services writes either.
"""
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Variant

BUCKETS = ("on_hand", "committed", "reserved", "unavailable", "incoming")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order


class WriteThroughServicesOnly(RuntimeError):
    """Raised when code outside inventory.services tries to save or delete stock rows."""


class LocationQuerySet(models.QuerySet):
    def active(self) -> "LocationQuerySet":
        return self.filter(is_active=True)

    def stores(self) -> "LocationQuerySet":
        return self.filter(kind=Location.Kind.STORE)


class Location(models.Model):
    class Kind(models.TextChoices):
        STORE = "store", "Store"
        WAREHOUSE = "warehouse", "Warehouse"

    code = models.SlugField(max_length=32, unique=True, help_text="Short code staff use, e.g. LDN-OXF.")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STORE)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, default="GB", help_text="ISO 3166-1 alpha-2.")
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    opening_hours = models.JSONField(
        default=dict, blank=True, help_text='Per weekday, e.g. {"mon": "09:00-18:00", "sun": "closed"}.'
    )
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    sells_in_store = models.BooleanField(default=True)
    ships_orders = models.BooleanField(default=False)
    offers_pickup = models.BooleanField(default=False)
    accepts_returns = models.BooleanField(default=True)
    pickup_hold_days = models.PositiveSmallIntegerField(
        default=7, help_text="Days a ready pickup order is kept before it is cancelled and restocked."
    )
    daily_ship_capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Ship-from-here orders it can take a day; when reached, new delivery orders "
                                         "go elsewhere (pickup and the till go on). Empty for no limit.")
    ship_days = models.JSONField(
        default=list, blank=True, help_text='Weekdays it sends orders, e.g. ["mon", "tue", "wed", "thu", "fri"]; '
                                            "on other days new delivery orders go elsewhere. Empty for every day.")
    routing_rank = models.PositiveSmallIntegerField(
        default=100, help_text="Where the location priority rule puts it: lower goes first.")
    transfer_lead_days = models.PositiveSmallIntegerField(
        default=1, validators=[MaxValueValidator(30)],
        help_text="Working days it takes to pick and send out a transfer to a store (ship-to-store): with the "
                  "transit days by distance, when a shopper can collect what it sends.")
    is_active = models.BooleanField(default=True)
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="stores", help_text="Staff who work here (till, pickups)."
    )

    objects = LocationQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        permissions = [
            ("all_locations", "Can work with every location (head office), not only the stores they staff"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(latitude__gte=-90, latitude__lte=90), name="location_latitude_range"),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180, longitude__lte=180), name="location_longitude_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def clean(self) -> None:
        super().clean()
        if not isinstance(self.ship_days, list) or any(day not in WEEKDAYS for day in self.ship_days):
            raise ValidationError({"ship_days": f"List weekdays from {', '.join(WEEKDAYS)}, or leave it empty."})

    def ships_on(self, day) -> bool:
        """Whether it sends orders on `day` (a date)."""
        return not self.ship_days or WEEKDAYS[day.weekday()] in self.ship_days

    def hours_on(self, day) -> tuple[time, time] | None:
        """(opens, closes) on `day` (a date), or None when closed. With no hours set it is open every day
        (a warehouse). Hours read "09:00-18:00"; anything else counts as closed."""
        if not self.opening_hours:
            return time(0, 0), time(23, 59)
        hours = str(self.opening_hours.get(WEEKDAYS[day.weekday()], "closed"))
        try:
            opens, closes = (time.fromisoformat(part.strip()) for part in hours.replace("–", "-").split("-"))
        except ValueError:
            return None
        return (opens, closes) if opens < closes else None

    def open_on(self, day) -> bool:
        return self.hours_on(day) is not None


class StockLevel(models.Model):
    """The buckets of one variant at one location. available = on_hand − committed − reserved − unavailable.

    The foreign keys carry no index of their own: the unique (location, variant) and the (variant, location)
    indexes serve lookups by either, and a lone location index lured the planner into reading every row of
    the ~200 shipping locations for a product page's delivery stock (bench/availability.py: 67 → 34 ms)."""

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels", db_index=False)
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="stock_levels", db_index=False)
    on_hand = models.IntegerField(default=0)
    committed = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    unavailable = models.IntegerField(default=0)
    incoming = models.IntegerField(default=0)
    safety_stock = models.IntegerField(
        default=0, help_text="Units kept back from online channels for walk-in shoppers. A setting, not units."
    )
    reorder_point = models.IntegerField(
        default=0, help_text="Alert the store when available stock falls to this. A setting; 0 = no alerts."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "variant"], name="stocklevel_one_row_per_pair"),
            *(
                models.CheckConstraint(condition=Q(**{f"{bucket}__gte": 0}), name=f"stocklevel_{bucket}_not_negative")
                for bucket in (*BUCKETS, "safety_stock", "reorder_point")
            ),
            models.CheckConstraint(
                condition=Q(on_hand__gte=F("committed") + F("reserved") + F("unavailable")),
                name="stocklevel_promises_within_on_hand",
            ),
        ]
        indexes = [models.Index(fields=["variant", "location"], name="stocklevel_by_variant")]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}"

    @property
    def available(self) -> int:
        return self.on_hand - self.committed - self.reserved - self.unavailable

    @property
    def available_online(self) -> int:
        return max(self.available - self.safety_stock, 0)

    def save(self, *args, **kwargs):
        raise WriteThroughServicesOnly("StockLevel changes go through inventory.services.")

    def delete(self, *args, **kwargs):
        raise WriteThroughServicesOnly("StockLevel changes go through inventory.services.")


class SellableOnline(models.Model):
    """What a product page offers for delivery: per variant, the sum over active locations that ship orders of
    max(available − safety stock, 0), kept as the sum of a few stripes so that concurrent sales of one popular
    variant seldom wait for each other. A product page of 50 sums a few rows per variant instead of reading
    every shipping location's stock rows (bench/availability.py).

    Kept by the database, from the writes inventory.services makes (migration 0008): a trigger on
    inventory_stocklevel adds the change of a row's clamped amount, when it changes at an active shipping
    location, to the stripe of the connection making it (PostgreSQL: deferred to commit, so the stripe is locked
    only while its transaction commits; bench/sellable_online.py); a trigger on inventory_location recomputes
    the variants a location stocks when it starts or stops shipping or is (de)activated. Change a location's
    flags in a transaction of their own, never in one that also changes stock. verify_ledger checks every
    variant's sum against the stock."""

    STRIPES = 8  # the trigger's mod(pg_backend_pid(), 8): 16 gained 0.03 in bench/sellable_online.py, but doubles
    # the rows a product page reads. SQLite, one writer at a time: stripe 0.

    pk = models.CompositePrimaryKey("variant", "stripe")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+", db_index=False)
    stripe = models.SmallIntegerField()
    units = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "units sellable online"
        verbose_name_plural = "units sellable online"

    def __str__(self) -> str:
        return f"{self.variant_id}/{self.stripe}: {self.units}"

    def save(self, *args, **kwargs):
        raise WriteThroughServicesOnly("SellableOnline is kept by the database from stock changes.")


_PENDING = "sellable_online_pending"  # an attribute of the (per-thread) database connection
_COUNTER_TRIGGERS = "inventory_sellable_online, inventory_sellable_online_insert, inventory_sellable_online_delete"


def sellable_online_pending() -> None:
    """inventory.services, having changed stock rows: on PostgreSQL their effect on SellableOnline waits for
    the transaction to commit, so a read before then (sellable_online_current) brings it forward. Forgotten
    when the transaction commits (after a rollback it costs the next read one harmless statement)."""
    if connection.in_atomic_block and not getattr(connection, _PENDING, False):
        setattr(connection, _PENDING, True)
        transaction.on_commit(lambda: setattr(connection, _PENDING, False))


def sellable_online_current() -> None:
    """Before SellableOnline is read: inside a transaction that has changed stock (on PostgreSQL), fire the
    deferred triggers now, so it reads what the transaction wrote. Costs nothing otherwise."""
    if getattr(connection, _PENDING, False) and connection.in_atomic_block and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET CONSTRAINTS {_COUNTER_TRIGGERS} IMMEDIATE")  # for the rest of the transaction
        setattr(connection, _PENDING, False)


class StockMovement(models.Model):
    """One change of one (location, variant): a delta per bucket, why, what caused it, who, when."""

    class Reason(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        SALE = "sale", "Sale at the till"
        RESERVATION = "reservation", "Reservation"
        RESERVATION_RELEASE = "reservation_release", "Reservation released"
        COMMIT = "commit", "Committed to an order"
        COMMIT_RELEASE = "commit_release", "Order cancelled"
        SHIPMENT = "shipment", "Shipped"
        PICKUP = "pickup", "Collected"
        RETURN_RESTOCK = "return_restock", "Return restocked"
        DAMAGE = "damage", "Damaged or quarantined"
        ADJUSTMENT = "adjustment", "Adjustment"
        COUNT = "count", "Stock count"
        TRANSFER_OUT = "transfer_out", "Transfer out"
        TRANSFER_IN = "transfer_in", "Transfer in"
        FOUND_AT_TILL = "found_at_till", "Found at the till"
        NOT_FOUND = "not_found", "Not found when picking"

    # No index of its own: movement_pair_history (location, variant, created_at) serves lookups by location.
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="movements", db_index=False)
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="movements")
    reason = models.CharField(max_length=24, choices=Reason.choices)
    on_hand_delta = models.IntegerField(default=0)
    committed_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    unavailable_delta = models.IntegerField(default=0)
    incoming_delta = models.IntegerField(default=0)
    reference = models.CharField(
        max_length=64, blank=True, help_text="What caused it, e.g. reservation:42, order:R1001, transfer:7."
    )
    note = models.CharField(max_length=200, blank=True)
    # No index: every stock change writes a movement, and only deleting a user reads them by actor.
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["location", "variant", "created_at"], name="movement_pair_history")]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key", "location", "variant"],
                condition=Q(idempotency_key__isnull=False),
                name="movement_idempotency_key_once_per_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.variant_id}@{self.location_id}"

    def save(self, *args, **kwargs):
        raise WriteThroughServicesOnly("The stock ledger is written by inventory.services only.")

    def delete(self, *args, **kwargs):
        raise WriteThroughServicesOnly("The stock ledger is append-only.")


class StockDiscrepancyManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(reason__in=StockDiscrepancy.REASONS)


class StockDiscrepancy(StockMovement):
    """The movements that say the ledger was wrong about what a store had, found out in the course of
    business rather than by a count: what a store manager looks into. Another such reason joins REASONS."""

    REASONS = (StockMovement.Reason.FOUND_AT_TILL, StockMovement.Reason.NOT_FOUND)

    objects = StockDiscrepancyManager()

    class Meta:
        proxy = True
        verbose_name = "stock discrepancy"
        verbose_name_plural = "stock discrepancies"


class ReservationQuerySet(models.QuerySet):
    def expired(self, now=None) -> "ReservationQuerySet":
        return self.filter(status=Reservation.Status.ACTIVE, expires_at__lte=now or timezone.now())


class Reservation(models.Model):
    """A hold on units for a checkout in progress. It lapses at expires_at unless committed first."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMMITTED = "committed", "Committed to an order"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"

    TRANSITIONS = {
        Status.ACTIVE: {Status.COMMITTED, Status.RELEASED, Status.EXPIRED},
        Status.COMMITTED: set(),
        Status.RELEASED: set(),
        Status.EXPIRED: set(),
    }

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Neither foreign key has an index: every checkout writes a hold, and nothing reads holds by channel or
    # by who made them but a rare delete (bench/stock_reserve.py).
    channel = models.ForeignKey("catalog.Channel", on_delete=models.PROTECT, related_name="+", db_index=False)
    reference = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_index=False)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)

    objects = ReservationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="reservation_expiry_scan")]
        # A constraint, not unique=True, which on PostgreSQL also builds a LIKE index that nothing reads and every
        # hold wrote to (bench/stock_reserve.py)
        constraints = [models.UniqueConstraint(fields=["idempotency_key"], name="reservation_idempotency_key_once")]

    def __str__(self) -> str:
        return f"Reservation {self.pk} ({self.status})"

    def can_transition_to(self, new: str) -> bool:
        return new in self.TRANSITIONS[self.status]


class ReservationLine(models.Model):
    """The foreign keys carry no index of their own: the unique (reservation, location, variant) finds a hold's
    lines, and nothing else reads lines by location or variant but a rare delete (bench/stock_reserve.py)."""

    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines", db_index=False)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+", db_index=False)
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+", db_index=False)
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reservation", "location", "variant"], name="reservation_line_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}@{self.location_id}"


class Transfer(models.Model):
    """Stock moved between locations: draft → shipped (incoming at the destination) → received."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SHIPPED = "shipped", "Shipped"
        RECEIVED = "received", "Received"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS = {
        Status.DRAFT: {Status.SHIPPED, Status.CANCELLED},
        Status.SHIPPED: {Status.RECEIVED},
        Status.RECEIVED: set(),
        Status.CANCELLED: set(),
    }

    source = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_out")
    destination = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, editable=False)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    shipped_at = models.DateTimeField(null=True, blank=True, editable=False)
    received_at = models.DateTimeField(null=True, blank=True, editable=False)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(source=F("destination")), name="transfer_between_two_locations"),
        ]

    def __str__(self) -> str:
        return f"Transfer T{self.pk}: {self.source.code} → {self.destination.code} ({self.get_status_display().lower()})"

    def can_transition_to(self, new: str) -> bool:
        return new in self.TRANSITIONS[self.status]


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    received_quantity = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transfer", "variant"], name="transfer_line_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant}"


class CollectionWindow(models.Model):
    """A weekly window in which a store hands over collection orders, with how many orders it takes in each;
    a shopper books one for a date at checkout (orders.Order.collect_window), never beyond its capacity."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="collection_windows")
    weekday = models.CharField(max_length=3, choices=[(day, day.title()) for day in WEEKDAYS])
    starts = models.TimeField()
    ends = models.TimeField()
    capacity = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(1)],
                                                help_text="Orders it can hand over in this window.")

    class Meta:
        ordering = ["location", "weekday", "starts"]
        constraints = [
            models.UniqueConstraint(fields=["location", "weekday", "starts"], name="collection_window_once"),
            models.CheckConstraint(condition=Q(starts__lt=F("ends")), name="collection_window_starts_before_end"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="collection_window_capacity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"


class StockCount(models.Model):
    """A count session at one location; completing it books counted − on hand as a count movement."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS = {
        Status.OPEN: {Status.COMPLETED, Status.CANCELLED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
    }

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="counts")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, editable=False)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Count {self.pk} at {self.location.code} ({self.status})"

    def can_transition_to(self, new: str) -> bool:
        return new in self.TRANSITIONS[self.status]


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    counted_quantity = models.PositiveIntegerField()
    expected_quantity = models.IntegerField(
        null=True, blank=True, editable=False, help_text="On hand when the count was booked."
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["count", "variant"], name="count_line_once")]

    def __str__(self) -> str:
        return f"{self.variant}: {self.counted_quantity}"

    @property
    def difference(self) -> int | None:
        return None if self.expected_quantity is None else self.counted_quantity - self.expected_quantity


class LowStockAlert(models.Model):
    """One low-stock alert per (store, variant) per day: the record that keeps the alert job from repeating
    itself (inventory.alerts)."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    available = models.IntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["location", "variant", "day"], name="stock_alert_once_a_day")]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id} on {self.day}"
