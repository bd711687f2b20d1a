"""Shipping and returns through the staff API against the local Stripe double: packing needs a
tracking number, shipping takes the money once (a split order when its last parcel leaves, less
what was cancelled), and returns at any store restock, refuse what cannot come back, and refund
no more than was paid."""
import uuid
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from fulfillment.models import Fulfillment, Return
from inventory import services as stock
from inventory.models import StockLevel
from orders import stripe_gateway
from orders.models import Order, Payment, Refund, Voucher
from tests.customers.conftest import app_client, register
from tests.factories import card
from tests.journeys.test_pickup_and_returns import order_from_the_app, staff_of
from tests.orders.test_payments import received_at_stripe

pytestmark = pytest.mark.django_db

NEAR_LONDON = {"name": "Ada Lovelace", "line1": "1 Strand", "city": "London", "postcode": "WC2N 5HR",
               "latitude": 51.508, "longitude": -0.125}
RECEIVE = "/api/v1/staff/returns/receive/"


def level(location, variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def place(phone, stripe_double, *lines, **choice) -> dict:
    """An order from the app with these (sku, quantity) lines."""
    for sku, quantity in lines:
        assert phone.post("/api/v1/cart/lines/", {"sku": sku, "quantity": quantity}, format="json").status_code == 201
    placed = phone.post("/api/v1/checkout/", {"payment_method": "card", "payment_method_id": card(stripe_double),
                                              **choice}, format="json",
                        headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.json()
    return placed.json()


def send(staff: APIClient, fulfillment: Fulfillment, tracking_number: str = "RM123GB") -> dict:
    """Pick, pack and ship one parcel through the staff API."""
    assert staff.post(f"/api/v1/staff/fulfillments/{fulfillment.pk}/pick/").status_code == 200
    packed = staff.post(f"/api/v1/staff/fulfillments/{fulfillment.pk}/pack/",
                        {"carrier": "Royal Mail", "tracking_number": tracking_number}, format="json")
    assert packed.status_code == 200, packed.json()
    shipped = staff.post(f"/api/v1/staff/fulfillments/{fulfillment.pk}/ship/")
    assert shipped.status_code == 200, shipped.json()
    return shipped.json()


def shipped_order(phone, stripe_double, staff, *lines) -> Order:
    placed = place(phone, stripe_double, *(lines or (("TEE-NAVY-M", 2),)), fulfilment="delivery", delivery_method="standard", address=NEAR_LONDON)
    for fulfillment in Fulfillment.objects.filter(order__number=placed["number"]):
        send(staff, fulfillment)
    return Order.objects.get(number=placed["number"])


def receive(staff: APIClient, store, *lines, **body):
    """Lines as (order line id, quantity, condition)."""
    return staff.post(RECEIVE, {"store": store.code, "lines": [
        {"line_id": line_id, "quantity": quantity, "condition": condition} for line_id, quantity, condition in lines
    ], **body}, format="json")


def till_sale(staff: APIClient, store, *lines, payment_method="cash", customer_email="") -> Order:
    sold = staff.post("/api/v1/staff/till/sales/", {
        "store": store.code, "payment_method": payment_method, "customer_email": customer_email,
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
    }, format="json")
    assert sold.status_code == 201, sold.json()
    return Order.objects.get(number=sold.json()["number"])


@pytest.fixture
def phone(db):
    return app_client(register())


@pytest.fixture
def no_stripe(monkeypatch):
    """Fails the test if anything talks to Stripe."""
    calls = []

    def refuse():
        calls.append("called")
        raise AssertionError("Stripe must not be called here")

    monkeypatch.setattr(stripe_gateway, "_client", refuse)
    return calls


# Packing and shipping ---------------------------------------------------------------------------


def test_packing_without_a_tracking_number_is_refused_naming_the_field(shelf, store, phone, stripe_double):
    placed = order_from_the_app(phone, stripe_double, fulfilment="delivery", delivery_method="standard", address=NEAR_LONDON)
    parcel = Fulfillment.objects.get(order__number=placed["number"])
    staff = staff_of(store)
    staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/pick/")

    missing = staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/pack/", {"carrier": "Royal Mail"}, format="json")
    blank = staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/pack/",
                       {"carrier": "Royal Mail", "tracking_number": "   "}, format="json")

    for refused in (missing, blank):
        assert refused.status_code == 400
        assert list(refused.json()["detail"]["fields"]) == ["tracking_number"]
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == (Fulfillment.Status.PICKING, "")


def test_shipping_takes_the_stock_out_and_captures_the_payment_at_stripe(shelf, store, phone, stripe_double):
    tee, _ = shelf
    placed = order_from_the_app(phone, stripe_double, fulfilment="delivery", delivery_method="standard", address=NEAR_LONDON)
    parcel = Fulfillment.objects.get(order__number=placed["number"])
    assert (level(store, tee).on_hand, level(store, tee).committed) == (10, 2)

    shipped = send(staff_of(store), parcel)

    assert (shipped["status"], shipped["tracking_number"]) == ("shipped", "RM123GB")
    assert (level(store, tee).on_hand, level(store, tee).committed, level(store, tee).available) == (8, 0, 8)
    payment = Payment.objects.get(order__number=placed["number"])
    # 2 tees at 20.00 and standard delivery (3.95: the goods are under the 50.00 free-delivery threshold)
    assert (payment.status, payment.captured_amount) == (Payment.Status.CAPTURED, Decimal("43.95"))
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert intent.status == "succeeded" and received_at_stripe(intent) == 4395
    assert phone.get(f"/api/v1/orders/{placed['number']}/").json()["status"] == "fulfilled"


def test_a_split_delivery_is_captured_only_when_its_last_parcel_leaves_for_the_order_total(
    shelf, store, other_store, phone, stripe_double,
):
    tee, hoodie = shelf
    stock.stock_receive(location=other_store, variant=hoodie, quantity=3)
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 2), ("HOOD-GREY-L", 5), fulfilment="delivery", delivery_method="standard",
                   address=NEAR_LONDON)  # London has 3 hoodies, Manchester 3 and no tees: no one place can send it
    parcels = {f.location.code: f for f in Fulfillment.objects.filter(order__number=placed["number"])}
    assert sorted(parcels) == ["LDN-OXF", "MAN-ARN"]
    payment = Payment.objects.get(order__number=placed["number"])
    staff = staff_of(store, other_store)

    send(staff, parcels["LDN-OXF"])
    payment.refresh_from_db()
    after_first = (payment.status, payment.captured_amount,
                   stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent).status,
                   phone.get(f"/api/v1/orders/{placed['number']}/").json()["status"])
    send(staff, parcels["MAN-ARN"], tracking_number="RM456GB")
    payment.refresh_from_db()

    assert after_first == (Payment.Status.AUTHORISED, Decimal("0.00"), "requires_capture", "partly_fulfilled")
    assert placed["total_amount"] == "265.00"
    assert (payment.status, payment.captured_amount) == (Payment.Status.CAPTURED, Decimal("265.00"))
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert intent.status == "succeeded" and received_at_stripe(intent) == 26500
    assert (level(store, hoodie).on_hand, level(other_store, hoodie).on_hand, level(store, tee).on_hand) == (0, 1, 8)


