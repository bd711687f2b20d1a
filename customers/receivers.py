"""Timeline rows for touches that happen in lower apps: a product page opened in the catalog, a message
sent from the outbox."""
from django.dispatch import receiver

from catalog.signals import product_viewed
from notifications.signals import message_sent

from .attribution import view_record
from .models import Customer, Interaction
from .services import interaction_record


@receiver(product_viewed)
def record_product_view(sender, *, request, product, channel, **kwargs) -> None:
    view_record(request=request, kind=Interaction.Kind.PRODUCT_VIEWED, reference=f"product:{product.slug}",
                channel=channel)


@receiver(message_sent)
def record_message(sender, *, message, **kwargs) -> None:
    customer = Customer.objects.filter(pk=message.customer_id).first() if message.customer_id else None
    if customer is not None:
        interaction_record(customer=customer, kind=Interaction.Kind.MESSAGE_SENT, channel=None,
                           reference=message.reference, detail={"medium": message.medium, "template": message.template})
