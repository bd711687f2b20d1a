"""What orders does when a lower app says something happened: a customer who has just registered or signed in
is offered the guest orders placed with their email."""
from django.dispatch import receiver

from customers.signals import customer_identified

from .claims import guest_orders_offer


@receiver(customer_identified)
def offer_guest_orders(sender, *, customer, **kwargs) -> None:
    guest_orders_offer(customer=customer)
