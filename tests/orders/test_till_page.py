"""The till page: store staff scan by SKU or barcode (any case), see each line with its VAT and the total
before payment, take cash (the change worked out) or card, land on the sale with the change due, print an
80 mm receipt and start a new sale; stock leaves the store through the ledger, and an item the ledger said
was not there is sold and booked as found. A customer found by email or phone brings their online basket,
which loses what they buy. Refusals are said next to the field and change nothing; only roles that sell at
the till get in."""
import html
import re

import pytest
from django.test import Client
from django.utils import timezone

from backoffice.roles import PICKUP_STAFF, STORE_STAFF, role_assign
from catalog.models import Channel
from customers import services as customer_services
from customers.models import Customer
from inventory import services as stock
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_drift
from orders.models import Order
from tests.customers.conftest import app_client, register
from tests.factories import UserFactory, VariantFactory

pytestmark = pytest.mark.django_db


def signed_in(role, *stores, username=None) -> Client:
    client = Client()
    user = UserFactory(**({"username": username} if username else {}))
    client.force_login(role_assign(user=user, role=role, stores=stores))
    return client


def text(response) -> str:
    """What the page says, as read: tags gone, entities (&amp;, &#x27;) written out, spaces folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def on_hand(store, sku: str) -> int:
    return StockLevel.objects.get(location=store, variant__sku=sku).on_hand


def test_staff_scan_see_the_total_with_vat_sell_for_cash_get_the_change_and_start_a_new_sale(shelf, store):
    tee, hoodie = shelf
    till = signed_in(STORE_STAFF, store)

    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M", "quantity": "2"})
    till.post("/till/", {"action": "add", "code": hoodie.barcode})
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})  # scanned again: one line of 3
    page = till.get("/till/")

    markup = page.content.decode()
    assert page.status_code == 200 and f"Till · {store.name}" in markup
    assert 'id="till-total">£105.00<' in markup and 'id="till-tax">£17.50<' in markup  # 60.00 + 45.00 at 20%
    assert len(re.findall(r'name="action" value="remove"', markup)) == 2
    assert 'id="cash_tendered" name="cash_tendered" value="105.00"' in markup  # exact cash needs no typing

    sold = till.post("/till/", {"action": "sell", "payment_method": "cash", "cash_tendered": "£120"}, follow=True)

    order = Order.objects.get()
    assert (order.fulfilment, order.total_amount, order.payment.method, order.payment.status) == (
        "till", 105, "cash", "captured")
    assert order.payment.tendered_amount == 120
    assert sold.redirect_chain[-1][0] == f"/till/sales/{order.number}/"
    assert f"Sale {order.number} done" in text(sold)
    assert 'id="change-due">Change due £15.00<' in sold.content.decode()
    assert f'href="/till/sales/{order.number}/receipt/?print=1"' in sold.content.decode()
    assert on_hand(store, "TEE-NAVY-M") == 7 and ledger_drift(location=store) == []

    fresh = till.post("/till/", {"action": "new", "store": store.code}, follow=True)  # the sale page's New sale
    assert "Nothing scanned yet." in text(fresh)


def test_the_receipt_is_laid_out_for_an_80_mm_till_printer(shelf, store, settings):
    settings.SHOP_VAT_NUMBER = "GB123456789"
    till = signed_in(STORE_STAFF, store, username="sam")
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M", "quantity": "2"})
    till.post("/till/", {"action": "add", "code": "HOOD-GREY-L"})
    till.post("/till/", {"action": "sell", "payment_method": "cash", "cash_tendered": "100"})
    order = Order.objects.get()

    receipt = till.get(f"/till/sales/{order.number}/receipt/?print=1")

    markup, words = receipt.content.decode(), text(receipt)
    assert receipt.status_code == 200
    assert re.search(r'<style media="print">\s*@page \{ size: 80mm auto; margin: 0 \}', markup)
    assert "Hearth &amp; Thread" in markup and store.name in words and "VAT no. GB123456789" in words
    assert timezone.localtime(order.placed_at).strftime("%d/%m/%Y %H:%M") in words  # en-GB, shop's time
    assert "2 × £20.00 £40.00" in words and "1 × £45.00 £45.00" in words
    assert 'id="receipt-total">£85.00<' in markup and 'id="receipt-paid">£85.00<' in markup
    assert 'id="receipt-tendered">£100.00<' in markup and 'id="receipt-change">£15.00<' in markup
    assert "20% £70.83 £14.17 £85.00" in words and 'id="receipt-vat-total" colspan="2">£14.17<' in markup
    assert "data-print-on-load" in markup  # core/behaviours.js opens the print dialogue


def test_a_lower_case_sku_or_a_spaced_barcode_is_found(shelf, store):
    _, hoodie = shelf
    till = signed_in(STORE_STAFF, store)

    till.post("/till/", {"action": "add", "code": " tee-navy-m "})
    page = till.post("/till/", {"action": "add", "code": f"{hoodie.barcode[:5]} {hoodie.barcode[5:]}"}, follow=True)

    assert 'id="till-total">£65.00<' in page.content.decode()
    assert "TEE-NAVY-M" in text(page) and "HOOD-GREY-L" in text(page)


def test_an_unknown_code_is_said_next_to_the_field_and_the_basket_is_unchanged(shelf, store):
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})

    refused = till.post("/till/", {"action": "add", "code": "NOPE-123"})

    assert refused.status_code == 400
    markup = refused.content.decode()
    assert re.search(r'id="code-error"[^>]*>Nothing has SKU or barcode &#x27;NOPE-123&#x27;.<', markup)
    assert 'id="till-total">£20.00<' in markup


def test_an_item_the_ledger_says_the_store_lacks_is_sold_with_a_gentle_note_and_booked_found(shelf, store):
    _, hoodie = shelf
    stock.stock_sell(lines=[stock.StockLine(store, hoodie, 3)], reference="order:REARLIER")  # none left on record
    till = signed_in(STORE_STAFF, store, username="sam")

    added = till.post("/till/", {"action": "add", "code": "HOOD-GREY-L"}, follow=True)
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})

    assert added.status_code == 200 and 'id="till-total">£45.00<' in added.content.decode()
    assert re.search(r'id="found-HOOD-GREY-L">The system thought this store had none; selling it books it as '
                     r'found.<', added.content.decode())
    assert 'id="found-TEE-NAVY-M"' not in till.get("/till/").content.decode()  # 10 of those on record

    sold = till.post("/till/", {"action": "sell", "payment_method": "card_present"}, follow=True)

    order = Order.objects.get()
    assert f"Sale {order.number} done" in text(sold) and "Not enough stock" not in text(sold)
    found = StockMovement.objects.get(reason=StockMovement.Reason.FOUND_AT_TILL)
    assert (found.variant, found.on_hand_delta, found.actor.username, found.reference) == (
        hoodie, 1, "sam", f"order:{order.number}")
    assert (on_hand(store, "HOOD-GREY-L"), on_hand(store, "TEE-NAVY-M")) == (0, 9)
    assert ledger_drift(location=store) == []


def test_selling_more_than_the_ledger_shows_says_how_many_it_thought_there_were(shelf, store):
    till = signed_in(STORE_STAFF, store)

    page = till.post("/till/", {"action": "add", "code": "HOOD-GREY-L", "quantity": "4"}, follow=True)  # 3 there

    assert re.search(r'id="found-HOOD-GREY-L">The system thought this store had only 3; selling 4 books the '
                     r'rest as found.<', page.content.decode())


def test_an_item_the_store_does_not_sell_is_named_and_can_be_taken_out(shelf, store):
    VariantFactory(sku="UNPRICED")
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})

    refused = till.post("/till/", {"action": "add", "code": "unpriced"}, follow=True)

    assert refused.status_code == 409 and re.search(
        r'id="basket-error"[^>]*>Not sold at London Oxford Street: UNPRICED.<', refused.content.decode())
    taken_out = till.post("/till/", {"action": "remove", "sku": "UNPRICED"}, follow=True)
    assert taken_out.status_code == 200 and 'id="till-total">£20.00<' in taken_out.content.decode()


def test_too_little_cash_is_refused_next_to_the_field_and_nothing_changes(shelf, store):
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "HOOD-GREY-L"})

    short = till.post("/till/", {"action": "sell", "payment_method": "cash", "cash_tendered": "40"})
    garbled = till.post("/till/", {"action": "sell", "payment_method": "cash", "cash_tendered": "forty"})
    empty = till.post("/till/", {"action": "sell", "payment_method": "cash", "cash_tendered": " "})

    assert short.status_code == 400 and re.search(
        r'id="cash-error"[^>]*>£40.00 is less than the total of £45.00: take at least the total.<',
        short.content.decode())
    assert 'value="40"' in short.content.decode()  # what was typed stays, to correct
    assert re.search(r'id="cash-error"[^>]*>Enter an amount of money, e.g. 20 or 20.50.<', garbled.content.decode())
    assert re.search(r'id="cash-error"[^>]*>Enter the cash the customer handed over.<', empty.content.decode())
    assert not Order.objects.exists() and on_hand(store, "HOOD-GREY-L") == 3
    assert 'id="till-total">£45.00<' in short.content.decode()  # the basket is still there


def test_a_card_sale_takes_no_cash_and_shows_what_was_paid(shelf, store):
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})

    sold = till.post("/till/", {"action": "sell", "payment_method": "card_present", "cash_tendered": "junk"},
                     follow=True)

    assert Order.objects.get().payment.tendered_amount is None
    assert "Change due" not in text(sold) and 'id="sale-paid">Paid <span id="sale-total">£20.00<' in (
        sold.content.decode())


def test_only_roles_that_sell_at_the_till_get_in_and_only_at_their_stores(shelf, store, other_store):
    assert signed_in(PICKUP_STAFF, store).get("/till/").status_code == 403
    assert Client().get("/till/").status_code == 302  # to the sign-in page
    elsewhere = signed_in(STORE_STAFF, store).get(f"/till/?store={other_store.code}")
    assert elsewhere.status_code == 200 and other_store.name not in text(elsewhere)  # their own store's till


def test_a_sale_and_its_receipt_are_shown_only_to_till_staff_of_that_store(shelf, store, other_store):
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})
    till.post("/till/", {"action": "sell", "payment_method": "card_present"})
    number = Order.objects.get().number

    for path in (f"/till/sales/{number}/", f"/till/sales/{number}/receipt/"):
        assert till.get(path).status_code == 200
        assert signed_in(STORE_STAFF, other_store).get(path).status_code == 404
        assert signed_in(PICKUP_STAFF, store).get(path).status_code == 403


def test_an_unknown_customer_or_payment_method_is_said_next_to_the_field_and_nothing_is_sold(shelf, store):
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})

    stranger = till.post("/till/", {"action": "sell", "payment_method": "cash", "cash_tendered": "20",
                                    "customer_email": "who@example.com"})
    no_method = till.post("/till/", {"action": "sell", "payment_method": "voucher"})

    assert stranger.status_code == 400 and re.search(r'id="email-error"[^>]*>No customer has that email',
                                                     stranger.content.decode())
    assert no_method.status_code == 400 and re.search(r'id="payment-error"[^>]*>Choose cash or card.',
                                                      no_method.content.decode())
    assert Order.objects.count() == 0
    assert on_hand(store, "TEE-NAVY-M") == 10
    assert 'id="till-total">£20.00<' in no_method.content.decode()  # the basket is still there


def test_selling_to_a_customer_typed_by_email_still_joins_their_account(shelf, store):
    ada = register()
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})

    till.post("/till/", {"action": "sell", "payment_method": "cash", "cash_tendered": "20",
                         "customer_email": "ADA@example.com"})

    assert Order.objects.get().customer == ada


# The customer's online basket ---------------------------------------------------------------------


def adas_basket(*lines):
    """Ada, with +44 7700 900123 on file, and these (sku, quantity) in the cart her phone app shows."""
    ada = register()
    customer_services.customer_update(customer=ada, channel=Channel.objects.get(code=Channel.MOBILE),
                                      phone="+44 7700 900123")
    phone = app_client(ada)
    for sku, quantity in lines:
        added = phone.post("/api/v1/cart/lines/", {"sku": sku, "quantity": quantity}, format="json")
        assert added.status_code == 201, added.json()
    return ada, phone


def test_a_customers_online_basket_found_by_phone_is_sold_at_the_till_and_leaves_their_app_cart(shelf, store):
    ada, phone = adas_basket(("TEE-NAVY-M", 2), ("HOOD-GREY-L", 1))
    till = signed_in(STORE_STAFF, store)

    found = till.post("/till/", {"action": "find_customer", "contact": "07700 900 123"}, follow=True)

    assert "Selling to Ada." in text(found) and "ada@example.com" in text(found)
    assert "2 × Organic Tee" in text(found) and "1 × Organic Tee" in text(found)  # her online basket
    loaded = till.post("/till/", {"action": "load_cart"}, follow=True)
    assert "Loaded 3 items from Ada's online basket." in text(loaded)
    assert 'id="till-total">£85.00<' in loaded.content.decode()  # 2 × 20.00 + 45.00
    again = till.post("/till/", {"action": "load_cart"}, follow=True)
    assert 'id="till-total">£85.00<' in again.content.decode()  # loading twice changes nothing

    sold = till.post("/till/", {"action": "sell", "payment_method": "card_present"}, follow=True)

    assert Order.objects.get().customer == ada
    assert "their online basket holds only what they did not buy here" in text(sold)
    assert phone.get("/api/v1/cart/").json()["lines"] == []  # the app shows an empty cart
    assert "Nothing scanned yet." in text(till.get("/till/"))
    assert "Selling to" not in text(till.get("/till/"))  # the next shopper is nobody in particular


def test_a_partial_sale_leaves_the_rest_in_the_customers_online_basket(shelf, store):
    ada, phone = adas_basket(("TEE-NAVY-M", 3), ("HOOD-GREY-L", 1))
    till = signed_in(STORE_STAFF, store)
    till.post("/till/", {"action": "find_customer", "contact": "ada@example.com"})
    till.post("/till/", {"action": "add", "code": "TEE-NAVY-M"})  # she takes one tee today

    till.post("/till/", {"action": "sell", "payment_method": "cash", "cash_tendered": "20"})

    cart = phone.get("/api/v1/cart/").json()
    assert [(l["sku"], l["quantity"]) for l in cart["lines"]] == [("TEE-NAVY-M", 2), ("HOOD-GREY-L", 1)]


def test_a_phone_number_is_found_however_it_is_written(shelf, store):
    adas_basket()
    till = signed_in(STORE_STAFF, store)

    for written in ("+447700900123", "0044 7700 900123", "07700-900123", "447700900123", "(07700) 900 123",
                    "+44 (0)7700 900123"):
        page = till.post("/till/", {"action": "find_customer", "contact": written}, follow=True)
        assert "Selling to Ada." in text(page), written
        till.post("/till/", {"action": "forget_customer"})


def test_an_unknown_customer_is_said_next_to_the_field(shelf, store):
    adas_basket()
    till = signed_in(STORE_STAFF, store)

    unknown = till.post("/till/", {"action": "find_customer", "contact": "07700 900999"})

    assert unknown.status_code == 400
    assert re.search(r'id="contact-error"[^>]*>No customer has the email or phone number &#x27;07700 900999&#x27;.<',
                     unknown.content.decode())
    assert "Selling to" not in text(unknown)


def test_customers_sharing_a_phone_are_listed_to_choose_from(shelf, store):
    ada, _ = adas_basket()
    grace = customer_services.customer_update(
        customer=Customer.objects.create(email="grace@example.com", first_name="Grace"),
        channel=Channel.objects.get(code=Channel.TILL), phone="07700900123")
    till = signed_in(STORE_STAFF, store)

    listed = till.post("/till/", {"action": "find_customer", "contact": "07700 900123"})

    assert listed.status_code == 200 and "2 customers have that number; choose one:" in text(listed)
    assert "Ada" in text(listed) and "Grace" in text(listed)
    chosen = till.post("/till/", {"action": "choose_customer", "customer": str(grace.pk)}, follow=True)
    assert "Selling to Grace." in text(chosen) and ada.email not in text(chosen)
