"""Nobody reads or changes another customer's cart, profile, addresses or timeline: every such
request is answered 404 (or shows only the caller's own record) and changes nothing."""
import pytest
from rest_framework.test import APIClient

from customers.models import Address, CartLine
from tests.customers.conftest import app_client, browser

pytestmark = pytest.mark.django_db


@pytest.fixture
def adas_things(ada, priced):
    phone = app_client(ada)
    line = phone.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 1}, format="json").json()["lines"][0]
    address = phone.post("/api/v1/me/addresses/", {"recipient": "Ada", "line1": "1 Mill Lane", "city": "Leeds",
                                                   "postcode": "LS1 1AA"}, format="json").json()
    cart_token = phone.get("/api/v1/cart/").json()["token"]
    return {"line": line["id"], "address": address["id"], "cart_token": cart_token}


@pytest.fixture(params=["token", "session", "guest"])
def intruder(request, grace):
    """Grace on her phone, Grace in a browser, or someone not signed in."""
    client = {"token": app_client, "session": browser, "guest": lambda _: APIClient()}[request.param](grace)
    client.signed_in = request.param != "guest"
    return client


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("get", "/api/v1/me/addresses/{address}/", None),
        ("patch", "/api/v1/me/addresses/{address}/", {"city": "York"}),
        ("delete", "/api/v1/me/addresses/{address}/", None),
        ("patch", "/api/v1/cart/lines/{line}/", {"quantity": 2}),
        ("delete", "/api/v1/cart/lines/{line}/", None),
    ],
)
def test_another_customers_records_are_404_and_unchanged(adas_things, intruder, method, path, body):
    response = getattr(intruder, method)(path.format(**adas_things), body, format="json")

    must_sign_in_first = path.startswith("/api/v1/me/") and not intruder.signed_in
    assert response.status_code == (401 if must_sign_in_first else 404)
    assert Address.objects.get(pk=adas_things["address"]).city == "Leeds"
    assert CartLine.objects.get(pk=adas_things["line"]).quantity == 1


def test_a_customers_cart_token_does_not_open_their_cart_for_anyone_else(adas_things, intruder):
    response = intruder.get("/api/v1/cart/", headers={"X-Cart-Token": adas_things["cart_token"]})

    # Signed in, a shopper always gets their own cart; a guest's token naming no open guest cart is ignored.
    assert response.status_code == 200
    assert response.json()["token"] != adas_things["cart_token"] and response.json()["lines"] == []


def test_delivery_to_another_customers_address_is_404(adas_things, grace):
    graces_phone = app_client(grace)

    response = graces_phone.put("/api/v1/cart/fulfilment/", {"method": "delivery", "address_id": adas_things["address"]},
                                format="json")

    assert response.status_code == 404


def test_my_profile_and_timeline_are_only_ever_mine(adas_things, grace):
    graces_phone = app_client(grace)

    me = graces_phone.get("/api/v1/me/").json()
    timeline = graces_phone.get("/api/v1/me/timeline/").json()["results"]
    addresses = graces_phone.get("/api/v1/me/addresses/").json()

    assert me["email"] == "grace@example.com"
    assert all(row["reference"] != f"cart:{adas_things['cart_token']}" for row in timeline)
    assert addresses == []