def test_what_the_customer_cancelled_before_shipping_is_not_captured(shelf, store, phone, stripe_double):
    tee, hoodie = shelf
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 2), ("HOOD-GREY-L", 1), fulfilment="delivery", delivery_method="standard",
                   address=NEAR_LONDON)
    tee_line, hoodie_line = (l["id"] for l in placed["lines"])
    cancel = f"/api/v1/orders/{placed['number']}/cancel/"
    assert phone.post(cancel, {"lines": [{"id": hoodie_line, "quantity": 1}]}, format="json").status_code == 200
    assert phone.post(cancel, {"lines": [{"id": tee_line, "quantity": 1}]}, format="json").status_code == 200

    send(staff_of(store), Fulfillment.objects.get(order__number=placed["number"]))

    payment = Payment.objects.get(order__number=placed["number"])
    assert (payment.status, payment.authorised_amount, payment.captured_amount) == (
        Payment.Status.CAPTURED, Decimal("85.00"), Decimal("20.00"))
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert received_at_stripe(intent) == 2000
    assert (level(store, tee).on_hand, level(store, tee).committed) == (9, 0)
    assert (level(store, hoodie).on_hand, level(store, hoodie).committed) == (3, 0)


# Returns ----------------------------------------------------------------------------------------


def test_returning_more_units_than_were_fulfilled_is_refused_naming_the_line(
    shelf, store, other_store, phone, stripe_double,
):
    tee, _ = shelf
    placed = order_from_the_app(phone, stripe_double, fulfilment="delivery", delivery_method="standard", address=NEAR_LONDON)
    line_id = placed["lines"][0]["id"]
    manchester = staff_of(other_store, username="mo")

    not_sent_yet = receive(manchester, other_store, (line_id, 1, "resellable"), order=placed["number"])
    send(staff_of(store), Fulfillment.objects.get(order__number=placed["number"]))
    too_many = receive(manchester, other_store, (line_id, 3, "resellable"), order=placed["number"])

    for refused, can in ((not_sent_yet, 0), (too_many, 2)):
        body = refused.json()
        assert (refused.status_code, body["code"], body["detail"]) == (
            422, "return_refused", {"field": "lines", "sku": "TEE-NAVY-M"})
        assert body["message"].startswith(f"TEE-NAVY-M: {can} can be returned")
    order = Order.objects.get(number=placed["number"])
    assert order.lines.get().quantity_returned == 0
    assert not Return.objects.exists() and not Refund.objects.exists()
    assert not StockLevel.objects.filter(location=other_store, variant=tee).exists()


