"""Storefront writes that belong to no lower app: the order confirmation email with the signed link that
opens the order page (guests have no account to find it in)."""
from django.conf import settings
from django.db import transaction

from customers.selectors import recipient_for
from notifications.models import OutboxMessage
from notifications.services import message_queue
from orders.models import Order
from orders.selectors import order_link


@transaction.atomic
def order_confirmation_send(*, order: Order) -> None:
    """Email the confirmation once per order, however often the checkout form was submitted."""
    locked = Order.objects.select_for_update(of=("self",)).select_related("pickup_store", "customer").get(pk=order.pk)
    if OutboxMessage.objects.filter(template="order_confirmation", reference=f"order:{locked.number}").exists():
        return
    message_queue(template="order_confirmation", context={
        "order": locked, "lines": list(locked.lines.all()), "order_link": f"{settings.SITE_URL}{order_link(locked)}",
        "receipt_link": f"{settings.SITE_URL}{order_link(locked, 'storefront:order-receipt')}"},
                  to=recipient_for(locked.customer, email=locked.email), reference=f"order:{locked.number}",
                  medium=OutboxMessage.Medium.EMAIL)
