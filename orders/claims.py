"""Claiming guest orders: orders placed as a guest with an email that later gets an account. When its customer
registers or signs in, they are emailed a signed link (once for those orders); following it while signed in
as that customer joins every guest order with their email to the account, each on their timeline."""
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, Interaction
from customers.selectors import recipient_for
from customers.services import interaction_record
from notifications.models import OutboxMessage
from notifications.services import message_queue

from .exceptions import ClaimLinkBroken, ClaimLinkExpired, ClaimLinkNotYours
from .models import Order

CLAIM_SALT = "orders.claim"
CLAIM_LINK_LIFETIME = timedelta(days=7)
CLAIM_TEMPLATE = "orders_claim"


def guest_orders(*, email: str) -> QuerySet[Order]:
    """Orders placed as a guest with this email, in any case; oldest first."""
    return Order.objects.filter(customer__isnull=True, email__iexact=email).order_by("placed_at", "pk")


def claim_token(customer: Customer) -> str:
    """The signed part of a claim link: it names the customer and the email the orders were placed with."""
    return signing.dumps({"customer": customer.pk, "email": customer.email}, salt=CLAIM_SALT)


@transaction.atomic
def guest_orders_offer(*, customer: Customer) -> list[OutboxMessage]:
    """Email the customer a link to claim the guest orders placed with their email, if there are any they have
    not been asked about: none was offered yet, one was placed since the last offer, or the last offer's link
    has expired. Returns the messages queued (none when there is nothing new to ask about)."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)  # two sign-ins at once ask once
    orders = guest_orders(email=customer.email)
    last_offer = (OutboxMessage.objects.filter(customer_id=customer.pk, template=CLAIM_TEMPLATE)
                  .order_by("-created_at").values_list("created_at", flat=True).first())
    unasked = orders
    if last_offer is not None and last_offer > timezone.now() - CLAIM_LINK_LIFETIME:
        unasked = orders.filter(placed_at__gt=last_offer)
    if not unasked.exists():
        return []
    link = f"{settings.SITE_URL}{reverse('storefront:claim-orders', args=[claim_token(customer)])}"
    return message_queue(template=CLAIM_TEMPLATE, to=recipient_for(customer), medium=OutboxMessage.Medium.EMAIL,
                         context={"customer": customer, "orders": list(orders), "link": link,
                                  "days": CLAIM_LINK_LIFETIME.days})


def _claim_email(*, customer: Customer, token: str) -> str:
    """The email a claim link names, once it is checked to be ours, unchanged, in date and for this customer."""
    try:
        named = signing.loads(token, salt=CLAIM_SALT, max_age=CLAIM_LINK_LIFETIME)
    except signing.SignatureExpired as exc:
        raise ClaimLinkExpired(f"This link has expired: links to add orders work for {CLAIM_LINK_LIFETIME.days} "
                               "days. Sign in again and we will email you a new one.") from exc
    except signing.BadSignature as exc:
        raise ClaimLinkBroken("This link is not one we sent, or it was changed: open the link from the email "
                              "exactly as it is.") from exc
    if named.get("customer") != customer.pk or named.get("email", "").lower() != customer.email.lower():
        raise ClaimLinkNotYours("This link was sent to another account: sign in with the email address it was "
                                "sent to, then open it again.")
    return named["email"]


@transaction.atomic
def guest_orders_claim(*, customer: Customer, token: str) -> list[Order]:
    """Join every guest order placed with the email the link names to the signed-in customer it was sent to, each
    recorded on their timeline as placed when it was. Returns the orders joined: none when the link was already
    followed. A forged, changed, expired or someone else's link raises ClaimRefused and joins nothing."""
    email = _claim_email(customer=customer, token=token)
    orders = list(guest_orders(email=email).select_for_update(of=("self",)).select_related("channel"))
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(customer=customer)
    for order in orders:
        order.customer = customer
        interaction_record(customer=customer, kind=Interaction.Kind.ORDER_PLACED, channel=order.channel,
                           reference=f"order:{order.number}", created_at=order.placed_at,
                           detail={"total": str(order.total_amount), "currency": order.currency, "claimed": True})
    return orders


def claim_outcome(orders: list[Order]) -> str:
    """What following a claim link did, as the shopper is told it."""
    if not orders:
        return "Nothing more to add: the orders placed with your email are all in your account."
    numbers = ", ".join(order.number for order in orders)
    return f"{len(orders)} order{'s' if len(orders) > 1 else ''} added to your account: {numbers}."