def test_a_damaged_return_is_booked_unavailable_at_the_receiving_store(shelf, store, other_store, phone,
                                                                        stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=2)
    order = shipped_order(phone, stripe_double, staff_of(store))
    before = level(other_store, tee)

    received = receive(staff_of(other_store, username="mo"), other_store, (order.lines.get().pk, 1, "damaged"),
                       order=order.number)

    assert received.status_code == 200, received.json()
    after = level(other_store, tee)
    assert (after.on_hand - before.on_hand, after.unavailable - before.unavailable) == (1, 1)
    assert after.available == before.available == 2
    assert level(store, tee).on_hand == 8  # the sending store is not touched
    assert received.json()["refund_amount"] == "20.00"  # damaged or not, the shopper gets the money back


def test_a_location_that_does_not_take_returns_refuses_them(shelf, store, other_store, phone, stripe_double):
    order = shipped_order(phone, stripe_double, staff_of(store))
    other_store.accepts_returns = False
    other_store.save(update_fields=["accepts_returns"])

    refused = receive(staff_of(other_store, username="mo"), other_store, (order.lines.get().pk, 1, "resellable"),
                      order=order.number)

    assert (refused.status_code, refused.json()["code"], refused.json()["detail"]) == (
        422, "return_refused", {"field": "location"})
    assert "Manchester Arndale does not take returns" in refused.json()["message"]
    assert order.lines.get().quantity_returned == 0
    assert Payment.objects.get(order=order).refunded_amount == Decimal("0.00")


def test_a_cash_till_sale_returned_in_store_is_refunded_in_cash_without_stripe(shelf, store, no_stripe):
    tee, _ = shelf
    staff = staff_of(store)
    sale = till_sale(staff, store, ("TEE-NAVY-M", 2))

    received = receive(staff, store, (sale.lines.get().pk, 1, "resellable"), order=sale.number)

    assert received.status_code == 200, received.json()
    assert (received.json()["refund_method"], received.json()["refund_amount"]) == ("cash", "20.00")
    payment = Payment.objects.get(order=sale)
    assert (payment.method, payment.captured_amount, payment.refunded_amount) == (
        Payment.Method.CASH, Decimal("40.00"), Decimal("20.00"))
    assert Refund.objects.get(payment=payment).stripe_refund == ""
    assert no_stripe == []
    assert level(store, tee).on_hand == 9


