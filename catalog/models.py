"""Catalog records: Category (a tree), Product, Variant (SKU, barcode), Channel and Price.

Inventory, customers and orders all point at Variant; nothing here knows about stock.
"""
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
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


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=120, blank=True, db_index=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField("SKU", max_length=64, unique=True)
    barcode = models.CharField(
        "barcode (GTIN)", max_length=14, unique=True, null=True, blank=True, help_text="EAN-13, UPC-A or GTIN-14."
    )
    options = models.JSONField(default=dict, blank=True, help_text='Option values, e.g. {"size": "M", "colour": "Navy"}.')
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


class Price(models.Model):
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="prices")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="prices")
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
