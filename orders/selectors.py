"""Orders reads: whether a voucher applies and what it takes off, a customer's orders from every
channel, the signed key that opens one order without an account (its page and its receipt), the VAT
summary a receipt shows, and what a till basket sells beyond the store's stock on record. (How a discount
spreads over lines is core.money.shares, used by pricing.)"""
from dataclasses import dataclass
from decimal import Decimal

from django.core import signing
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone

from catalog.models import Channel, Variant
from core.money import round_money
from customers.models import Customer
from inventory.models import Location
from inventory.selectors import sellable_by_variant

from .exceptions import VoucherRefused
from .models import Order, OrderLine, Voucher, VoucherRedemption

ORDER_LINK_SALT = "storefront.order"  # the salt links in emails already sent were signed with

def voucher_evaluate(
    *, code: str, subtotal: Decimal, currency: str, customer: Customer | None, email: str = "", at=None
) -> tuple[Voucher, Decimal]:
    """The voucher and the discount it gives on this subtotal, or VoucherRefused saying why not."""
    moment = at or timezone.now()
    voucher = Voucher.objects.filter(code__iexact=code.strip()).first()
    if voucher is None or not voucher.is_active:
        raise VoucherRefused(f"{code.strip()!r} is not a valid code.", field="voucher", reason="unknown")
    if voucher.valid_from and moment < voucher.valid_from:
        raise VoucherRefused(f"{voucher.code} starts on {voucher.valid_from:%d %b %Y}.", field="voucher",
                             reason="not_started")
    if voucher.valid_until and moment >= voucher.valid_until:
        raise VoucherRefused(f"{voucher.code} expired on {voucher.valid_until:%d %b %Y}.", field="voucher",
                             reason="expired")
    if voucher.currency != currency:
        raise VoucherRefused(f"{voucher.code} is for orders in {voucher.currency}.", field="voucher", reason="currency")
    if subtotal < voucher.min_spend_amount:
        raise VoucherRefused(
            f"{voucher.code} needs a spend of at least {voucher.min_spend_amount} {currency}.", field="voucher",
            reason="min_spend", min_spend=str(voucher.min_spend_amount),
        )
    if voucher.max_uses is not None and voucher.uses >= voucher.max_uses:
        raise VoucherRefused(f"{voucher.code} has been used up.", field="voucher", reason="used_up")
    if voucher.max_uses_per_customer is not None and (customer or email):
        mine = VoucherRedemption.objects.filter(voucher=voucher)
        mine = mine.filter(customer=customer) if customer else mine.filter(email__iexact=email)
        if mine.count() >= voucher.max_uses_per_customer:
            raise VoucherRefused(f"You have already used {voucher.code}.", field="voucher", reason="used_by_you")
    if voucher.kind == Voucher.Kind.PERCENT:
        discount = round_money(subtotal * voucher.value / 100, currency)
    else:
        discount = voucher.value
    return voucher, min(discount, subtotal)


def order_list(*, customer: Customer) -> QuerySet[Order]:
    """A customer's orders from every channel, newest first, with lines and payment."""
    return (
        Order.objects.filter(customer=customer)
        .select_related("channel", "pickup_store", "payment")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("location")))
        .order_by("-placed_at")
    )


def order_link_key(order: Order) -> str:
    """The signed part of an order page (or receipt) link that a guest, or the till's printer, opens
    without an account."""
    return signing.dumps(order.number, salt=ORDER_LINK_SALT)


def order_link(order: Order, view: str = "storefront:order") -> str:
    """The path of the order's page (or, with view="storefront:order-receipt", its receipt) with the signed
    key; prefix settings.SITE_URL where an absolute link is needed (emails, the API)."""
    return f"{reverse(view, args=[order.number])}?key={order_link_key(order)}"


def order_link_key_valid(*, number: str, key: str) -> bool:
    try:
        return signing.loads(key, salt=ORDER_LINK_SALT) == number
    except signing.BadSignature:
        return False


@dataclass(frozen=True)
class TaxBand:
    """What an order paid at one tax rate: the tax-inclusive amount, the tax inside it, and the rest."""

    rate: Decimal
    gross: Decimal
    tax: Decimal

    @property
    def net(self) -> Decimal:
        return self.gross - self.tax


def order_tax_summary(*, order: Order) -> list[TaxBand]:
    """The receipt's VAT summary: what the shopper pays, by the rate frozen on each line and on delivery
    when the order was placed, highest rate first. Units cancelled before they were sent are left out
    (they are never charged), and so is delivery when nothing is sent, so the bands add up to what is
    charged: the order's tax and total when nothing was cancelled. Reads order.lines.all(), so a prefetch
    makes it free."""
    bands: dict[Decimal, list[Decimal]] = {}
    sending = False
    for line in order.lines.all():
        kept = line.quantity - line.quantity_cancelled
        if not kept:
            continue
        sending = True
        band = bands.setdefault(line.tax_rate, [Decimal("0"), Decimal("0")])
        band[0] += line.amount_for(kept)
        band[1] += line.tax_for(kept)
    if order.delivery_amount and sending:
        band = bands.setdefault(order.delivery_tax_rate, [Decimal("0"), Decimal("0")])
        band[0] += order.delivery_amount
        band[1] += order.delivery_tax_amount
    return [TaxBand(rate=rate, gross=gross, tax=tax) for rate, (gross, tax) in sorted(bands.items(), reverse=True)]


def units_by_variant(lines: list[tuple[Variant, int]]) -> dict[int, int]:
    """Units per variant id, a variant scanned on two lines counted once."""
    units: dict[int, int] = {}
    for variant, quantity in lines:
        units[variant.pk] = units.get(variant.pk, 0) + quantity
    return units


def till_stock_on_record(*, store: Location, lines: list[tuple[Variant, int]]) -> dict[int, int]:
    """For each variant (by id) the basket sells more of than the store's ledger shows available to the till
    (safety stock included): the units it shows. The customer is holding the rest, and the sale books them
    as found at the till. Changes nothing."""
    units = units_by_variant(lines)
    till = Channel.objects.get(code=Channel.TILL)
    on_record = sellable_by_variant(variant_ids=list(units), channel=till, location=store)
    return {pk: on_record.get(pk, 0) for pk, wanted in units.items() if wanted > on_record.get(pk, 0)}
