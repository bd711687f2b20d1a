"""Checkout through the API against the local Stripe double: pickup and delivery, routing, pay at
pickup, declined cards, idempotency, vouchers, cancelling, the till, and the confirmation each order sends."""
import re
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.roles import STORE_STAFF, role_assign
from catalog.models import Price
from customers.models import Cart
from inventory import services as stock
from inventory.models import Reservation, StockLevel
from inventory.selectors import ledger_drift
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from orders.models import Order, Payment, Voucher
from tests.customers.conftest import app_client, register
from tests.factories import UserFactory, card
from tests.test_jobs import counting_sms  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db


def level(location, variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def fill(client, *lines) -> None:
    for sku, quantity in lines:
        assert client.post("/api/v1/cart/lines/", {"sku": sku, "quantity": quantity}, format="json").status_code == 201


def checkout(client, key=None, **body):
    return client.post("/api/v1/checkout/", body, format="json", headers={"Idempotency-Key": key or str(uuid.uuid4())})


@pytest.fixture
def shopper(db):
    return app_client(register())


def test_a_pickup_order_commits_stock_at_the_store_and_authorises_the_card(shopper, shelf, store, stripe_double):
    tee, hoodie = shelf
    fill(shopper, ("TEE-NAVY-M", 2), ("HOOD-GREY-L", 1))

    placed = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="card",
                      payment_method_id=card(stripe_double))

    assert placed.status_code == 201, placed.json()
    body = placed.json()
    assert (body["status"], body["fulfilment"], body["pickup_store"], body["channel"]) == (
        "placed", "pickup", "LDN-OXF", "mobile")
    assert [(l["sku"], l["quantity"], l["unit_price"], l["location"]) for l in body["lines"]] == [
        ("TEE-NAVY-M", 2, "20.00", "LDN-OXF"), ("HOOD-GREY-L", 1, "45.00", "LDN-OXF")]
    assert body["total_amount"] == "85.00"
    assert (level(store, tee).committed, level(store, tee).reserved, level(store, hoodie).committed) == (2, 0, 1)
    payment = Order.objects.get(number=body["number"]).payment
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    assert (intent.status, intent.amount, intent.currency) == ("requires_capture", 8500, "gbp")
    assert body["payment"]["status"] == "authorised"
    assert shopper.get("/api/v1/cart/").json()["lines"] == []
    assert ledger_drift(location=store) == []


def test_prices_are_frozen_on_the_order_lines(shopper, shelf, store, stripe_double):
    fill(shopper, ("TEE-NAVY-M", 1))
    number = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup").json()["number"]

    Price.objects.filter(variant__sku="TEE-NAVY-M").update(amount=Decimal("99.00"))

    assert shopper.get(f"/api/v1/orders/{number}/").json()["lines"][0]["unit_price"] == "20.00"


def test_delivery_routes_to_the_nearest_shipping_location_with_the_whole_order(shopper, shelf, store, other_store,
                                                                               warehouse, stripe_double):
    tee, hoodie = shelf
    for place in (other_store, warehouse):
        stock.stock_receive(location=place, variant=tee, quantity=5)
        stock.stock_receive(location=place, variant=hoodie, quantity=5)
    fill(shopper, ("TEE-NAVY-M", 1), ("HOOD-GREY-L", 1))
    near_manchester = {"name": "Ada", "line1": "1 Deansgate", "city": "Manchester", "postcode": "M3 1AA",
                       "latitude": 53.48, "longitude": -2.25}

    body = checkout(shopper, fulfilment="delivery", delivery_method="standard", address=near_manchester, payment_method="card",
                    payment_method_id=card(stripe_double)).json()

    assert {l["location"] for l in body["lines"]} == {"MAN-ARN"}
    assert body["ship_to_city"] == "Manchester"
    assert level(other_store, tee).committed == 1 and level(store, tee).committed == 0


def test_delivery_splits_only_when_no_single_location_can_send_it_all(shopper, shelf, store, warehouse, stripe_double):
    tee, hoodie = shelf  # the London store has 10 tees and 3 hoodies
    stock.stock_receive(location=warehouse, variant=hoodie, quantity=5)
    fill(shopper, ("TEE-NAVY-M", 2), ("HOOD-GREY-L", 4))
    near_london = {"name": "Ada", "line1": "1 Strand", "city": "London", "postcode": "WC2N 5HR",
                   "latitude": 51.508, "longitude": -0.125}

    body = checkout(shopper, fulfilment="delivery", delivery_method="standard", address=near_london, payment_method="card",
                    payment_method_id=card(stripe_double)).json()

    assert sorted((l["sku"], l["location"], l["quantity"]) for l in body["lines"]) == [
        ("HOOD-GREY-L", "LDN-OXF", 3), ("HOOD-GREY-L", "WH-DAV", 1), ("TEE-NAVY-M", "LDN-OXF", 2)]
    assert body["total_amount"] == "220.00"


