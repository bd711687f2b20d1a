"""A phone typed at checkout is kept in E.164, and staff find the customer or the order by it however they type
it: the till (the customer), the pickup counter (the order's phone, or the customer's) and the returns desk.
What is not a phone number is refused at checkout naming the field, and at the till next to the contact."""
import html
import re

import pytest
from rest_framework.test import APIClient

from backoffice.roles import STORE_STAFF
from customers.models import Cart
from fulfillment.models import Fulfillment
from orders.models import Order
from tests.customers.conftest import PASSWORD, app_client, register
from tests.fulfillment.test_returns_desk import DESK, desk_user
from tests.fulfillment.test_station import counter_at, ready
from tests.orders.test_claims import collect_and_pay_later
from tests.orders.test_till_page import signed_in

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<(style|script)\b.*?</\1>|<[^>]+>", " ", response.content.decode(),
                                         flags=re.S)).split())


def test_the_till_finds_a_customer_by_a_phone_written_another_way_and_says_what_is_not_one(shelf, store):
    signed_up = APIClient().post("/api/v1/auth/register/", {"email": "ada@example.com", "password": PASSWORD,
                                                            "first_name": "Ada", "phone": "+44 (0)7700 900123"},
                                 format="json")
    assert signed_up.json()["customer"]["phone"] == "+447700900123"
    till = signed_in(STORE_STAFF, store)

    found = till.post("/till/", {"action": "find_customer", "contact": "0044 7700-900-123"}, follow=True)
    till.post("/till/", {"action": "forget_customer"})
    not_a_phone = till.post("/till/", {"action": "find_customer", "contact": "Ada L"})

    assert "Selling to Ada." in text(found)
    assert not_a_phone.status_code == 400
    assert re.search(r'id="contact-error"[^>]*>Enter a UK number like 07700 900123, or an international one '
                     r"starting with \+ and the country code.<", not_a_phone.content.decode())
    assert "Selling to" not in text(not_a_phone)


def test_the_counter_finds_a_pickup_by_the_phone_on_the_order_or_on_the_customers_account(shelf, store):
    ada = app_client(register())
    adas = collect_and_pay_later(ada, store, phone="07700 900123")
    grace = register("grace@example.com", "Grace")
    graces = collect_and_pay_later(app_client(grace), store)  # no phone yet: she adds it to her account after
    app_client(grace).patch("/api/v1/me/", {"phone": "07700 900456"}, format="json")
    for number in (adas, graces):
        ready(Fulfillment.objects.get(order__number=number), store)
    counter = counter_at(store)

    by_order_phone = counter.post("/scan/", {"code": "+44 7700 900123"})
    by_account_phone = counter.post("/scan/", {"code": "0044 (0)7700 900 456"})

    assert Order.objects.get(number=adas).phone == "+447700900123"
    assert by_order_phone.status_code == 200 and f"Order {adas}" in text(by_order_phone)
    assert by_account_phone.status_code == 200 and f"Order {graces}" in text(by_account_phone)
    assert f"Order {adas}" not in text(by_account_phone)


def test_the_returns_desk_finds_an_order_by_its_phone_typed_any_way(shelf, store):
    number = collect_and_pay_later(app_client(register()), store, phone="(07700) 900 123")
    desk = desk_user(store)

    for typed in ("+447700900123", "07700 900123", "0044 7700-900-123"):
        assert f"Order {number}" in text(desk.get(DESK, {"q": typed})), typed
    assert f"Order {number}" not in text(desk.get(DESK, {"q": "07700 900124"}))


@pytest.mark.parametrize("typed, message", [
    ("06 12 34 56 78", "Enter a UK number like 07700 900123, or an international one starting with + and the "
                       "country code."),
    ("+44 7700", "That is not a valid phone number."),
])
def test_a_checkout_with_a_bad_phone_is_refused_naming_the_field_and_places_nothing(shelf, store, typed, message):
    guest = APIClient()
    guest.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 1}, format="json")

    refused = guest.post("/api/v1/checkout/", {"fulfilment": "pickup", "store": store.code, "email": "ada@example.com",
                                               "phone": typed, "payment_method": "pay_at_pickup"},
                         format="json", headers={"Idempotency-Key": "one"})

    assert refused.status_code == 400
    assert refused.json()["detail"]["fields"] == {"phone": [message]}
    assert not Order.objects.exists()
    assert guest.get("/api/v1/cart/").json()["item_count"] == 1
    assert Cart.objects.get().status == Cart.Status.OPEN
