"""The till shows the shopper's total before payment, with the same breakdown as the web and the app (the
store's own price, tax at the store's country), and the sale then records exactly those figures. The
quote changes nothing; refusals say why."""
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from backoffice.roles import PICKUP_STAFF, STORE_STAFF, role_assign
from catalog.models import Channel, TaxClass
from inventory.models import StockMovement
from orders.models import Order
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
