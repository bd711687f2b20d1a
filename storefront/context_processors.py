"""What every storefront page's header shows: the basket's item count and the shopper's store. Both are
lazy, so pages that never show them (the admin, the API) never run their queries."""
from django.utils.functional import SimpleLazyObject

from .shopper import cart_for, chosen_store


def shop(request) -> dict:
    def basket_count() -> int:
        cart = cart_for(request)
        return sum(cart.lines.values_list("quantity", flat=True)) if cart else 0

    return {"basket_count": SimpleLazyObject(basket_count), "my_store": SimpleLazyObject(lambda: chosen_store(request))}