def test_pay_at_pickup_authorises_nothing_and_is_only_for_pickup(shopper, shelf, store):
    fill(shopper, ("TEE-NAVY-M", 1))

    refused = checkout(shopper, fulfilment="delivery", payment_method="pay_at_pickup",
                       address={"name": "A", "line1": "1 Strand", "city": "London", "postcode": "WC2N 5HR"})
    placed = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup")

    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "payment_method"
    assert placed.status_code == 201
    assert placed.json()["payment"] == {"method": "pay_at_pickup", "status": "pending", "currency": "GBP",
                                             "authorised_amount": "0.00", "captured_amount": "0.00",
                                             "refunded_amount": "0.00"}


def test_a_declined_card_gets_a_clear_error_and_the_stock_goes_back(shopper, shelf, store, stripe_double):
    tee, _ = shelf
    fill(shopper, ("TEE-NAVY-M", 2))
    key = str(uuid.uuid4())

    declined = checkout(shopper, key, fulfilment="pickup", store=store.code, payment_method="card",
                        payment_method_id=card(stripe_double, "4000000000000341"))

    assert declined.status_code == 402 and declined.json()["code"] == "payment_declined"
    assert "declined" in declined.json()["message"].lower()
    assert not Order.objects.exists()
    assert (level(store, tee).reserved, level(store, tee).committed) == (0, 0)
    assert Reservation.objects.get().status == Reservation.Status.RELEASED
    retried = checkout(shopper, key, fulfilment="pickup", store=store.code, payment_method="card",
                       payment_method_id=card(stripe_double))
    assert retried.status_code == 201


def test_the_same_idempotency_key_and_body_return_the_same_order(shopper, shelf, store, stripe_double):
    fill(shopper, ("TEE-NAVY-M", 1))
    key, body = str(uuid.uuid4()), {"fulfilment": "pickup", "store": store.code, "payment_method": "card",
                                    "payment_method_id": card(stripe_double)}

    first = checkout(shopper, key, **body)
    again = checkout(shopper, key, **body)
    different = checkout(shopper, key, **(body | {"store": "MAN-ARN"}))

    assert (first.status_code, again.status_code, different.status_code) == (201, 200, 422)
    assert first.json()["number"] == again.json()["number"]
    assert different.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1 and Payment.objects.count() == 1


def opens(link: str, *needles: str) -> bool:
    """The link, opened in a fresh browser with no account, shows a page with every needle."""
    parts = urlsplit(link)
    page = APIClient().get(parts.path, parse_qs(parts.query))
    return page.status_code == 200 and all(needle in page.content.decode() for needle in needles)


def test_an_app_order_is_confirmed_by_email_and_by_text_to_the_phone_given(shopper, shelf, store, stripe_double,
                                                                         counting_sms):
    fill(shopper, ("TEE-NAVY-M", 2), ("HOOD-GREY-L", 1))
    key, body = str(uuid.uuid4()), {"fulfilment": "pickup", "store": store.code, "payment_method": "card",
                                    "payment_method_id": card(stripe_double), "phone": "+447700900123"}

    number = checkout(shopper, key, **body).json()["number"]
    checkout(shopper, key, **body)  # the app retries after a lost answer
    messages_deliver_pending()

    [email] = mail.outbox
    assert (email.to, email.subject) == (["ada@example.com"], f"Thank you for your order {number}")
    assert "2 × " in email.body and "Total: £85.00, including £14.17 tax" in email.body
    assert "ready to collect at London Oxford Street" in email.body
    link, receipt = re.findall(r"https?://\S+", email.body)
    assert opens(link, f"Order {number}") and opens(receipt, "£14.17")
    [(phone, text)] = counting_sms
    assert phone == "+447700900123" and f"order {number}, £85.00" in text
    assert re.search(r"https?://\S+", text).group(0) == link
    assert sorted(OutboxMessage.objects.values_list("template", "medium", "marketing")) == [
        ("order_confirmation", "email", False), ("order_confirmation", "sms", False)]


def test_an_app_order_without_a_phone_is_confirmed_by_email_only(shopper, shelf, store, counting_sms):
    fill(shopper, ("TEE-NAVY-M", 1))

    number = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup").json()["number"]
    messages_deliver_pending()

    assert [m.subject for m in mail.outbox] == [f"Thank you for your order {number}"]
    assert counting_sms == []


