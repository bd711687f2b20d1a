"""Fixtures for customer and cart API tests: a priced, stocked catalog and API clients per device."""
import pytest
from rest_framework.test import APIClient

from catalog.models import Channel
from customers import services
from inventory import services as stock
from tests.factories import PriceFactory, VariantFactory

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def priced(db, store, other_store):
    """Two variants priced on every channel; 5 of the first at the store (2 kept back as safety stock)."""
    tee, hoodie = VariantFactory(sku="TEE-NAVY-M"), VariantFactory(sku="HOOD-GREY-L")
    for variant in (tee, hoodie):
        for channel in Channel.objects.all():
            PriceFactory(variant=variant, channel=channel, amount="20.00" if variant is tee else "45.00")
    stock.stock_receive(location=store, variant=tee, quantity=5)
    stock.stock_set_safety_stock(location=store, variant=tee, quantity=2)
    stock.stock_receive(location=store, variant=hoodie, quantity=1)
    return tee, hoodie


def register(email="ada@example.com", first_name="Ada"):
    web = Channel.objects.get(code=Channel.WEB)
    return services.customer_register(email=email, password=PASSWORD, channel=web, first_name=first_name)


@pytest.fixture
def ada(db):
    return register()


@pytest.fixture
def grace(db):
    return register("grace@example.com", "Grace")


def app_client(customer) -> APIClient:
    """The mobile app: signed in with a token."""
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"email": customer.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def browser(customer) -> APIClient:
    """The web storefront: signed in with a session cookie."""
    client = APIClient()
    response = client.post("/api/v1/auth/session/", {"email": customer.email, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    return client
