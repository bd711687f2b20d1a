"""Orders reads: whether a voucher applies and what it takes off, and a customer's orders from every
channel. (How a discount spreads over lines is money.shares, used by pricing.)"""
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from customers.models import Customer

from .exceptions import VoucherRefused
from .models import Order, OrderLine, Voucher, VoucherRedemption
from .money import round_money

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