def test_checkout_without_an_idempotency_key_is_refused(shopper, shelf, store):
    fill(shopper, ("TEE-NAVY-M", 1))

    refused = shopper.post("/api/v1/checkout/", {"fulfilment": "pickup", "store": store.code,
                                                 "payment_method": "pay_at_pickup"}, format="json")

    assert refused.status_code == 400 and "Idempotency-Key" in refused.json()["detail"]["fields"]


def test_checkout_needs_stock_and_says_which_lines_are_short(shopper, shelf, store, other_store, stripe_double):
    fill(shopper, ("HOOD-GREY-L", 3))
    stock.stock_sell(lines=[stock.StockLine(store, shelf[1], 2)])

    refused = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="card",
                       payment_method_id=card(stripe_double))

    assert refused.status_code == 409 and refused.json()["code"] == "insufficient_stock"
    assert refused.json()["detail"]["lines"] == [{"sku": "HOOD-GREY-L", "location": "LDN-OXF", "wanted": 3,
                                                  "available": 1}]
    assert not Order.objects.exists()


def test_a_guest_can_check_out_by_cart_token(shelf, store, stripe_double):
    guest = APIClient()
    token = guest.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M"}, format="json").json()["token"]
    guest.credentials(HTTP_X_CART_TOKEN=token)

    missing_email = checkout(guest, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup")
    placed = checkout(guest, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup",
                      email="guest@example.com")

    assert missing_email.status_code == 400 and "email" in missing_email.json()["detail"]["fields"]
    assert placed.status_code == 201 and placed.json()["email"] == "guest@example.com"
    assert Cart.objects.get(token=token).status == Cart.Status.ORDERED


# Vouchers -------------------------------------------------------------------------------------


@pytest.fixture
def vouchers(db):
    now = timezone.now()
    return {
        "TENOFF": Voucher.objects.create(code="TENOFF", kind="fixed", value=Decimal("10.00")),
        "SPRING15": Voucher.objects.create(code="SPRING15", kind="percent", value=Decimal("15"),
                                           min_spend_amount=Decimal("50.00")),
        "OLD": Voucher.objects.create(code="OLD", kind="percent", value=Decimal("50"),
                                      valid_until=now - timedelta(days=1)),
        "ONCE": Voucher.objects.create(code="ONCE", kind="fixed", value=Decimal("5.00"), max_uses=1),
        "MINE": Voucher.objects.create(code="MINE", kind="fixed", value=Decimal("5.00"), max_uses_per_customer=1),
    }


def test_a_percentage_voucher_is_spread_over_the_lines_and_the_card_is_held_for_the_rest(
        shopper, shelf, store, vouchers, stripe_double):
    fill(shopper, ("TEE-NAVY-M", 1), ("HOOD-GREY-L", 1))

    body = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="card", voucher="spring15",
                    payment_method_id=card(stripe_double)).json()

    assert (body["subtotal_amount"], body["discount_amount"], body["total_amount"]) == ("65.00", "9.75", "55.25")
    assert sum(Decimal(l["discount"]) for l in body["lines"]) == Decimal("9.75")
    intent = stripe_double.v1.payment_intents.retrieve(Order.objects.get().payment.stripe_payment_intent)
    assert intent.amount == 5525


@pytest.mark.parametrize("code, reason", [
    ("NOPE", "unknown"), ("OLD", "expired"), ("SPRING15", "min_spend"),
])
def test_a_refused_voucher_says_why_and_places_nothing(shopper, shelf, store, vouchers, code, reason):
    fill(shopper, ("TEE-NAVY-M", 1))

    checked = shopper.post("/api/v1/vouchers/check/", {"code": code}, format="json")
    refused = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup", voucher=code)

    assert checked.status_code == refused.status_code == 422
    assert refused.json()["code"] == "voucher_refused" and refused.json()["detail"]["reason"] == reason
    assert not Order.objects.exists()
    assert level(store, shelf[0]).reserved == 0


