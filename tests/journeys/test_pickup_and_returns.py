"""Cross-channel stories, end to end through the APIs a shopper and store staff use, against the
local Stripe double: click and collect from the app, ship from store and return elsewhere, and a
pickup nobody collects."""
import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.roles import STORE_STAFF, role_assign
from fulfillment.models import Fulfillment
from fulfillment.services import pickups_expire
from inventory.models import StockLevel
from inventory.selectors import ledger_drift
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from orders.models import Order
from tests.customers.conftest import app_client, register
from tests.factories import UserFactory, card

pytestmark = pytest.mark.django_db


def staff_of(*stores, username="sam", role=STORE_STAFF):
    """The API as a member of staff in this role (store staff: till, fulfilments, pickups, returns)."""
    user = role_assign(user=UserFactory(username=username), role=role, stores=stores)
    client = APIClient()
    client.force_authenticate(user)
    return client


def order_from_the_app(app, stripe_double, **choice) -> dict:
    """Two tees checked out from the app, paid by card; `choice` is the rest of the checkout (a `phone` too)."""
    app.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 2}, format="json")
    placed = app.post("/api/v1/checkout/", {"payment_method": "card", "payment_method_id": card(stripe_double),
                                              **choice}, format="json",
                        headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.json()
    return placed.json()


def test_click_and_collect_from_the_app_to_the_counter(shelf, store, stripe_double):
    tee, _ = shelf
    ada = register()
    ada.phone = "+447700900123"
    ada.save()
    phone = app_client(ada)  # no marketing consent: the texts about the order need none
    order = order_from_the_app(phone, stripe_double, fulfilment="pickup", store=store.code)
    counter = staff_of(store)

    queue = counter.get("/api/v1/staff/fulfillments/", {"store": store.code}).json()["results"]
    assert [(f["order"], f["method"], f["status"]) for f in queue] == [(order["number"], "pickup", "new")]
    counter.post(f"/api/v1/staff/fulfillments/{queue[0]['id']}/pick/")
    ready = counter.post(f"/api/v1/staff/fulfillments/{queue[0]['id']}/ready/").json()
    assert ready["status"] == "ready_for_pickup"

    messages_deliver_pending()
    told = [m for m in mail.outbox if "ready to collect" in m.subject]
    assert len(told) == 1 and told[0].to == ["ada@example.com"]
    code = re.search(r"Your pickup code: ([A-Z0-9]{8})", told[0].body).group(1)
    assert OutboxMessage.objects.filter(customer_id=ada.pk, medium="sms", template="pickup_ready", status="sent").count() == 1
    mine = phone.get(f"/api/v1/orders/{order['number']}/fulfillments/").json()
    assert mine[0]["pickup_code"] == code
    qr = phone.get(mine[0]["qr_url"])
    assert qr.status_code == 200 and qr["Content-Type"] == "image/svg+xml"
    qr_text = mine[0]["qr_url"].removeprefix("/pickup/qr/").removesuffix(".svg")

    seen = counter.post("/api/v1/staff/pickups/lookup/", {"store": store.code, "code": qr_text}, format="json").json()
    assert (seen["order"], [(l["sku"], l["quantity"]) for l in seen["lines"]]) == (order["number"], [("TEE-NAVY-M", 2)])
    handed = counter.post("/api/v1/staff/pickups/collect/", {"store": store.code, "code": code.lower()}, format="json")

    assert handed.status_code == 200 and handed.json()["status"] == "collected"
    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.on_hand, level.committed) == (8, 0)
    placed = phone.get(f"/api/v1/orders/{order['number']}/").json()
    assert placed["status"] == "fulfilled" and placed["payment"]["status"] == "captured"
    intent = stripe_double.v1.payment_intents.retrieve(Order.objects.get().payment.stripe_payment_intent)
    assert intent.status == "succeeded"
    messages_deliver_pending()
    assert any("You collected order" in m.subject for m in mail.outbox)
    kinds = list(ada.interactions.values_list("kind", flat=True))
    assert {"order_placed", "pickup", "message_sent"} <= set(kinds)
    assert ledger_drift(location=store) == []


