"""Catalog records: Category (a tree), Product, Variant (SKU, barcode), Channel, Price, Range (what is
sold where and when) and TaxRate. Inventory, customers and orders all point at Variant; nothing here
knows about stock. Price and Range may name stores: they refer to "inventory.Location" by string,
so the schema points up but no catalog code imports inventory.
"""
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Category(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["name"]

    def __str__(self) -> str:
        return " › ".join(c.name for c in self.ancestors_and_self())

    def ancestors_and_self(self) -> list["Category"]:
        chain, node, seen = [], self, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            chain.append(node)
            node = node.parent
        return list(reversed(chain))


class ProductQuerySet(models.QuerySet):
    def active(self) -> "ProductQuerySet":
        return self.filter(is_active=True)


class TaxClass(models.TextChoices):
    STANDARD = "standard", "Standard rate"
    REDUCED = "reduced", "Reduced rate"
    ZERO = "zero", "Zero rate"


class Product(models.Model):
    """Something the shop sells, in one or more variants. On PostgreSQL the table also has `search_document`, a
    tsvector the database keeps (triggers from migration 0009, whatever writes the rows: the admin, imports by COPY,
    bulk loads) and catalog.search reads; it is not a field, so no query loads it and no stale instance saves it."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=120, blank=True, db_index=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    tax_class = models.CharField(max_length=16, choices=TaxClass.choices, default=TaxClass.STANDARD)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    units_sold_30d = models.PositiveIntegerField(
        "units sold in the last 30 days", default=0, editable=False,
        help_text="Popularity: refreshed hourly from the orders (orders.popularity), not counting cancelled units.",
    )

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(F("units_sold_30d").desc(), "name", name="product_popular")]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField("SKU", max_length=64, unique=True)
    barcode = models.CharField(
        "barcode (GTIN)", max_length=14, unique=True, null=True, blank=True, help_text="EAN-13, UPC-A or GTIN-14."
    )
    options = models.JSONField(default=dict, blank=True, help_text='Option values, e.g. {"size": "M", "colour": "Navy"}.')
    weight_grams = models.PositiveIntegerField(default=0, help_text="Shipping weight of one unit, packed.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} · {self.name}"

    @property
    def name(self) -> str:
        values = " / ".join(str(v) for v in self.options.values())
        return f"{self.product.name} ({values})" if values else self.product.name

    def save(self, *args, **kwargs) -> None:
        self.barcode = self.barcode or None  # blank barcodes must not collide on the unique index
        super().save(*args, **kwargs)


class Channel(models.Model):
    """Where a sale happens. Online channels keep each location's safety stock back for walk-in shoppers."""

    WEB, MOBILE, TILL = "web", "mobile", "till"

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    is_online = models.BooleanField(
        default=True, help_text="Online channels see available stock minus safety stock; the till sees it all."
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PriceQuerySet(models.QuerySet):
    def valid_at(self, moment) -> "PriceQuerySet":
        return self.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=moment)).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gt=moment)
        )

    def overlapping(self, *, variant_id, channel_id, location_id, valid_from, valid_until) -> "PriceQuerySet":
        """Prices of the same variant, channel and store whose window [from, until) meets this one
        (an empty end is open). Windows are half-open, so one may start the moment another ends."""
        found = self.filter(variant_id=variant_id, channel_id=channel_id, location_id=location_id)
        if valid_until is not None:
            found = found.filter(Q(valid_from__isnull=True) | Q(valid_from__lt=valid_until))
        if valid_from is not None:
            found = found.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=valid_from))
        return found


