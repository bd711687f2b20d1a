"""Fixtures for the storefront pages: a small shop (a tee in two sizes, a hoodie) priced on the web,
stocked at the London store, and a shopper who can sign in."""
import pytest
from django.test import Client

from catalog.models import Channel
from customers import services as customer_services
from tests.factories import stock_the_shop

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def goods(db, store, other_store):
    """Organic Tee in M (20.00, 5 at the London store) and L (20.00, none anywhere); Harbour Hoodie
    (45.00, 2 at the London store)."""
    for place, line, postcode in ((store, "214 Oxford Street", "W1C 1DA"), (other_store, "Market Street", "M4 3AQ")):
        place.address_line, place.postcode = line, postcode
        place.save(update_fields=["address_line", "postcode"])
    return stock_the_shop(store=store)


@pytest.fixture
def shopper(db):
    web = Channel.objects.get(code=Channel.WEB)
    return customer_services.customer_register(email="ada@example.com", password=PASSWORD, channel=web,
                                               first_name="Ada")


@pytest.fixture
def browser():
    return Client()


@pytest.fixture
def signed_in(browser, shopper):
    browser.post("/account/sign-in/", {"email": shopper.email, "password": PASSWORD})
    return browser