def test_a_walk_in_return_cannot_take_back_more_than_was_sold(shelf, store, no_stripe):
    staff = staff_of(store)
    sale = till_sale(staff, store, ("TEE-NAVY-M", 2))
    line = sale.lines.get().pk

    answers = [receive(staff, store, (line, units, "resellable"), order=sale.number) for units in (1, 2, 1, 1)]

    assert [a.status_code for a in answers] == [200, 422, 200, 422]
    assert answers[1].json()["message"].startswith("TEE-NAVY-M: 1 can be returned, not 2")
    assert answers[3].json()["message"].startswith("TEE-NAVY-M: 0 can be returned, not 1")
    assert Return.objects.filter(order=sale).count() == 2
    assert Payment.objects.get(order=sale).refunded_amount == Decimal("40.00")
    assert sale.lines.get().quantity_returned == 2


def test_refunds_of_a_voucher_order_never_exceed_what_was_paid_for_the_line(shelf, store, phone, stripe_double):
    Voucher.objects.create(code="TENOFF", kind="fixed", value=Decimal("10.00"))
    staff = staff_of(store)
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 3), ("HOOD-GREY-L", 1), fulfilment="pickup",
                   store=store.code, voucher="TENOFF")
    order = Order.objects.get(number=placed["number"])
    pickup = order.fulfillments.get()
    staff.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/")
    staff.post(f"/api/v1/staff/fulfillments/{pickup.pk}/ready/")
    pickup.refresh_from_db()
    assert staff.post("/api/v1/staff/pickups/collect/", {"store": store.code, "code": pickup.pickup_code},
                      format="json").status_code == 200
    tees = order.lines.get(sku="TEE-NAVY-M")
    # 60.00 + 45.00 - 10.00; the tees carry 5.71 of the discount, so 54.29 was paid for three tees.
    assert (order.total_amount, tees.discount_amount, tees.total_amount) == (
        Decimal("95.00"), Decimal("5.71"), Decimal("54.29"))

    refunds = []
    for _ in range(3):  # the shopper brings the tees back one at a time
        received = receive(staff, store, (tees.pk, 1, "resellable"), order=order.number)
        assert received.status_code == 200, received.json()
        refunds.append(Decimal(received.json()["refund_amount"]))

    assert all(amount < Decimal("20.00") for amount in refunds)  # the discount share is not given back
    assert sum(refunds) <= tees.total_amount, f"refunded {refunds} for a line that cost {tees.total_amount}"
    assert sum(refunds) == Decimal("54.29")
    assert Payment.objects.get(order=order).refunded_amount == Decimal("54.29")


def returned_at_manchester(phone, stripe_double, store, other_store) -> tuple[Order, dict]:
    order = shipped_order(phone, stripe_double, staff_of(store))
    line_id = order.lines.get().pk
    started = phone.post(f"/api/v1/orders/{order.number}/returns/",
                         {"lines": [{"id": line_id, "quantity": 1, "reason": "too small"}]}, format="json")
    assert started.status_code == 201, started.json()
    received = receive(staff_of(other_store, username="mo"), other_store, (line_id, 1, "resellable"),
                       return_code=started.json()["code"].lower())
    assert received.status_code == 200, received.json()
    return order, received.json()


def test_a_returned_unit_shows_as_quantity_returned_on_the_order_line(shelf, store, other_store, phone,
                                                                       stripe_double):
    order, _ = returned_at_manchester(phone, stripe_double, store, other_store)

    shown = phone.get(f"/api/v1/orders/{order.number}/").json()

    assert [(l["sku"], l["quantity"], l["quantity_fulfilled"], l["quantity_returned"]) for l in shown["lines"]] == [
        ("TEE-NAVY-M", 2, 2, 1)]
    assert shown["payment"]["refunded_amount"] == "20.00"


def test_the_customer_timeline_shows_the_return_requested_and_received(shelf, store, other_store, phone,
                                                                        stripe_double):
    _, received = returned_at_manchester(phone, stripe_double, store, other_store)

    timeline = phone.get("/api/v1/me/timeline/").json()["results"]

    returns = [(e["kind"], e["reference"], e["detail"]) for e in timeline if e["kind"] == "return"]
    reference = f"return:{received['code']}"
    assert returns == [
        ("return", reference, {"status": "received", "store": "MAN-ARN", "refund": "20.00"}),
        ("return", reference, {"status": "requested"}),
    ]
    assert [e["label"] for e in timeline if e["kind"] == "return"] == ["Returned items"] * 2


