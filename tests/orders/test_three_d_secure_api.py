"""The mobile app's card checkout when the bank checks it is the shopper (3-D Secure): the checkout answers
202 `requires_action` with the client secret for Stripe's SDK and the call that finishes it; the app runs the
check (here, as localstripe's SDK emulation does) and finishes; each call is idempotent with the checkout's
Idempotency-Key."""
import uuid

import pytest
import requests
from django.conf import settings
from rest_framework.test import APIClient

from inventory.models import StockLevel
from orders.models import Order
from tests.customers.conftest import app_client, register
from tests.factories import card
from tests.orders.test_checkout import checkout, fill

pytestmark = pytest.mark.django_db

NEEDS_CHECK = "4000002760003184"


@pytest.fixture
def shopper(db):
    return app_client(register())


def body(store, stripe_double, number=NEEDS_CHECK, **more):
    return {"fulfilment": "pickup", "store": store.code, "payment_method": "card",
            "payment_method_id": card(stripe_double, number), **more}


def bank_answers(client_secret: str, *, confirms: bool) -> None:
    intent = client_secret.split("_secret_")[0]
    requests.post(f"{settings.STRIPE_API_BASE}/v1/payment_intents/{intent}/_authenticate",
                  params={"success": "true" if confirms else "false"},
                  json={"key": settings.STRIPE_PUBLISHABLE_KEY, "client_secret": client_secret}, timeout=10)


def finish(client, key: str):
    return client.post("/api/v1/checkout/finish/", headers={"Idempotency-Key": key})


def test_the_app_is_asked_for_the_banks_check_then_finishes_the_order(shopper, shelf, store, stripe_double):
    fill(shopper, ("TEE-NAVY-M", 2))
    key, sent = str(uuid.uuid4()), body(store, stripe_double)

    asked = checkout(shopper, key, **sent)

    assert asked.status_code == 202, asked.json()
    action = asked.json()
    assert action["status"] == "requires_action" and action["client_secret"].startswith(action["payment_intent"])
    assert action["finish_url"] == "http://testserver/api/v1/checkout/finish/"
    assert checkout(shopper, key, **sent).json()["client_secret"] == action["client_secret"]  # a retry: the same
    assert finish(shopper, key).status_code == 202  # not confirmed yet
    assert not Order.objects.exists()

    bank_answers(action["client_secret"], confirms=True)
    placed = finish(shopper, key)

    assert placed.status_code == 200, placed.json()
    order = Order.objects.get(number=placed.json()["number"])
    assert placed.json()["total_amount"] == "40.00" and order.payment.stripe_payment_intent == action["payment_intent"]
    assert stripe_double.v1.payment_intents.retrieve(action["payment_intent"]).amount == 4000
    assert finish(shopper, key).json()["number"] == order.number
    assert checkout(shopper, key, **sent).status_code == 200  # the checkout retried: the order placed
    level = StockLevel.objects.get(location=store, variant__sku="TEE-NAVY-M")
    assert (level.reserved, level.committed) == (0, 2)


def test_a_failed_check_is_402_by_the_card_and_the_cart_can_try_again(shopper, shelf, store, stripe_double):
    fill(shopper, ("TEE-NAVY-M", 1))
    key = str(uuid.uuid4())
    action = checkout(shopper, key, **body(store, stripe_double)).json()
    bank_answers(action["client_secret"], confirms=False)

    failed = finish(shopper, key)

    assert failed.status_code == 402
    assert failed.json()["code"] == "payment_declined"
    assert "could not confirm it was you" in failed.json()["message"]
    assert finish(shopper, key).status_code == 409  # nothing left to finish
    assert finish(shopper, key).json()["code"] == "checkout_not_finished"
    again = checkout(shopper, str(uuid.uuid4()), **body(store, stripe_double, "4242424242424242"))
    assert again.status_code == 201 and again.json()["total_amount"] == "20.00"


def test_a_guest_finishes_with_the_cart_token_and_no_one_else_can(shelf, store, stripe_double):
    guest = APIClient()
    token = guest.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 1}, format="json").json()["token"]
    guest.credentials(HTTP_X_CART_TOKEN=token)
    key = str(uuid.uuid4())
    action = checkout(guest, key, **body(store, stripe_double, email="guest@example.com")).json()
    bank_answers(action["client_secret"], confirms=True)

    stranger = finish(APIClient(), key)  # the key alone, without the cart it belongs to

    assert stranger.status_code == 409 and not Order.objects.exists()
    assert finish(guest, key).status_code == 200
    assert Order.objects.get().email == "guest@example.com"


def test_a_return_address_that_is_not_an_address_is_refused_before_anything_is_held(shopper, shelf, store,
                                                                                   stripe_double):
    fill(shopper, ("TEE-NAVY-M", 1))

    refused = checkout(shopper, **body(store, stripe_double, return_url="not an address"))

    assert refused.status_code == 400, refused.json()
    assert "return_url" in refused.json()["detail"]["fields"], refused.json()
    level = StockLevel.objects.get(location=store, variant__sku="TEE-NAVY-M")
    assert level.reserved == 0