def test_shipped_from_one_store_returned_at_another_and_refunded_to_the_card(shelf, store, other_store, stripe_double):
    tee, _ = shelf
    ada = register()
    phone = app_client(ada)
    near_london = {"name": "Ada Lovelace", "line1": "1 Strand", "city": "London", "postcode": "WC2N 5HR",
                   "latitude": 51.508, "longitude": -0.125}
    order = order_from_the_app(phone, stripe_double, fulfilment="delivery", delivery_method="standard", address=near_london)
    assert {l["location"] for l in order["lines"]} == {store.code}
    shipper = staff_of(store)
    job = shipper.get("/api/v1/staff/fulfillments/").json()["results"][0]

    shipper.post(f"/api/v1/staff/fulfillments/{job['id']}/pick/")
    shipper.post(f"/api/v1/staff/fulfillments/{job['id']}/pack/", {"carrier": "Royal Mail", "tracking_number": "RM123GB",
                                                                  "tracking_url": "https://track.example/RM123GB"},
                 format="json")
    shipped = shipper.post(f"/api/v1/staff/fulfillments/{job['id']}/ship/").json()

    assert shipped["status"] == "shipped"
    assert StockLevel.objects.get(location=store, variant=tee).on_hand == 8
    messages_deliver_pending()
    assert any("RM123GB" in m.body and "on its way" in m.subject for m in mail.outbox)
    assert phone.get(f"/api/v1/orders/{order['number']}/").json()["payment"]["status"] == "captured"

    line_id = order["lines"][0]["id"]
    started = phone.post(f"/api/v1/orders/{order['number']}/returns/",
                         {"lines": [{"id": line_id, "quantity": 1, "reason": "too small"}]}, format="json").json()
    manchester = staff_of(other_store, username="mo")
    body = {"store": other_store.code, "return_code": started["code"],
            "lines": [{"line_id": line_id, "quantity": 1, "condition": "resellable"}]}
    received = manchester.post("/api/v1/staff/returns/receive/", body, format="json")
    again = manchester.post("/api/v1/staff/returns/receive/", body, format="json")

    assert received.status_code == again.status_code == 200
    assert (received.json()["status"], received.json()["location"], received.json()["refund_amount"]) == (
        "received", "MAN-ARN", "20.00")
    assert StockLevel.objects.get(location=other_store, variant=tee).available == 1
    after = phone.get(f"/api/v1/orders/{order['number']}/").json()
    assert after["lines"][0]["quantity_returned"] == 1
    assert after["payment"]["refunded_amount"] == "20.00"
    intent_id = Order.objects.get().payment.stripe_payment_intent
    refunds = stripe_double.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert [r.amount for r in refunds] == [2000]
    assert ada.interactions.filter(kind="return").count() == 2
    assert ledger_drift(location=store) == [] and ledger_drift(location=other_store) == []


def test_a_pickup_left_past_its_hold_is_cancelled_restocked_and_released(shelf, store, stripe_double):
    tee, _ = shelf
    phone = app_client(register())
    order = order_from_the_app(phone, stripe_double, fulfilment="pickup", store=store.code)
    counter = staff_of(store)
    job = counter.get("/api/v1/staff/fulfillments/").json()["results"][0]
    counter.post(f"/api/v1/staff/fulfillments/{job['id']}/pick/")
    counter.post(f"/api/v1/staff/fulfillments/{job['id']}/ready/")
    pickup = Fulfillment.objects.get()
    code = pickup.pickup_code
    # Kept until the store closes on the last of its hold days (a store with no hours set closes at 23:59).
    last_day = timezone.localtime(pickup.ready_at).date() + timedelta(days=store.pickup_hold_days)
    assert timezone.localtime(pickup.expires_at).replace(tzinfo=None) == timezone.datetime.combine(
        last_day, timezone.datetime.min.time().replace(hour=23, minute=59))

    assert pickups_expire(now=pickup.expires_at - timedelta(minutes=1)) == 0
    expired = pickups_expire(now=pickup.expires_at + timedelta(minutes=1))
    again = pickups_expire(now=pickup.expires_at + timedelta(minutes=1))

    assert (expired, again) == (1, 0)
    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.committed, level.available) == (0, 10)
    placed = phone.get(f"/api/v1/orders/{order['number']}/").json()
    assert placed["status"] == "cancelled" and placed["payment"]["status"] == "voided"
    intent = stripe_double.v1.payment_intents.retrieve(Order.objects.get().payment.stripe_payment_intent)
    assert intent.status == "canceled"
    messages_deliver_pending()
    assert any("was not collected" in m.subject for m in mail.outbox)
    refused = counter.post("/api/v1/staff/pickups/lookup/", {"store": store.code, "code": code}, format="json")
    assert refused.status_code == 409 and refused.json()["detail"]["reason"] == "expired"
    assert ledger_drift(location=store) == []
