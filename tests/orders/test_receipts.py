"""The receipt a shopper keeps and the till prints: every line with its VAT rate, the VAT summary per
rate (adding up to the order's tax and total), refunds with the VAT they gave back, the store that sold
it; opened by its owner or through the signed link, nobody else. The API carries the same summary."""
import re
import uuid
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from backoffice.roles import STORE_STAFF, role_assign
from catalog.models import TaxClass
from fulfillment.models import Fulfillment
from orders.models import Order, Voucher
from orders.selectors import order_link_key, order_tax_summary
from tests.customers.conftest import PASSWORD, app_client, register
from tests.factories import UserFactory, card
from tests.journeys.test_pickup_and_returns import staff_of
from tests.orders.test_pricing import NEAR_LONDON

pytestmark = pytest.mark.django_db

D = Decimal


def rows(html: str, table_id: str) -> list[list[str]]:
    """A table's body rows as the text of their cells."""
    table = re.search(rf'<table id="{table_id}".*?</table>', html, re.S).group(0)
    body = re.search(r"<tbody>(.*?)</tbody>", table, re.S).group(1)
    return [[re.sub(r"<[^>]+>", " ", cell).split()[0] if cell.strip() else "" for cell in
             re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)] for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def mixed_rate_delivery(shopper, shelf, stripe_double) -> dict:
    """A tee (20.00, standard 20%) and a hoodie made reduced-rate (45.00, 5%), delivered by express
    (7.95, taxed at the standard rate), with 10.00 off."""
    _, hoodie = shelf
    hoodie.product.tax_class = TaxClass.REDUCED
    hoodie.product.save(update_fields=["tax_class"])
    Voucher.objects.create(code="TENOFF", kind=Voucher.Kind.FIXED, value=D("10.00"), currency="GBP")
    for sku in ("TEE-NAVY-M", "HOOD-GREY-L"):
        shopper.post("/api/v1/cart/lines/", {"sku": sku, "quantity": 1}, format="json")
    placed = shopper.post("/api/v1/checkout/", {
        "fulfilment": "delivery", "address": NEAR_LONDON, "delivery_method": "express", "voucher": "TENOFF",
        "payment_method": "card", "payment_method_id": card(stripe_double)},
        format="json", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.json()
    return placed.json()


def test_the_vat_summary_groups_lines_and_delivery_by_rate_and_adds_up_to_the_order(shelf, stripe_double):
    order = mixed_rate_delivery(app_client(register()), shelf, stripe_double)

    # tee 20.00 − 3.08 = 16.92 at 20% → 2.82; delivery 7.95 at 20% → 1.33; hoodie 45.00 − 6.92 = 38.08 at 5% → 1.81
    assert order["tax_summary"] == [
        {"rate": "20.00", "net": "20.72", "tax": "4.15", "gross": "24.87"},
        {"rate": "5.00", "net": "36.27", "tax": "1.81", "gross": "38.08"},
    ]
    assert (order["tax_amount"], order["total_amount"], order["delivery_tax_rate"]) == ("5.96", "62.95", "20.00")
    bands = order_tax_summary(order=Order.objects.get(number=order["number"]))
    assert sum(b.tax for b in bands) == D(order["tax_amount"]) and sum(b.gross for b in bands) == D("62.95")


def test_the_receipt_prints_each_lines_rate_and_the_summary_through_the_signed_link(shelf, stripe_double):
    order = mixed_rate_delivery(app_client(register()), shelf, stripe_double)

    receipt = Client().get(order["receipt_url"])  # nobody signed in: the link is the key

    assert receipt.status_code == 200
    html = receipt.content.decode()
    assert "<title>Receipt " + order["number"] in html
    assert [(r[1], r[2], r[3], r[4]) for r in rows(html, "receipt-lines")] == [
        ("1", "£20.00", "20%", "£20.00"), ("1", "£45.00", "5%", "£45.00")]
    assert rows(html, "vat-summary") == [["20%", "£20.72", "£4.15", "£24.87"], ["5%", "£36.27", "£1.81", "£38.08"]]
    assert 'id="vat-total">£5.96<' in html and 'id="receipt-total">£62.95<' in html
    assert "Discount (TENOFF)" in html and "Express" in html


def test_the_receipt_is_refused_without_the_key_or_with_anothers(shelf, stripe_double):
    order = mixed_rate_delivery(app_client(register()), shelf, stripe_double)
    path = f"/orders/{order['number']}/receipt/"
    key = order["receipt_url"].split("key=")[1]
    anothers = order_link_key(Order(number="HT-OTHER"))

    assert Client().get(path).status_code == 404
    assert Client().get(f"{path}?key={key}x").status_code == 404
    assert Client().get(f"{path}?key={anothers}").status_code == 404
    assert Client().get(f"{path}?key={key}").status_code == 200

def test_the_owner_reaches_the_receipt_from_the_order_page_signed_in(shelf, stripe_double):
    shopper = register()
    order = mixed_rate_delivery(app_client(shopper), shelf, stripe_double)
    browser = Client()
    browser.post("/account/sign-in/", {"email": "ada@example.com", "password": PASSWORD})

    page = browser.get(f"/orders/{order['number']}/").content.decode()
    link = re.search(r'href="([^"]+)" id="receipt-link"', page).group(1).replace("&amp;", "&")

    assert browser.get(link).status_code == 200
    assert browser.get(f"/orders/{order['number']}/receipt/").status_code == 200  # the owner needs no key


def test_a_till_receipt_names_the_store_who_served_and_the_vat_number(shelf, store, settings):
    settings.SHOP_VAT_NUMBER = "GB 123 4567 89"
    store.address_line, store.postcode = "214 Oxford Street", "W1C 1DA"
    store.save(update_fields=["address_line", "postcode"])
    till = APIClient()
    till.force_authenticate(role_assign(user=UserFactory(username="sam", first_name="Sam"), role=STORE_STAFF,
                                        stores=[store]))

    sale = till.post("/api/v1/staff/till/sales/", {"store": store.code, "payment_method": "cash",
                                                   "lines": [{"sku": "TEE-NAVY-M", "quantity": 3}]}, format="json")

    assert sale.status_code == 201, sale.json()
    assert sale.json()["tax_summary"] == [{"rate": "20.00", "net": "50.00", "tax": "10.00", "gross": "60.00"}]
    html = Client().get(sale.json()["receipt_url"]).content.decode()
    assert f"{store.name}, 214 Oxford Street" in html and "W1C 1DA" in html
    assert "served by Sam" in html and 'id="vat-number">GB 123 4567 89<' in html
    assert "Paid by cash at the till" in html


def test_a_refund_shows_on_the_receipt_with_the_vat_and_delivery_it_gave_back(shelf, store, stripe_double):
    from tests.fulfillment.test_ship_and_returns import send

    shopper = app_client(register())
    shopper.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 1}, format="json")
    order = shopper.post("/api/v1/checkout/", {
        "fulfilment": "delivery", "address": NEAR_LONDON, "delivery_method": "standard", "payment_method": "card",
        "payment_method_id": card(stripe_double)}, format="json", headers={"Idempotency-Key": "r1"}).json()
    counter = staff_of(store)
    send(counter, Fulfillment.objects.get(order__number=order["number"]))
    line = Order.objects.get(number=order["number"]).lines.get()
    assert counter.post("/api/v1/staff/returns/receive/", {
        "order": order["number"], "store": store.code,
        "lines": [{"line_id": line.pk, "quantity": 1, "condition": "resellable"}]}, format="json").status_code == 200

    html = Client().get(order["receipt_url"]).content.decode()

    # the whole order came back: 20.00 + 3.95 delivery, VAT 3.33 + 0.66
    assert [r[2:] for r in rows(html, "receipt-refunds")] == [["£3.95", "£3.99", "−£23.95"]]


