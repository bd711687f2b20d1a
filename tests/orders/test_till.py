"""The till shows the shopper's total before payment, with the same breakdown as the web and the app (the
store's own price, tax at the store's country), and the sale then records exactly those figures. The
quote changes nothing; refusals say why. Codes are found in any case; what the customer holds is sold even
when the ledger says the store has none (booked as found); cash gives change; a named customer's online
cart loses what they bought."""
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from backoffice.roles import PICKUP_STAFF, STORE_STAFF, role_assign
from catalog.models import Channel, TaxClass
from customers.models import Interaction
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_drift
from orders.models import Order
from tests.customers.conftest import app_client, register
from tests.factories import PriceFactory, UserFactory

pytestmark = pytest.mark.django_db


def counter(role, *stores):
    client = APIClient()
    client.force_authenticate(role_assign(user=UserFactory(), role=role, stores=stores))
    return client


def test_the_till_quote_shows_what_the_sale_then_charges_to_the_penny(shelf, store):
    tee, hoodie = shelf
    PriceFactory(variant=tee, channel=Channel.objects.get(code=Channel.TILL), location=store, amount="15.00")
    hoodie.product.tax_class = TaxClass.ZERO
    hoodie.product.save(update_fields=["tax_class"])
    till = counter(STORE_STAFF, store)
    basket = {"store": store.code, "lines": [{"sku": "TEE-NAVY-M", "quantity": 3}, {"sku": hoodie.barcode}]}
    movements = StockMovement.objects.count()

    quoted = till.post("/api/v1/staff/till/quote/", basket, format="json")

    assert quoted.status_code == 200, quoted.json()
    q = quoted.json()
    # the store's own 15.00 for the tee, 45.00 zero-rated hoodie; 45.00 of tee carries 7.50 VAT at 20%
    assert [(l["sku"], l["unit_price"], l["tax_rate"], l["tax"]) for l in q["lines"]] == [
        ("TEE-NAVY-M", "15.00", "20.00", "7.50"), ("HOOD-GREY-L", "45.00", "0.00", "0.00")]
    assert (q["total"], q["tax"], q["tax_country"]) == ("90.00", "7.50", "GB")
    assert Order.objects.count() == 0 and StockMovement.objects.count() == movements  # a quote changes nothing

    sale = till.post("/api/v1/staff/till/sales/", {**basket, "payment_method": "cash"}, format="json").json()

    assert (sale["total_amount"], sale["tax_amount"]) == (q["total"], q["tax"])
    assert [l["tax_amount"] for l in sale["lines"]] == [l["tax"] for l in q["lines"]]
    assert Order.objects.get(number=sale["number"]).payment.captured_amount == Decimal(q["total"])


def test_the_till_quote_refuses_what_the_store_does_not_sell_and_staff_of_other_stores(shelf, store, other_store):
    from tests.factories import VariantFactory

    VariantFactory(sku="UNPRICED")
    mine = counter(STORE_STAFF, store)

    unpriced = mine.post("/api/v1/staff/till/quote/", {"store": store.code, "lines": [{"sku": "UNPRICED"}]},
                         format="json")
    unknown = mine.post("/api/v1/staff/till/quote/", {"store": store.code, "lines": [{"sku": "NOPE"}]}, format="json")
    elsewhere = mine.post("/api/v1/staff/till/quote/", {"store": other_store.code, "lines": [{"sku": "TEE-NAVY-M"}]},
                          format="json")
    no_till_role = counter(PICKUP_STAFF, store).post(
        "/api/v1/staff/till/quote/", {"store": store.code, "lines": [{"sku": "TEE-NAVY-M"}]}, format="json")

    assert unpriced.status_code == 422 and f"Not sold at {store.name}: UNPRICED." in unpriced.json()["message"]
    assert unknown.status_code == 400 and "Nothing has SKU or barcode 'NOPE'." in str(unknown.json())
    assert elsewhere.status_code == 403
    assert no_till_role.status_code == 403 and "does not sell at the till" in str(no_till_role.json())


