"""Bringing shoppers back: the abandoned-cart reminder, with a single-use voucher and a link that opens
the same cart on web or mobile. Marketing, so only on a channel the customer consented to."""
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Channel
from customers.attribution import campaign_link
from customers.models import Cart
from customers.selectors import cart_resume_link, cart_view, recipient_for
from customers.services import cart_mark_reminded, cart_state
from notifications.services import message_queue

from .models import Voucher

STATE_IN_REFERENCE = 16  # hex digits of the cart's contents fingerprint: with the cart's token, one reference a state


def abandoned_cart_reminders(*, now: datetime | None = None) -> int:
    """One reminder per cart state for carts idle past ABANDONED_CART_AFTER with items still in stock, on
    the customer's preferred consented medium, with a voucher made only when the reminder goes. Safe to run
    twice at once: each cart is locked and its state re-checked, and the outbox holds a reminder about a
    cart's contents once."""
    moment = now or timezone.now()
    idle_since = moment - settings.ABANDONED_CART_AFTER
    web = Channel.objects.get(code=Channel.WEB)
    sent = 0
    candidates = (Cart.objects.filter(status=Cart.Status.OPEN, customer__isnull=False, updated_at__lte=idle_since,
                                      lines__isnull=False).distinct().values_list("pk", flat=True))
    for pk in list(candidates):
        with transaction.atomic():
            cart = (Cart.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("customer", "pickup_store")
                    .filter(pk=pk, status=Cart.Status.OPEN, updated_at__lte=idle_since).first())
            if cart is None:
                continue
            state = cart_state(cart)
            recipient = recipient_for(cart.customer)
            medium = recipient.preferred_marketing_medium()
            if state == cart.reminded_state or medium is None:
                continue
            waiting = [line for line in cart_view(cart=cart, channel=web).lines if line.in_stock]
            if not waiting:
                continue
            voucher = Voucher(
                code=f"BACK-{secrets.token_hex(3).upper()}", kind=Voucher.Kind.PERCENT,
                value=Decimal(settings.ABANDONED_CART_DISCOUNT_PERCENT), max_uses=1, max_uses_per_customer=1,
                valid_from=moment, valid_until=moment + timedelta(days=settings.ABANDONED_CART_VOUCHER_DAYS),
            )
            # The contents are part of what the reminder is about: a changed cart is a new thing to remind of.
            if message_queue(template="abandoned_cart", to=recipient, marketing=True, medium=medium,
                             reference=f"cart:{cart.token}:{state[:STATE_IN_REFERENCE]}",
                             context={"lines": waiting, "voucher": voucher, "link": campaign_link(
                                 cart_resume_link(cart), source="basket-reminder", medium=medium,
                                 campaign="abandoned-basket")}):
                voucher.save()
                sent += 1
            cart_mark_reminded(cart=cart, state=state)
    return sent