def test_the_back_office_order_page_links_to_the_receipt(shelf, store):
    admin = UserFactory(username="boss", is_staff=True, is_superuser=True)
    till = APIClient()
    till.force_authenticate(admin)
    number = till.post("/api/v1/staff/till/sales/", {"store": store.code, "payment_method": "card_present",
                                                     "lines": [{"sku": "TEE-NAVY-M", "quantity": 1}]},
                       format="json").json()["number"]
    browser = Client()
    browser.force_login(admin)

    page = browser.get(f"/admin/orders/order/{Order.objects.get(number=number).pk}/change/").content.decode()
    link = re.search(r'<a href="([^"]+)"[^>]*>Print the receipt</a>', page).group(1).replace("&amp;", "&")

    assert Client().get(link).status_code == 200 and number in Client().get(link).content.decode()


def test_money_is_shown_to_the_currencys_smallest_unit():
    from storefront.templatetags.shop import money, percent

    assert (money(D("1500"), "JPY"), money(D("19.5"), "GBP"), money(D("3"), "EUR")) == ("1,500 JPY", "£19.50", "€3.00")
    assert (percent(D("20.00")), percent(D("13.50")), percent(D("0"))) == ("20%", "13.5%", "0%")


def test_units_cancelled_before_sending_leave_the_vat_summary_and_what_is_captured_matches_it(shelf, store,
                                                                                             stripe_double):
    from tests.fulfillment.test_ship_and_returns import send
    from tests.orders.test_payments import received_at_stripe

    shopper = app_client(register())
    order = mixed_rate_delivery(shopper, shelf, stripe_double)
    hoodie = next(line for line in order["lines"] if line["sku"] == "HOOD-GREY-L")

    cancelled = shopper.post(f"/api/v1/orders/{order['number']}/cancel/",
                             {"lines": [{"id": hoodie["id"], "quantity": 1}]}, format="json")

    assert cancelled.status_code == 200, cancelled.json()
    # left: the tee (16.92 after its share of the voucher, VAT 2.82) and express delivery (7.95, VAT 1.33)
    assert cancelled.json()["tax_summary"] == [{"rate": "20.00", "net": "20.72", "tax": "4.15", "gross": "24.87"}]
    html = Client().get(order["receipt_url"]).content.decode()
    assert 'id="receipt-cancelled">−£38.08<' in html and 'id="receipt-charged">£24.87<' in html
    assert rows(html, "vat-summary") == [["20%", "£20.72", "£4.15", "£24.87"]]
    assert "1 cancelled" in html

    send(staff_of(store), Fulfillment.objects.get(order__number=order["number"]))

    payment = Order.objects.get(number=order["number"]).payment
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert (payment.captured_amount, received_at_stripe(intent)) == (D("24.87"), 2487)  # what the receipt says
