"""Checkout without a browser (the card is made with the Stripe double's API, as the page's script does):
every refusal is shown next to its field and places no order; a double submit places one order and sends
one confirmation."""
import re
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core import mail
from django.test import Client

from inventory.models import StockLevel
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from orders.models import Order
from tests.factories import card
from tests.test_jobs import counting_sms  # noqa: F401  (a fixture)

from .helpers import error_next_to, idempotency_key, page

pytestmark = pytest.mark.django_db


@pytest.fixture
def at_checkout(browser, goods):
    browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 2})
    return idempotency_key(browser.get("/checkout/"))


def pickup(place, key, **changes):
    return {"fulfilment": "pickup", "store": place.code, "email": "grace@example.com",
            "payment_method": "pay_at_pickup", "idempotency_key": key, **changes}


def delivery(key, **changes):
    return {"fulfilment": "delivery", "name": "Grace Hopper", "line1": "1 Deansgate", "city": "Manchester",
            "postcode": "M3 1AZ", "country": "GB", "email": "grace@example.com", "payment_method": "card",
            "delivery_method": "standard", "idempotency_key": key, **changes}


@pytest.mark.parametrize("changes, field, message", [
    ({"store": ""}, "id_store", "Choose the store to collect from."),
    ({"email": "not-an-email"}, "id_email", "Enter an email address like name@example.com."),
    ({"email": ""}, "id_email", "Give an email address for the order confirmation."),
    ({"payment_method": "card"}, "card", "Enter your card details."),
    ({"voucher": "NOPE"}, "id_voucher", "'NOPE' is not a valid code."),
])
def test_each_refusal_is_shown_next_to_its_field_and_places_no_order(browser, at_checkout, store, changes, field,
                                                                     message):
    response = browser.post("/checkout/", pickup(store, at_checkout, **changes))
    assert response.status_code in (400, 422)
    assert error_next_to(response, field) == message
    assert not Order.objects.exists()


def test_a_delivery_without_an_address_names_each_missing_line(browser, at_checkout):
    response = browser.post("/checkout/", delivery(at_checkout, name="", line1="", city="", postcode=""))
    assert response.status_code == 400
    assert error_next_to(response, "id_line1") == "Enter the first line of the address."
    assert error_next_to(response, "id_postcode") == "Enter the postcode."
    assert not Order.objects.exists()


def test_pay_at_pickup_is_refused_for_a_delivery(browser, at_checkout):
    response = browser.post("/checkout/", delivery(at_checkout, payment_method="pay_at_pickup"))
    assert error_next_to(response, "id_payment_method") == "Pay at pickup is only for orders collected in store."
    assert not Order.objects.exists()


def test_a_declined_card_is_said_next_to_the_card_and_holds_no_stock(browser, at_checkout, store, stripe_double,
                                                                       goods):
    response = browser.post("/checkout/", pickup(store, at_checkout, payment_method="card",
                                                 payment_method_id=card(stripe_double, "4000000000000341")))
    assert response.status_code == 402
    assert "declined" in error_next_to(response, "card").lower()
    assert not Order.objects.exists()
    level = StockLevel.objects.get(location=store, variant=goods[0])
    assert (level.reserved, level.committed) == (0, 0)


def test_a_double_submit_places_one_order_and_both_land_on_it(browser, at_checkout, store):
    first = browser.post("/checkout/", pickup(store, at_checkout))
    second = browser.post("/checkout/", pickup(store, at_checkout))
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    order = Order.objects.get()
    assert first["Location"].startswith(f"/orders/{order.number}/?key=")
    assert StockLevel.objects.get(location=store, variant=order.lines.get().variant).committed == 2
    messages_deliver_pending()
    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["grace@example.com"], f"Thank you for your order {order.number}")]


def test_a_guest_who_gives_a_mobile_number_gets_the_confirmation_by_text_too(browser, at_checkout, store,
                                                                            counting_sms):
    response = browser.post("/checkout/", pickup(store, at_checkout, phone="+447700900123"))
    assert response.status_code == 302
    order = Order.objects.get()
    messages_deliver_pending()

    [(phone, text)] = counting_sms
    assert phone == order.phone and f"order {order.number}, £40.00" in text
    # The text links to the order page the checkout went to (signed a moment apart, so the signatures' times may
    # differ by a second), and the link opens it.
    sent = re.search(r"https?://[^/\s]+(/orders/\S+)", text).group(1)
    assert sent.split("?")[0] == response["Location"].split("?")[0]
    assert order.number in page(Client().get(sent))
    assert [m.subject for m in mail.outbox] == [f"Thank you for your order {order.number}"]


def test_the_same_form_changed_after_the_order_was_placed_asks_before_placing_another(signed_in, goods, store):
    signed_in.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 2})
    key = idempotency_key(signed_in.get("/checkout/"))
    signed_in.post("/checkout/", pickup(store, key))
    signed_in.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 1})
    response = signed_in.post("/checkout/", pickup(store, key, phone="07700 900123"))
    assert response.status_code == 409
    assert "This form was already used to place an order" in page(response)
    assert Order.objects.count() == 1
    assert idempotency_key(response) != key


def test_a_card_paid_delivery_charges_the_delivery_and_confirms_by_email(browser, at_checkout, stripe_double,
                                                                         warehouse, goods):
    from inventory import services as stock
    stock.stock_receive(location=warehouse, variant=goods[0], quantity=10)
    quoted = browser.post("/checkout/", delivery(at_checkout, action="quote", delivery_method=""))
    assert quoted.status_code == 200 and 'id="order-total">£43.95<' in page(quoted)
    response = browser.post("/checkout/", delivery(at_checkout, payment_method_id=card(stripe_double)))
    assert response.status_code == 302, error_next_to(response, "card")
    order = Order.objects.get()
    assert (order.total_amount, order.delivery_amount, order.payment.authorised_amount) == (
        Decimal("43.95"), Decimal("3.95"), Decimal("43.95"))
    email = OutboxMessage.objects.get(template="order_confirmation")
    assert (email.recipient, email.subject) == ("grace@example.com", f"Thank you for your order {order.number}")
    assert "Delivery (Standard delivery): £3.95" in email.body and "Total: £43.95, including £7.33 tax" in email.body
    link, receipt = re.findall(r"https?://\S+", email.body)
    opened = Client().get(urlsplit(link).path, dict(parse_qsl(urlsplit(link).query)))
    assert opened.status_code == 200 and f"Order {order.number}" in page(opened)
    printed = Client().get(urlsplit(receipt).path, dict(parse_qsl(urlsplit(receipt).query)))
    assert printed.status_code == 200 and 'id="vat-total">£7.33<' in page(printed)  # 6.67 in 40.00, 0.66 in 3.95


def test_an_empty_basket_cannot_check_out(browser, goods):
    response = browser.get("/checkout/", follow=True)
    assert "Your basket is empty: add something before checking out." in page(response)


def test_a_store_without_the_stock_that_nowhere_can_send_is_refused_next_to_the_store_with_what_is_short(
        browser, at_checkout, store, other_store):
    store.ships_orders = False  # the only stock is London's, kept for its own shoppers: nothing can be sent
    store.save()
    response = browser.post("/checkout/", pickup(other_store, at_checkout))
    assert response.status_code == 409
    assert error_next_to(response, "id_store") == (
        "Not enough in stock at Manchester Arndale: Organic Tee (TEE-NAVY-M): 0 left, you want 2. "
        "Choose another store or delivery, or change your basket.")
    assert not Order.objects.exists()
