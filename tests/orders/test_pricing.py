"""Totals a shopper can trust: delivery methods and rates, tax-inclusive prices with the tax broken out,
rounding per line in the order's currency, the same figures before payment, on the order, at Stripe and
on refunds."""
import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from catalog.models import TaxClass, TaxRate
from fulfillment.models import Fulfillment
from inventory import services as stock
from orders.models import DeliveryMethod, DeliveryRate, Order, Refund, Voucher
from orders.pricing import delivery_options, quote
from orders.stripe_gateway import to_minor_units
from tests.customers.conftest import app_client, register
from tests.factories import LocationFactory, ProductFactory, UserFactory, VariantFactory, card

pytestmark = pytest.mark.django_db

D = Decimal
NEAR_LONDON = {"name": "Ada", "line1": "1 Strand", "city": "London", "postcode": "WC2N 5HR",
               "latitude": 51.508, "longitude": -0.125}
DUBLIN = {"name": "Ada", "line1": "1 Grafton St", "city": "Dublin", "postcode": "D02 XY00", "country": "IE",
          "latitude": 53.34, "longitude": -6.26}


def variant(tax_class=TaxClass.STANDARD, grams=300, sku=None):
    return VariantFactory(weight_grams=grams, product=ProductFactory(tax_class=tax_class),
                          **({"sku": sku} if sku else {}))


# The arithmetic -------------------------------------------------------------------------------


def test_tax_is_taken_out_of_tax_inclusive_prices_per_line_rounded_half_up():
    one_line = quote(lines=[(variant(), 3, D("0.33"))], currency="GBP", tax_country="GB")
    three_lines = quote(lines=[(variant(), 1, D("0.33")) for _ in range(3)], currency="GBP", tax_country="GB")

    # 0.99 × 20/120 = 0.165 → 0.17 on one line; 0.33 × 20/120 = 0.055 → 0.06 on each of three lines
    assert (one_line.total, one_line.tax) == (D("0.99"), D("0.17"))
    assert (three_lines.total, three_lines.tax) == (D("0.99"), D("0.18"))
    assert [line.tax for line in three_lines.lines] == [D("0.06")] * 3


def test_each_tax_class_has_its_own_rate_and_zero_rated_goods_carry_no_tax():
    book, child_seat, tee = variant(TaxClass.ZERO), variant(TaxClass.REDUCED), variant()

    q = quote(lines=[(book, 1, D("12.00")), (child_seat, 1, D("105.00")), (tee, 1, D("24.00"))], currency="GBP",
              tax_country="GB")

    assert [(line.tax_rate, line.tax) for line in q.lines] == [(D("0"), D("0.00")), (D("5"), D("5.00")),
                                                               (D("20"), D("4.00"))]
    assert (q.tax, q.total) == (D("9.00"), D("141.00"))


def test_a_hundred_percent_voucher_leaves_no_goods_tax_but_delivery_is_still_charged_and_taxed():
    standard = [o for o in delivery_options(kind="delivery", country="GB", currency="GBP", goods_amount=D("0"),
                                            weight_grams=300) if o.method.code == "standard"][0]

    q = quote(lines=[(variant(), 2, D("19.99"))], currency="GBP", tax_country="GB", discount=D("39.98"),
              delivery=standard)

    assert [(line.discount, line.tax) for line in q.lines] == [(D("39.98"), D("0.00"))]
    assert (q.delivery_amount, q.delivery_tax, q.tax, q.total) == (D("3.95"), D("0.66"), D("0.66"), D("3.95"))


def test_a_zero_decimal_currency_rounds_to_whole_units_and_stripe_gets_whole_yen():
    TaxRate.objects.create(country="JP", tax_class=TaxClass.STANDARD, rate=D("10"))

    q = quote(lines=[(variant(), 1, D("1999")), (variant(), 1, D("1001"))], currency="JPY", tax_country="JP",
              discount=D("1000"))

    # the discount splits 666 / 334 (whole yen, summing to 1000); tax 1333×10/110 = 121.18 → 121, 667 → 60.64 → 61
    assert [line.discount for line in q.lines] == [D("666"), D("334")]
    assert [line.tax for line in q.lines] == [D("121"), D("61")]
    assert (q.total, to_minor_units(q.total, "JPY")) == (D("2000"), 2000)