def test_the_last_unit_of_a_discounted_line_is_refunded_what_is_left_of_it(shelf, store, phone, stripe_double):
    Voucher.objects.create(code="TENOFF", kind="fixed", value=Decimal("10.00"))
    staff = staff_of(store)
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 3), fulfilment="pickup", store=store.code, voucher="TENOFF")
    order = Order.objects.get(number=placed["number"])
    pickup = order.fulfillments.get()
    staff.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/")
    staff.post(f"/api/v1/staff/fulfillments/{pickup.pk}/ready/")
    pickup.refresh_from_db()
    staff.post("/api/v1/staff/pickups/collect/", {"store": store.code, "code": pickup.pickup_code}, format="json")
    tees = order.lines.get()
    assert Payment.objects.get(order=order).captured_amount == tees.total_amount == Decimal("50.00")

    answers = [receive(staff, store, (tees.pk, 1, "resellable"), order=order.number) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200], answers[-1].json()
    assert sum(Decimal(a.json()["refund_amount"]) for a in answers) == Decimal("50.00")
    assert Payment.objects.get(order=order).refunded_amount == Decimal("50.00")
    assert all(r.refund_id is not None for r in Return.objects.filter(order=order))


def test_one_line_received_as_one_resellable_and_one_damaged_unit_books_each_by_its_condition(
    shelf, store, other_store, phone, stripe_double,
):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))
    line_id = order.lines.get().pk
    manchester = staff_of(other_store, username="mo")

    received = manchester.post(RECEIVE, {"store": other_store.code, "order": order.number, "lines": [
        {"line_id": line_id, "quantity": 1, "condition": "resellable", "reason": "Too small"},
        {"line_id": line_id, "quantity": 1, "condition": "damaged"},
    ]}, format="json")

    assert received.status_code == 200, received.json()
    assert (received.json()["refund_amount"], received.json()["refund_method"]) == ("43.95", "card")
    arrived = level(other_store, tee)
    assert (arrived.on_hand, arrived.unavailable, arrived.available) == (2, 1, 1)
    assert (level(store, tee).on_hand, level(store, tee).available) == (8, 8)
    intent = Payment.objects.get(order=order).stripe_payment_intent
    assert [r.amount for r in stripe_double.v1.refunds.list(params={"payment_intent": intent}).data] == [4395]
    assert list(Return.objects.get().lines.values_list("condition", "reason")) == [
        ("resellable", "Too small"), ("damaged", "")]


def test_a_walk_in_return_sent_twice_with_one_idempotency_key_is_received_and_refunded_once(shelf, store,
                                                                                            no_stripe):
    tee, _ = shelf
    staff = staff_of(store)
    sale = till_sale(staff, store, ("TEE-NAVY-M", 2))
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"store": store.code, "order": sale.number,
            "lines": [{"line_id": sale.lines.get().pk, "quantity": 1, "condition": "resellable"}]}

    first = staff.post(RECEIVE, body, format="json", headers=key)
    again = staff.post(RECEIVE, body, format="json", headers=key)
    another = staff.post(RECEIVE, body, format="json", headers={"Idempotency-Key": str(uuid.uuid4())})

    assert first.status_code == again.status_code == another.status_code == 200
    assert first.json() == again.json() and another.json()["code"] != first.json()["code"]
    assert Payment.objects.get(order=sale).refunded_amount == Decimal("40.00")  # two returns, not three
    assert level(store, tee).on_hand == 10


def test_a_refund_method_other_than_the_way_it_was_paid_is_refused(shelf, store, no_stripe):
    staff = staff_of(store)
    sale = till_sale(staff, store, ("TEE-NAVY-M", 1))

    refused = receive(staff, store, (sale.lines.get().pk, 1, "resellable"), order=sale.number, refund_method="card")

    assert refused.status_code == 400 and list(refused.json()["detail"]["fields"]) == ["refund_method"]
    assert not Return.objects.exists() and Payment.objects.get(order=sale).refunded_amount == 0