class Price(models.Model):
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="prices")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="prices")
    location = models.ForeignKey(
        "inventory.Location", null=True, blank=True, on_delete=models.CASCADE, related_name="prices",
        help_text="Leave empty for the channel's price; a store's price overrides it for sales at that store.",
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    currency = models.CharField(max_length=3, default="GBP")
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    objects = PriceQuerySet.as_manager()

    class Meta:
        ordering = ["variant", "channel", "-valid_from"]
        indexes = [models.Index(fields=["variant", "channel", "valid_from"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="price_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True) | Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="price_window_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} on {self.channel.code}: {self.amount} {self.currency}"

    def window_label(self) -> str:
        start = self.valid_from.strftime("%d %b %Y %H:%M") if self.valid_from else "always"
        end = self.valid_until.strftime("%d %b %Y %H:%M") if self.valid_until else "further notice"
        return f"{start} until {end}"

    def clean(self) -> None:
        """Refuse a window that overlaps another price of the variant on the channel (and store): the
        price on any date must be unambiguous. PostgreSQL enforces the same with an exclusion constraint."""
        super().clean()
        if not (self.variant_id and self.channel_id):
            return
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "The price must end after it starts."})
        clash = (
            Price.objects.overlapping(variant_id=self.variant_id, channel_id=self.channel_id,
                                      location_id=self.location_id, valid_from=self.valid_from,
                                      valid_until=self.valid_until)
            .exclude(pk=self.pk).order_by(models.F("valid_from").asc(nulls_first=True)).first()
        )
        if clash is not None:
            where = f" at {self.location}" if self.location_id else ""
            raise ValidationError(
                f"{self.variant.sku} already has a {self.channel.name} price{where} of {clash.amount} "
                f"{clash.currency} from {clash.window_label()}; price windows may not overlap. "
                "End that price before this one starts, or change this one's dates."
            )


class ProductPriceFrom(models.Model):
    """A product's lowest price on a channel (its "from £…"), as catalog.selectors.product_list would list it, kept
    so a search can be put in price order without working out every match's price. PostgreSQL only, and only the
    database writes it: the periodic job fills it (catalog.services.prices_from_refresh); a change to a price, a
    variant or a range forgets what it touched (triggers from migration 0009). A row is used only from `fresh_from`
    until `fresh_until` (the next start or end of one of its prices or of a range); otherwise the price is worked out."""

    LOCK = 9009  # the advisory lock key of migration 0009's triggers (catalog.services.prices_from_refresh)

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, help_text="None: nothing sold there.")
    fresh_from = models.DateTimeField()
    fresh_until = models.DateTimeField(null=True, help_text="Empty: until a price, variant or range changes.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["product", "channel"], name="one_price_from_per_channel")]

    def __str__(self) -> str:
        return f"{self.product_id} on {self.channel_id}: from {self.amount}"


class RangeQuerySet(models.QuerySet):
    def active_at(self, moment) -> "RangeQuerySet":
        return self.filter(starts_at__lte=moment).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=moment))


class Range(models.Model):
    """An assortment: a named set of variants sold on some channels and/or at some stores for a while.
    A variant is sold on a channel only while an active range holds it for that channel."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    whole_catalog = models.BooleanField(
        default=False, help_text="Holds every variant, present and future, instead of a chosen list."
    )
    variants = models.ManyToManyField(Variant, blank=True, related_name="ranges")
    channels = models.ManyToManyField(
        Channel, blank=True, related_name="ranges", help_text="Leave empty for every channel."
    )
    locations = models.ManyToManyField(
        "inventory.Location", blank=True, related_name="ranges", help_text="Leave empty for every store."
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Leave empty to run until further notice.")

    objects = RangeQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="range_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TaxRate(models.Model):
    """The rate of a tax class in a country (percent). Prices are stored tax-inclusive."""

    tax_class = models.CharField(max_length=16, choices=TaxClass.choices)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. GB.")
    rate = models.DecimalField(
        "rate (%)", max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["country", "tax_class"]
        constraints = [
            models.UniqueConstraint(fields=["tax_class", "country"], name="one_tax_rate_per_class_and_country"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lt=100), name="tax_rate_is_a_percentage"),
        ]

    def __str__(self) -> str:
        return f"{self.get_tax_class_display()} in {self.country}: {self.rate}%"


class ProductImage(models.Model):
    """A picture of a product, in the product's order; tied to a colour it is shown when that colour is chosen.
    The original and its renditions are named by a hash of the original's bytes (catalog/images.py), so they
    never change under a name and are cached for ever; catalog.services writes and deletes them."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    # Width and height are set by the service from the decoded picture; ImageField's width_field would re-read
    # the file from storage whenever a row without them is loaded.
    image = models.ImageField(upload_to="products/", max_length=200)
    position = models.PositiveSmallIntegerField(default=0, help_text="Pictures are shown lowest first.")
    alt = models.CharField(
        "alt text", max_length=200, blank=True,
        help_text="What the picture shows, for people who cannot see it; empty uses the product's name.",
    )
    colour = models.CharField(
        max_length=60, blank=True,
        help_text='The variants\' colour this picture shows (e.g. "Navy"); empty for any colour.',
    )
    width = models.PositiveIntegerField(default=0, editable=False)
    height = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["product", "position", "id"])]

    def __str__(self) -> str:
        return f"{self.product.name}: picture of {self.colour or 'any colour'}"

    @property
    def alt_text(self) -> str:
        return self.alt or self.product.name

    def shows_colour(self, colour: str | None) -> bool:
        return bool(colour) and self.colour.casefold() == str(colour).casefold()