# Delivery methods and rates ---------------------------------------------------------------------


def codes(options):
    return [(o.method.code, str(o.amount)) for o in options]


def test_the_methods_offered_depend_on_destination_value_and_weight():
    gb = dict(kind="delivery", country="GB", currency="GBP")

    assert codes(delivery_options(**gb, goods_amount=D("20"), weight_grams=600)) == [
        ("standard", "3.95"), ("express", "7.95")]
    assert codes(delivery_options(**gb, goods_amount=D("50"), weight_grams=600)) == [  # free from 50.00
        ("standard", "0.00"), ("express", "7.95")]
    assert codes(delivery_options(**gb, goods_amount=D("20"), weight_grams=25_000)) == [("standard", "3.95")]
    assert codes(delivery_options(**gb, goods_amount=D("200"), weight_grams=45_000)) == [("standard", "9.95")]
    assert codes(delivery_options(kind="delivery", country="IE", currency="GBP", goods_amount=D("20"),
                                  weight_grams=600)) == [("standard", "9.95")]
    assert delivery_options(kind="delivery", country="FR", currency="GBP", goods_amount=D("20"), weight_grams=1) == []
    assert codes(delivery_options(**gb, goods_amount=D("20"), weight_grams=600, one_location=False)) == [
        ("standard", "3.95")]  # express needs one location to send it all


def test_a_postcode_region_rate_beats_the_countrywide_rate():
    standard = DeliveryMethod.objects.get(code="standard")
    DeliveryRate.objects.create(method=standard, country="GB", postcode_prefix="BT", price_amount=D("6.50"),
                                min_days=3, max_days=6)

    belfast = delivery_options(kind="delivery", country="GB", postcode="bt1 5gs", currency="GBP",
                               goods_amount=D("20"), weight_grams=600)
    assert codes(belfast)[0] == ("standard", "6.50")


# Through the API ---------------------------------------------------------------------------------


@pytest.fixture
def shopper(db):
    return app_client(register())


def fill(client, *lines):
    for sku, quantity in lines:
        assert client.post("/api/v1/cart/lines/", {"sku": sku, "quantity": quantity}, format="json").status_code == 201


def checkout(client, **body):
    return client.post("/api/v1/checkout/", body, format="json", headers={"Idempotency-Key": str(uuid.uuid4())})


def test_the_quote_shows_the_whole_breakdown_and_the_order_freezes_exactly_it(shopper, shelf, store, stripe_double):
    Voucher.objects.create(code="TENOFF", kind=Voucher.Kind.FIXED, value=D("10.00"), currency="GBP")
    fill(shopper, ("TEE-NAVY-M", 1), ("HOOD-GREY-L", 1))
    choice = {"fulfilment": "delivery", "address": NEAR_LONDON, "voucher": "TENOFF"}

    before = shopper.post("/api/v1/checkout/quote/", choice, format="json").json()
    assert [o["method"] for o in before["delivery_options"]] == ["standard", "express"]
    assert before["delivery"] is None  # nothing chosen yet: no delivery charged

    quoted = shopper.post("/api/v1/checkout/quote/", {**choice, "delivery_method": "express"}, format="json").json()
    # goods 65.00 − 10.00; express 7.95; tax: tee 16.92×20/120 = 2.82, hoodie 38.08×20/120 = 6.35, delivery 1.33
    assert [(l["sku"], l["discount"], l["tax"]) for l in quoted["lines"]] == [
        ("TEE-NAVY-M", "3.08", "2.82"), ("HOOD-GREY-L", "6.92", "6.35")]
    assert {k: quoted[k] for k in ("subtotal", "discount", "delivery_amount", "delivery_tax", "tax", "total")} == {
        "subtotal": "65.00", "discount": "10.00", "delivery_amount": "7.95", "delivery_tax": "1.33",
        "tax": "10.50", "total": "62.95"}

    placed = checkout(shopper, **choice, delivery_method="express", payment_method="card",
                      payment_method_id=card(stripe_double))

    assert placed.status_code == 201, placed.json()
    order = placed.json()
    assert (order["total_amount"], order["tax_amount"], order["delivery_amount"], order["delivery_method"]) == (
        "62.95", "10.50", "7.95", "express")
    assert [l["tax_amount"] for l in order["lines"]] == ["2.82", "6.35"]
    intent = stripe_double.v1.payment_intents.retrieve(Order.objects.get(number=order["number"]).payment.stripe_payment_intent)
    assert (intent.amount, intent.currency) == (6295, "gbp")  # to the penny: what the shopper was shown


