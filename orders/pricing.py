"""What the shopper will pay, worked out once and the same way on the web, in the app and at the till:
lines, voucher discount, delivery, tax and total.

Rules (documented in the README, tested in tests/orders/test_pricing.py):
- Prices are stored and shown tax-inclusive. The tax inside an amount is gross × rate / (100 + rate).
- Rates come from catalog.TaxRate by the product's tax class and the tax country: the pickup store's
  country for a pickup, the destination's for a delivery, the store's for a till sale. A class with no
  rate in that country is taxed at 0%.
- A voucher's discount is spread over the lines in proportion to their totals (money.shares); each
  line's tax is worked out on what the line costs after its share and rounded half up to the currency's
  smallest unit (a penny, a whole yen), per line, never on the order as a whole. So three lines at 0.33
  at 20% each carry 0.06 of tax (0.18), where 0.99 on one line carries 0.17.
- Delivery is taxed at the destination's standard rate, and is free when the goods after discount reach
  the rate's free-delivery threshold. A 100% voucher makes the goods free and their tax 0; delivery is
  still charged unless the threshold says otherwise.
- total = goods − discount + delivery; the tax is part of it, never added on top.
"""
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import TaxClass, TaxRate, Variant
from core.money import round_money, shares, tax_included
from core.reference import reference

from .models import DeliveryMethod, DeliveryRate


@dataclass(frozen=True)
class QuotedLine:
    variant: Variant
    quantity: int
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal
    tax: Decimal

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity - self.discount


@dataclass(frozen=True)
class DeliveryOption:
    method: DeliveryMethod
    amount: Decimal
    currency: str
    min_days: int
    max_days: int
    free_over: Decimal | None = None

    @property
    def arrives_between(self) -> tuple[date, date]:
        today = timezone.localdate()
        return today + timedelta(days=self.min_days), today + timedelta(days=self.max_days)


@dataclass(frozen=True)
class Quote:
    currency: str
    tax_country: str
    lines: list[QuotedLine]
    subtotal: Decimal
    discount: Decimal
    delivery: DeliveryOption | None = None
    delivery_amount: Decimal = Decimal("0")
    delivery_tax: Decimal = Decimal("0")
    delivery_tax_rate: Decimal = Decimal("0")
    options: list[DeliveryOption] = field(default_factory=list)

    @property
    def tax(self) -> Decimal:
        return sum((line.tax for line in self.lines), Decimal("0")) + self.delivery_tax

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount + self.delivery_amount


def tax_rates(country: str) -> dict[str, Decimal]:
    """The country's rate for every tax class (0 where none is set)."""
    every = reference(("tax rates",), lambda: {(c, tax_class): rate for c, tax_class, rate in
                                               TaxRate.objects.values_list("country", "tax_class", "rate")})
    return {tax_class: every.get((country.upper(), tax_class), Decimal("0")) for tax_class in TaxClass.values}


def quote(
    *, lines: Sequence[tuple[Variant, int, Decimal]], currency: str, tax_country: str,
    discount: Decimal = Decimal("0"), delivery: DeliveryOption | None = None, options=(),
) -> Quote:
    """Price lines of (variant with product, quantity, unit price) with a discount and a delivery choice."""
    rates = tax_rates(tax_country)
    line_totals = [price * quantity for _, quantity, price in lines]
    discount_each = shares(line_totals, discount, currency)
    quoted = []
    for (variant, quantity, price), share in zip(lines, discount_each, strict=True):
        rate = rates[variant.product.tax_class]
        quoted.append(QuotedLine(variant=variant, quantity=quantity, unit_price=price, discount=share, tax_rate=rate,
                                 tax=tax_included(price * quantity - share, rate, currency)))
    delivery_amount = delivery.amount if delivery else round_money(Decimal("0"), currency)
    return Quote(
        currency=currency, tax_country=tax_country.upper(), lines=quoted,
        subtotal=sum(line_totals, Decimal("0")), discount=discount, delivery=delivery,
        delivery_amount=delivery_amount,
        delivery_tax=tax_included(delivery_amount, rates[TaxClass.STANDARD], currency),
        delivery_tax_rate=rates[TaxClass.STANDARD] if delivery_amount else Decimal("0"),
        options=list(options),
    )


def delivery_options(
    *, kind: str, country: str, currency: str, goods_amount: Decimal, weight_grams: int, postcode: str = "",
    one_location: bool = True,
) -> list[DeliveryOption]:
    """The methods of a kind (delivery or pickup) that reach `country` (and postcode) for this weight, each
    with its price and arrival window; methods that need one location are left out when the order
    would be sent from several."""
    rates = [rate for rate in _active_rates().get((kind, country.upper(), currency), ())
             if rate.max_weight_grams is None or rate.max_weight_grams >= weight_grams]
    best: dict[int, DeliveryRate] = {}
    compact = postcode.replace(" ", "").upper()
    for rate in rates:
        if rate.postcode_prefix and not compact.startswith(rate.postcode_prefix.replace(" ", "").upper()):
            continue
        if rate.method.needs_one_location and not one_location:
            continue
        held = best.get(rate.method_id)
        if held is None or _more_specific(rate, held):
            best[rate.method_id] = rate
    options = []
    for rate in best.values():
        free = rate.free_over_amount is not None and goods_amount >= rate.free_over_amount
        options.append(DeliveryOption(method=rate.method, currency=currency,
                                      amount=round_money(Decimal("0") if free else rate.price_amount, currency),
                                      min_days=rate.min_days, max_days=rate.max_days,
                                      free_over=rate.free_over_amount))
    return sorted(options, key=lambda o: (o.method.position, o.method.code))


def _active_rates() -> dict[tuple[str, str, str], list[DeliveryRate]]:
    """Every rate of an active method by (kind, country, currency), kept in memory between requests."""

    def read():
        by_place: dict[tuple[str, str, str], list[DeliveryRate]] = {}
        for rate in DeliveryRate.objects.filter(method__is_active=True).select_related("method"):
            by_place.setdefault((rate.method.kind, rate.country, rate.currency), []).append(rate)
        return by_place

    return reference(("delivery rates",), read)


def _more_specific(rate: DeliveryRate, than: DeliveryRate) -> bool:
    """A longer postcode prefix wins; then the lighter (tighter) weight band."""
    if len(rate.postcode_prefix) != len(than.postcode_prefix):
        return len(rate.postcode_prefix) > len(than.postcode_prefix)
    mine = rate.max_weight_grams if rate.max_weight_grams is not None else float("inf")
    theirs = than.max_weight_grams if than.max_weight_grams is not None else float("inf")
    return mine < theirs
