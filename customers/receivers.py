"""Timeline rows for touches that happen in lower apps (a product page opened in the catalog)."""
from django.dispatch import receiver

from catalog.signals import product_viewed

from .models import Interaction
from .services import interaction_record


@receiver(product_viewed)
def record_product_view(sender, *, request, product, channel, **kwargs) -> None:
    customer = getattr(request.user, "customer", None) if request.user.is_authenticated else None
    if customer is not None:
        interaction_record(customer=customer, kind=Interaction.Kind.PRODUCT_VIEWED, channel=channel,
                           reference=f"product:{product.slug}")