def test_skus_and_barcodes_are_found_in_any_case_and_with_spaces(shelf, store):
    _, hoodie = shelf
    spaced = f" {hoodie.barcode[:4]} {hoodie.barcode[4:]} "
    lines = [{"sku": "tee-navy-m", "quantity": 2}, {"sku": " Hood-Grey-L "}, {"sku": spaced}]

    quoted = counter(STORE_STAFF, store).post("/api/v1/staff/till/quote/", {"store": store.code, "lines": lines},
                                              format="json")

    assert quoted.status_code == 200, quoted.json()
    assert [(l["sku"], l["quantity"]) for l in quoted.json()["lines"]] == [
        ("TEE-NAVY-M", 2), ("HOOD-GREY-L", 1), ("HOOD-GREY-L", 1)]


def test_what_the_ledger_says_the_store_lacks_is_sold_and_booked_as_found(shelf, store):
    _, hoodie = shelf  # 3 hoodies on the books
    seller = role_assign(user=UserFactory(username="sam"), role=STORE_STAFF, stores=[store])
    till = APIClient()
    till.force_authenticate(seller)

    sold = till.post("/api/v1/staff/till/sales/", {"store": store.code, "payment_method": "card_present",
                                                   "lines": [{"sku": "HOOD-GREY-L", "quantity": 5}]}, format="json")

    assert sold.status_code == 201, sold.json()
    found = StockMovement.objects.get(reason=StockMovement.Reason.FOUND_AT_TILL)
    assert (found.location, found.variant, found.on_hand_delta, found.actor, found.reference) == (
        store, hoodie, 2, seller, f"order:{sold.json()['number']}")
    assert StockLevel.objects.get(location=store, variant=hoodie).on_hand == 0
    assert ledger_drift(location=store) == []


def test_a_till_sale_to_a_customer_leaves_only_the_rest_in_their_app_cart(shelf, store):
    ada = register()
    phone = app_client(ada)
    for sku, quantity in (("TEE-NAVY-M", 3), ("HOOD-GREY-L", 1)):
        phone.post("/api/v1/cart/lines/", {"sku": sku, "quantity": quantity}, format="json")

    sold = counter(STORE_STAFF, store).post("/api/v1/staff/till/sales/", {
        "store": store.code, "payment_method": "cash", "customer_email": "Ada@Example.com",
        "lines": [{"sku": "TEE-NAVY-M", "quantity": 2}, {"sku": "HOOD-GREY-L"}]}, format="json")

    assert sold.status_code == 201, sold.json()
    cart = phone.get("/api/v1/cart/").json()
    assert [(l["sku"], l["quantity"]) for l in cart["lines"]] == [("TEE-NAVY-M", 1)]
    touched = ada.interactions.filter(kind=Interaction.Kind.CART_CHANGED, channel__code=Channel.TILL).get()
    assert touched.detail == {"bought": {"TEE-NAVY-M": 2, "HOOD-GREY-L": 1}}


def test_cash_tendered_gives_the_change_and_too_little_is_refused_changing_nothing(shelf, store):
    till = counter(STORE_STAFF, store)
    basket = {"store": store.code, "payment_method": "cash", "lines": [{"sku": "HOOD-GREY-L"}]}  # 45.00

    short = till.post("/api/v1/staff/till/sales/", {**basket, "cash_tendered": "40.00"}, format="json")
    paid = till.post("/api/v1/staff/till/sales/", {**basket, "cash_tendered": "50"}, format="json")

    assert short.status_code == 422
    assert short.json()["message"] == "£40.00 is less than the total of £45.00: take at least the total."
    assert short.json()["detail"]["field"] == "cash_tendered"
    assert paid.status_code == 201, paid.json()
    assert (paid.json()["cash_tendered"], paid.json()["change_due"]) == ("50.00", "5.00")
    assert Order.objects.count() == 1  # the refused sale left no order
    assert StockLevel.objects.get(location=store, variant__sku="HOOD-GREY-L").on_hand == 2