def test_delivery_needs_a_method_the_order_can_have(shopper, shelf, stripe_double):
    fill(shopper, ("TEE-NAVY-M", 1))

    unchosen = checkout(shopper, fulfilment="delivery", address=NEAR_LONDON, payment_method="card",
                        payment_method_id=card(stripe_double))
    unknown = checkout(shopper, fulfilment="delivery", address=NEAR_LONDON, delivery_method="drone",
                       payment_method="card", payment_method_id=card(stripe_double))
    abroad = checkout(shopper, fulfilment="delivery", address={**NEAR_LONDON, "country": "FR"},
                      delivery_method="standard", payment_method="card", payment_method_id=card(stripe_double))

    assert unchosen.status_code == unknown.status_code == abroad.status_code == 422
    assert "Choose a delivery method: standard (3.95 GBP), express (7.95 GBP)" in unchosen.json()["message"]
    assert "'drone' is not available for this order" in unknown.json()["message"]
    assert "We cannot deliver this order to FR" in abroad.json()["message"]
    assert Order.objects.count() == 0
    assert shopper.get("/api/v1/cart/").json()["lines"][0]["quantity"] == 1


def test_a_delivery_is_taxed_at_the_destinations_rates(shopper, shelf, store, stripe_double):
    fill(shopper, ("TEE-NAVY-M", 1))

    to_dublin = shopper.post("/api/v1/checkout/quote/", {"fulfilment": "delivery", "address": DUBLIN,
                                                         "delivery_method": "standard"}, format="json").json()

    # 20.00 at Ireland's 23%: 3.74; delivery 9.95 at 23%: 1.86
    assert (to_dublin["tax_country"], to_dublin["lines"][0]["tax_rate"], to_dublin["lines"][0]["tax"]) == (
        "IE", "23.00", "3.74")
    assert (to_dublin["delivery_tax"], to_dublin["total"]) == ("1.86", "29.95")


def test_a_pickup_is_free_and_taxed_at_the_stores_country(shopper, shelf, stripe_double):
    tee, _ = shelf
    dublin_store = LocationFactory(code="DUB-GRF", name="Dublin Grafton Street", country="IE", city="Dublin",
                                   latitude=53.34, longitude=-6.26)
    stock.stock_receive(location=dublin_store, variant=tee, quantity=2)
    fill(shopper, ("TEE-NAVY-M", 1))

    placed = checkout(shopper, fulfilment="pickup", store="DUB-GRF", payment_method="pay_at_pickup").json()

    assert (placed["tax_country"], placed["delivery_amount"], placed["tax_amount"], placed["total_amount"]) == (
        "IE", "0.00", "3.74", "20.00")


def test_the_cart_quote_uses_the_store_chosen_on_the_cart(shopper, shelf, store):
    fill(shopper, ("TEE-NAVY-M", 3))
    assert shopper.get("/api/v1/cart/quote/").status_code == 400  # nothing chosen yet
    shopper.put("/api/v1/cart/fulfilment/", {"method": "pickup", "store": store.code}, format="json")

    totals = shopper.get("/api/v1/cart/quote/").json()

    assert (totals["total"], totals["tax"], totals["delivery"]["method"]) == ("60.00", "10.00", "pickup")


