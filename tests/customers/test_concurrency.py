"""Two devices changing one customer's cart at the same moment, on PostgreSQL with real connections."""
import pytest

from catalog.models import Channel
from customers import services
from customers.models import Cart, CartLine
from tests.customers.conftest import register
from tests.inventory.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_devices_adding_at_once_share_one_cart_and_keep_both_adds(priced):
    tee, hoodie = priced
    ada = register()
    phone, laptop = Channel.objects.get(code="mobile"), Channel.objects.get(code="web")

    def device(i: int):
        channel = phone if i % 2 else laptop
        cart = services.cart_open_for_customer(customer=ada, channel=channel)
        return services.cart_add_line(cart=cart, variant=tee, quantity=1, channel=channel)

    results = run_at_once(2, device)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Cart.objects.filter(customer=ada, status=Cart.Status.OPEN).count() == 1
    assert CartLine.objects.get(cart__customer=ada).quantity == 2
