"""Orders reads: whether a voucher applies and what it takes off, a customer's orders from every
channel, the signed key that opens one order without an account (its page and its receipt), the VAT
summary a receipt shows, and what a till basket sells beyond the store's stock on record. (How a discount
spreads over lines is core.money.shares, used by pricing.)"""
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core import signing
from django.db.models import Count, Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone

from catalog.models import Channel, Variant
from core.money import round_money
from customers.models import Customer
from inventory.exceptions import InsufficientStock
from inventory.hours import window_still_open
from inventory.models import WEEKDAYS, CollectionWindow, Location
from inventory.selectors import sellable_by_variant, store_list

from .exceptions import VoucherRefused
from .models import Order, OrderLine, Voucher, VoucherRedemption
from .routing import pickup_sellable, route_pickup

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


# Collection: which stores can have the basket when, and the windows a store offers -----------------------------

@dataclass(frozen=True)
class PickupOption:
    """A store the basket could be collected from: from when (None: not even from elsewhere), whether it holds
    all of it now, and how far it is."""

    store: Location
    collect_from: date | None
    all_there: bool
    distance_km: float | None = None
    said: str = ""


def pickup_options(*, lines: list[tuple[Variant, int]], channel: Channel, latitude: float | None = None,
                   longitude: float | None = None, limit: int = 30) -> list[PickupOption]:
    """The stores offering pickup, nearest first given a point (else by name): for the whole basket, whether each
    has it now or from which day another location can send it there (the routing a checkout would do)."""
    stores = store_list(latitude=latitude, longitude=longitude).filter(offers_pickup=True)
    if latitude is None or longitude is None:
        stores = stores.order_by("name")
    stores = list(stores[:limit])
    sellable = pickup_sellable(variant_ids=[variant.pk for variant, _ in lines], channel=channel, stores=stores)
    options = []
    for store in stores:
        try:
            routing = route_pickup(lines=lines, store=store, channel=channel, sellable=sellable)
        except InsufficientStock:
            options.append(PickupOption(store, None, False, getattr(store, "distance_km", None)))
            continue
        options.append(PickupOption(store, routing.collect_from, routing.rule == "pickup",
                                    getattr(store, "distance_km", None), routing.said))
    return options


@dataclass(frozen=True)
class WindowOffer:
    window: CollectionWindow
    day: date
    left: int

    @property
    def value(self) -> str:
        """How a form or the app names it: "<window id>:<YYYY-MM-DD>"."""
        return f"{self.window.pk}:{self.day.isoformat()}"


def collection_windows_offered(*, store: Location, ready_from: date, days: int = 7,
                               now: datetime | None = None) -> list[WindowOffer]:
    """The store's collection windows with room, on its open days from `ready_from` for `days` days, soonest
    first; a window today only if it ends long enough from now to pick the order (inventory.hours)."""
    windows = list(store.collection_windows.all())
    if not windows:
        return []
    dates = [ready_from + timedelta(days=ahead) for ahead in range(days)]
    dates = [day for day in dates if store.open_on(day)]
    booked = dict(((w, d), n) for w, d, n in Order.objects.filter(collect_window__in=windows, collect_on__in=dates)
                  .exclude(status=Order.Status.CANCELLED).values_list("collect_window", "collect_on")
                  .annotate(n=Count("pk")).values_list("collect_window", "collect_on", "n"))
    offers = []
    for day in dates:
        for window in sorted((w for w in windows if w.weekday == WEEKDAYS[day.weekday()]), key=lambda w: w.starts):
            left = window.capacity - booked.get((window.pk, day), 0)
            if left > 0 and window_still_open(day, window.ends, now):
                offers.append(WindowOffer(window, day, left))
    return offers


def window_offer_parse(value: str, store: Location | None) -> tuple[CollectionWindow, date] | None:
    """The window and day a form's "<id>:<date>" names at `store`, or None (unknown, not the store's, garbled)."""
    window_id, _, day = (value or "").partition(":")
    try:
        day = date.fromisoformat(day)
        window_id = int(window_id)
    except ValueError:
        return None
    window = CollectionWindow.objects.filter(pk=window_id, location=store).first() if store else None
    return None if window is None else (window, day)