def test_a_till_sale_is_taxed_at_the_stores_country(shelf):
    tee, _ = shelf
    belfast_is_gb = LocationFactory(code="DUB-TILL", name="Dublin Henry St", country="IE", sells_in_store=True)
    stock.stock_receive(location=belfast_is_gb, variant=tee, quantity=1)
    staff = UserFactory(is_staff=True, is_superuser=True)
    till = APIClient()
    till.force_authenticate(staff)

    sale = till.post("/api/v1/staff/till/sales/", {"store": "DUB-TILL", "payment_method": "cash",
                                                   "lines": [{"sku": "TEE-NAVY-M", "quantity": 1}]}, format="json")

    assert sale.status_code == 201, sale.json()
    assert (sale.json()["tax_country"], sale.json()["tax_amount"], sale.json()["total_amount"]) == ("IE", "3.74", "20.00")


# Refunds ----------------------------------------------------------------------------------------


def test_refunds_give_back_each_lines_tax_and_the_delivery_once_the_whole_order_is_back(shopper, shelf, store,
                                                                                        stripe_double):
    from tests.fulfillment.test_ship_and_returns import send, staff_of

    fill(shopper, ("TEE-NAVY-M", 2), ("HOOD-GREY-L", 1))
    number = checkout(shopper, fulfilment="delivery", address=NEAR_LONDON, delivery_method="standard",
                      payment_method="card", payment_method_id=card(stripe_double)).json()["number"]
    order = Order.objects.get(number=number)
    assert (order.total_amount, order.delivery_amount) == (D("85.00"), D("0.00"))  # over 50.00: free delivery
    send(staff_of(store), Fulfillment.objects.get(order=order))
    lines = {l.sku: l for l in order.lines.all()}
    counter = staff_of(store)

    def give_back(sku, units):
        response = counter.post("/api/v1/staff/returns/receive/", {
            "order": number, "store": store.code,
            "lines": [{"line_id": lines[sku].pk, "quantity": units, "condition": "resellable"}]}, format="json")
        assert response.status_code == 200, response.json()
        return Refund.objects.order_by("-id").first()

    first = give_back("TEE-NAVY-M", 1)
    # the line's tax is 40.00 × 20/120 = 6.67: half of it rounds up to 3.34, the rest is 3.33
    assert (first.amount, first.tax_amount, first.delivery_amount) == (D("20.00"), D("3.34"), D("0"))
    rest = give_back("TEE-NAVY-M", 1)
    assert (rest.amount, rest.tax_amount, rest.delivery_amount) == (D("20.00"), D("3.33"), D("0"))


def test_the_whole_order_returned_refunds_the_delivery_too(shopper, shelf, store, stripe_double):
    from tests.fulfillment.test_ship_and_returns import send, staff_of

    fill(shopper, ("TEE-NAVY-M", 1))
    number = checkout(shopper, fulfilment="delivery", address=NEAR_LONDON, delivery_method="standard",
                      payment_method="card", payment_method_id=card(stripe_double)).json()["number"]
    order = Order.objects.get(number=number)
    send(staff_of(store), Fulfillment.objects.get(order=order))

    response = staff_of(store).post("/api/v1/staff/returns/receive/", {
        "order": number, "store": store.code,
        "lines": [{"line_id": order.lines.get().pk, "quantity": 1, "condition": "resellable"}]}, format="json")

    assert response.status_code == 200, response.json()
    refund = Refund.objects.get()
    # 20.00 + 3.95 delivery; tax 3.33 + 0.66
    assert (refund.amount, refund.delivery_amount, refund.tax_amount) == (D("23.95"), D("3.95"), D("3.99"))
    order.payment.refresh_from_db()
    assert order.payment.refunded_amount == D("23.95")
