"""A real local Stripe double (localstripe) for the whole session, and shoppers ready to check out."""
import pytest
import stripe
from django.conf import settings

from catalog.models import Channel
from inventory import services as stock
from orders.stripe_double import free_port, start_local_stripe
from tests.factories import LocationFactory, PriceFactory, VariantFactory


@pytest.fixture(scope="session")
def stripe_double():
    """localstripe on a free port; the Stripe SDK is pointed at it through STRIPE_API_BASE."""
    port = free_port()
    server = start_local_stripe(port)
    base = f"http://127.0.0.1:{port}"
    previous = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = base
    yield stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": base})
    settings.STRIPE_API_BASE = previous
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(autouse=True)
def _uses_stripe_double(stripe_double):
    return stripe_double


def card(stripe_client, number: str = "4242424242424242") -> str:
    """What the card form gives the page: a PaymentMethod id."""
    return stripe_client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
    }).id


@pytest.fixture
def warehouse(db):
    return LocationFactory(code="WH-DAV", name="Daventry DC", kind="warehouse", latitude=52.2565, longitude=-1.1627,
                           ships_orders=True, offers_pickup=False, sells_in_store=False)


@pytest.fixture
def shelf(db, store, other_store):
    """A tee (20.00) and a hoodie (45.00) on every channel; stock at the London store."""
    tee, hoodie = VariantFactory(sku="TEE-NAVY-M"), VariantFactory(sku="HOOD-GREY-L")
    for variant, amount in ((tee, "20.00"), (hoodie, "45.00")):
        for channel in Channel.objects.all():
            PriceFactory(variant=variant, channel=channel, amount=amount)
    stock.stock_receive(location=store, variant=tee, quantity=10)
    stock.stock_receive(location=store, variant=hoodie, quantity=3)
    return tee, hoodie
