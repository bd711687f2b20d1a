"""The till page: store staff scan by SKU or barcode, see each line with its VAT and the total before
payment, take cash or card and land on the printable receipt; stock leaves the store through the ledger.
Refusals are said next to the field and change nothing; only roles that sell at the till get in."""
import re

import pytest
from django.test import Client

from backoffice.roles import PICKUP_STAFF, STORE_STAFF, role_assign
from inventory.models import StockLevel
from inventory.selectors import ledger_drift
from orders.models import Order
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(role, *stores) -> Client:
    client = Client()
    client.force_login(role_assign(user=UserFactory(), role=role, stores=stores))
    return client


def text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_staff_scan_see_the_total_with_vat_sell_for_cash_and_get_the_receipt(shelf, store):
    tee, hoodie = shelf
    till = signed_in(STORE_STAFF, store)

    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M", "quantity": "2"})
    till.post("/till/", {"action": "add", "code": hoodie.barcode})
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})  # scanned again: one line of 3
    page = till.get("/till/")

    html = page.content.decode()
    assert page.status_code == 200 and f"Till · {store.name}" in html
    assert 'id="till-total">£105.00<' in html and 'id="till-tax">£17.50<' in html  # 60.00 + 45.00 at 20%
    assert len(re.findall(r'name="action" value="remove"', html)) == 2

    sold = till.post("/till/", {"action": "sell", "payment_method": "cash"}, follow=True)

    order = Order.objects.get()
    assert (order.fulfilment, order.total_amount, order.payment.method, order.payment.status) == (
        "till", 105, "cash", "captured")
    assert sold.redirect_chain[-1][0].startswith(f"/orders/{order.number}/receipt/?key=")
    assert f"Sale {order.number} done" in text(sold) and 'id="vat-total">£17.50<' in sold.content.decode()
    assert StockLevel.objects.get(location=store, variant=tee).on_hand == 7
    assert ledger_drift(location=store) == []
    assert "Nothing scanned yet." in text(till.get("/till/"))  # the basket is empty for the next shopper


def test_an_unknown_code_is_said_next_to_the_field_and_the_basket_is_unchanged(shelf, store):
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})

    refused = till.post("/till/", {"action": "add", "code": "NOPE-123"})

    assert refused.status_code == 400
    html = refused.content.decode()
    assert re.search(r'id="code-error"[^>]*>Nothing has SKU or barcode &#x27;NOPE-123&#x27;.<', html)
    assert 'id="till-total">£20.00<' in html


def test_selling_more_than_the_store_has_is_refused_and_nothing_is_sold(shelf, store):
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "HOOD-GREY-L", "quantity": "4"})  # 3 in the store

    refused = till.post("/till/", {"action": "sell", "payment_method": "card_present"})

    assert refused.status_code == 400 and "Not enough stock" in text(refused)
    assert Order.objects.count() == 0
    assert StockLevel.objects.get(location=store, variant__sku="HOOD-GREY-L").on_hand == 3


def test_only_roles_that_sell_at_the_till_get_in_and_only_at_their_stores(shelf, store, other_store):
    assert signed_in(PICKUP_STAFF, store).get("/till/").status_code == 403
    assert Client().get("/till/").status_code == 302  # to the sign-in page
    elsewhere = signed_in(STORE_STAFF, store).get(f"/till/?store={other_store.code}")
    assert elsewhere.status_code == 200 and other_store.name not in text(elsewhere)  # their own store's till


def test_an_unknown_customer_or_payment_method_is_said_next_to_the_field_and_nothing_is_sold(shelf, store):
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})

    stranger = till.post("/till/", {"action": "sell", "payment_method": "cash", "customer_email": "who@example.com"})
    no_method = till.post("/till/", {"action": "sell", "payment_method": "voucher"})

    assert stranger.status_code == 400 and re.search(r'id="email-error"[^>]*>No customer has that email',
                                                     stranger.content.decode())
    assert no_method.status_code == 400 and re.search(r'id="payment-error"[^>]*>Choose cash or card.',
                                                      no_method.content.decode())
    assert Order.objects.count() == 0
    assert StockLevel.objects.get(location=store, variant__sku="TEE-NAVY-M").on_hand == 10
    assert 'id="till-total">£20.00<' in no_method.content.decode()  # the basket is still there