def test_a_single_use_code_works_once(shelf, store, vouchers):
    first, second = app_client(register("a@example.com")), app_client(register("b@example.com"))
    for client in (first, second):
        fill(client, ("TEE-NAVY-M", 1))

    used = checkout(first, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup", voucher="ONCE")
    again = checkout(second, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup", voucher="ONCE")

    assert used.json()["total_amount"] == "15.00"
    assert again.status_code == 422 and again.json()["detail"]["reason"] == "used_up"


def test_a_once_per_customer_code_works_once_for_each_customer(shopper, shelf, store, vouchers):
    fill(shopper, ("TEE-NAVY-M", 1))
    checkout(shopper, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup", voucher="MINE")
    fill(shopper, ("TEE-NAVY-M", 1))

    again = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup", voucher="MINE")

    assert again.status_code == 422 and again.json()["detail"]["reason"] == "used_by_you"


def test_the_voucher_check_shows_the_discount_on_my_cart(shopper, shelf, vouchers):
    fill(shopper, ("HOOD-GREY-L", 2))

    checked = shopper.post("/api/v1/vouchers/check/", {"code": "spring15"}, format="json").json()

    assert checked == {"code": "SPRING15", "subtotal": "90.00", "discount": "13.50", "total": "76.50",
                       "currency": "GBP"}


# Cancelling -----------------------------------------------------------------------------------


def test_cancelling_puts_the_stock_back_and_voids_the_authorisation(shopper, shelf, store, stripe_double):
    tee, _ = shelf
    fill(shopper, ("TEE-NAVY-M", 3))
    number = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="card",
                      payment_method_id=card(stripe_double)).json()["number"]

    cancelled = shopper.post(f"/api/v1/orders/{number}/cancel/")
    again = shopper.post(f"/api/v1/orders/{number}/cancel/")

    assert cancelled.json()["status"] == "cancelled" and again.status_code == 200
    assert cancelled.json()["lines"][0]["quantity_cancelled"] == 3
    assert cancelled.json()["payment"]["status"] == "voided"
    assert (level(store, tee).committed, level(store, tee).available) == (0, 10)
    intent = stripe_double.v1.payment_intents.retrieve(Order.objects.get().payment.stripe_payment_intent)
    assert intent.status == "canceled"
    assert list(Order.objects.get().events.values_list("from_status", "to_status")) == [
        ("", "placed"), ("placed", "cancelled")]
    assert ledger_drift(location=store) == []


def test_another_customers_order_is_404_to_read_or_cancel(shopper, shelf, store):
    fill(shopper, ("TEE-NAVY-M", 1))
    number = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup").json()["number"]
    other = app_client(register("eve@example.com"))

    assert other.get(f"/api/v1/orders/{number}/").status_code == 404
    assert other.post(f"/api/v1/orders/{number}/cancel/").status_code == 404
    assert other.get("/api/v1/orders/").json()["results"] == []
    assert Order.objects.get().status == "placed"


# The till -------------------------------------------------------------------------------------


def test_a_till_sale_sells_safety_stock_and_joins_the_customers_history(shelf, store):
    tee, _ = shelf
    stock.stock_set_safety_stock(location=store, variant=tee, quantity=10)
    assistant = role_assign(user=UserFactory(username="sam"), role=STORE_STAFF, stores=[store])
    till = APIClient()
    till.force_authenticate(assistant)
    ada = register()

    sold = till.post("/api/v1/staff/till/sales/", {"store": store.code, "payment_method": "cash",
                                                   "customer_email": "ADA@example.com",
                                                   "lines": [{"sku": tee.barcode, "quantity": 2}]}, format="json")

    assert sold.status_code == 201, sold.json()
    assert (sold.json()["status"], sold.json()["channel"], sold.json()["payment"]["status"]) == (
        "fulfilled", "till", "captured")
    assert level(store, tee).on_hand == 8
    history = app_client(ada).get("/api/v1/orders/").json()["results"]
    assert [o["number"] for o in history] == [sold.json()["number"]]


def test_a_till_sale_to_a_known_customer_sends_the_receipt_and_an_anonymous_one_sends_nothing(
        shelf, store, counting_sms):
    tee, _ = shelf
    till = APIClient()
    till.force_authenticate(role_assign(user=UserFactory(username="sam"), role=STORE_STAFF, stores=[store]))
    ada = register()
    ada.phone = "+447700900123"  # on the account: the till asks for nothing more
    ada.save()
    sale = {"store": store.code, "payment_method": "cash", "lines": [{"sku": tee.barcode, "quantity": 2}]}

    number = till.post("/api/v1/staff/till/sales/", {**sale, "customer_email": "ada@example.com"},
                       format="json").json()["number"]
    till.post("/api/v1/staff/till/sales/", sale, format="json")
    messages_deliver_pending()

    [email] = mail.outbox
    assert (email.to, email.subject) == (["ada@example.com"], f"Your receipt for order {number} from London Oxford Street")
    assert "Thank you for shopping with us at London Oxford Street" in email.body
    assert "Total: £40.00, including £6.67 tax" in email.body and "tell you" not in email.body
    link, receipt = re.findall(r"https?://\S+", email.body)
    assert opens(receipt, number, "£6.67") and opens(link, f"Order {number}")
    [(phone, text)] = counting_sms
    assert phone == "+447700900123" and f"Order {number}, £40.00, paid. Receipt: {receipt}" in text
    assert OutboxMessage.objects.count() == 2


def test_only_staff_of_that_store_can_sell_at_its_till(shelf, store, other_store):
    stranger = role_assign(user=UserFactory(username="kim"), role=STORE_STAFF, stores=[other_store])
    shopper_login = UserFactory(username="joe", is_staff=False)
    body = {"store": store.code, "payment_method": "cash", "lines": [{"sku": "TEE-NAVY-M"}]}
    answers = []
    for user in (stranger, shopper_login):
        client = APIClient()
        client.force_authenticate(user)
        answers.append(client.post("/api/v1/staff/till/sales/", body, format="json").status_code)

    assert answers == [403, 403]
    assert level(store, shelf[0]).on_hand == 10


def test_a_till_sale_of_an_unknown_barcode_names_the_line(shelf, store):
    boss = UserFactory(username="boss", is_superuser=True)
    till = APIClient()
    till.force_authenticate(boss)

    refused = till.post("/api/v1/staff/till/sales/", {"store": store.code, "payment_method": "cash",
                                                      "lines": [{"sku": "TEE-NAVY-M"}, {"sku": "000"}]}, format="json")

    assert refused.status_code == 400 and "lines" in refused.json()["detail"]["fields"]
    assert not Order.objects.exists()


def test_cancelling_one_line_keeps_the_rest_and_leaves_the_authorisation_for_what_remains(
        shopper, shelf, store, stripe_double):
    from orders.services import amount_due

    tee, hoodie = shelf
    fill(shopper, ("TEE-NAVY-M", 2), ("HOOD-GREY-L", 1))
    placed = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="card",
                      payment_method_id=card(stripe_double)).json()
    tee_line = next(l["id"] for l in placed["lines"] if l["sku"] == "TEE-NAVY-M")

    partly = shopper.post(f"/api/v1/orders/{placed['number']}/cancel/", {"lines": [{"id": tee_line, "quantity": 1}]},
                          format="json").json()
    too_many = shopper.post(f"/api/v1/orders/{placed['number']}/cancel/",
                            {"lines": [{"id": tee_line, "quantity": 5}]}, format="json")

    assert partly["status"] == "placed" and partly["payment"]["status"] == "authorised"
    assert {l["sku"]: l["quantity_cancelled"] for l in partly["lines"]} == {"TEE-NAVY-M": 1, "HOOD-GREY-L": 0}
    assert (level(store, tee).committed, level(store, hoodie).committed) == (1, 1)
    assert amount_due(order=Order.objects.get()) == Decimal("65.00")
    assert too_many.status_code == 409 and "can cancel 0 to 1" in too_many.json()["message"]


def test_the_customer_page_lists_orders_from_every_channel(admin_client, shelf, store):
    ada = register()
    phone = app_client(ada)
    fill(phone, ("TEE-NAVY-M", 1))
    online = checkout(phone, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup").json()["number"]
    boss = UserFactory(username="boss", is_superuser=True)
    till = APIClient()
    till.force_authenticate(boss)
    at_till = till.post("/api/v1/staff/till/sales/", {"store": store.code, "payment_method": "cash",
                                                      "customer_email": ada.email, "lines": [{"sku": "TEE-NAVY-M"}]},
                        format="json").json()["number"]

    page = admin_client.get(f"/admin/customers/customer/{ada.pk}/change/").content.decode()

    assert online in page and at_till in page
    assert "Mobile app" in page and "Store till" in page


def test_a_store_closed_to_pickup_in_the_admin_is_refused_at_the_next_checkout(shopper, shelf, store,
                                                                               django_capture_on_commit_callbacks):
    """Stores are kept in memory between requests (core.reference): a change saved through the ORM is seen at once."""
    fill(shopper, ("TEE-NAVY-M", 1))
    pickup = {"fulfilment": "pickup", "store": store.code, "payment_method": "pay_at_pickup"}
    assert shopper.post("/api/v1/checkout/quote/", pickup, format="json").status_code == 200  # the store, kept
    with django_capture_on_commit_callbacks(execute=True):
        store.offers_pickup = False
        store.save()  # as the admin would

    refused = checkout(shopper, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup")

    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "store"
    assert not Order.objects.exists() and level(store, shelf[0]).committed == 0

    with django_capture_on_commit_callbacks(execute=True):
        store.offers_pickup = True
        store.save()
    assert checkout(shopper, fulfilment="pickup", store=store.code, payment_method="pay_at_pickup").status_code == 201
