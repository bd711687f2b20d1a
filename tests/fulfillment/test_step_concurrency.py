"""Two members of staff pressing the same button at the same moment, on PostgreSQL with one connection each:
the step happens once (one status change, one message to the shopper, the stock and money moved once)."""
import pytest
from django.test import Client

from backoffice.roles import STORE_STAFF, role_assign
from fulfillment.models import Fulfillment, FulfillmentEvent
from inventory.models import StockMovement
from notifications.models import OutboxMessage
from orders.models import Refund
from tests.backoffice.test_store_day import STEP, delivery_order
from tests.factories import UserFactory
from tests.fulfillment.test_station import pickup_order
from tests.inventory.test_concurrency import run_at_once
from tests.orders.test_payments import received_at_stripe

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def two_staff(store) -> list[Client]:
    clients = []
    for name in ("sam", "kim"):
        client = Client()
        client.force_login(role_assign(user=UserFactory(username=name), role=STORE_STAFF, stores=[store]))
        clients.append(client)
    return clients


def test_two_staff_marking_one_pickup_ready_at_once_issue_one_code_and_one_message(shelf, store, stripe_double):
    pickup = pickup_order(stripe_double, store)
    staff = two_staff(store)

    pressed = run_at_once(2, lambda i: staff[i].post(STEP.format(pk=pickup.pk, step="ready")).status_code)

    assert pressed == [302, 302]
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY
    assert FulfillmentEvent.objects.filter(fulfillment=pickup, to_status=Fulfillment.Status.READY).count() == 1
    assert OutboxMessage.objects.filter(template="pickup_ready", reference=f"fulfillment:{pickup.pk}",
                                        medium="email").count() == 1


def test_two_staff_shipping_one_parcel_at_once_take_the_stock_and_the_money_once(shelf, store, stripe_double):
    parcel = delivery_order(stripe_double)
    staff = two_staff(store)
    staff[0].post(STEP.format(pk=parcel.pk, step="pick"))
    staff[0].post(STEP.format(pk=parcel.pk, step="pack"), {"carrier": "DPD", "tracking_number": "155012345"})

    pressed = run_at_once(2, lambda i: staff[i].post(STEP.format(pk=parcel.pk, step="ship")).status_code)

    assert pressed == [302, 302]
    assert StockMovement.objects.filter(reason=StockMovement.Reason.SHIPMENT,
                                        reference=f"fulfillment:{parcel.pk}").count() == 1
    assert FulfillmentEvent.objects.filter(fulfillment=parcel, to_status=Fulfillment.Status.SHIPPED).count() == 1
    assert OutboxMessage.objects.filter(template="order_shipped", medium="email").count() == 1
    payment = parcel.order.payment
    payment.refresh_from_db()
    assert payment.captured_amount == parcel.order.total_amount
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent, params={"expand": ["latest_charge"]})
    assert received_at_stripe(intent) == int(parcel.order.total_amount * 100)  # captured once, in full
    assert not Refund.objects.exists()
