"""Two counters handing over the same pickup at once, on PostgreSQL with one connection each and the local
Stripe double: it is collected once (one status change, the stock out once, the card charged once, one
message), and the second counter is told it was already collected."""
import pytest

from fulfillment import services
from fulfillment.models import Fulfillment, FulfillmentEvent
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_drift
from notifications.models import OutboxMessage
from orders.models import Order, Payment
from tests.fulfillment.test_pickup import COLLECT, ready_pickup, refusal, scan
from tests.inventory.test_concurrency import run_at_once
from tests.journeys.test_pickup_and_returns import staff_of
from tests.orders.test_payments import received_at_stripe
from tests.orders.test_races import crashes, held_until_all_arrive

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_counters_handing_over_one_pickup_at_once_collect_it_once_and_charge_once(
        shelf, store, stripe_double, monkeypatch):
    tee, _ = shelf
    counters = [staff_of(store, username="sam"), staff_of(store, username="kim")]
    pickup = ready_pickup(counters[0], stripe_double, store)  # two tees; the card is authorised, not charged
    # Both counters have looked the code up and seen it ready: both press "hand over" in the same instant.
    held_until_all_arrive(monkeypatch, services, "pickup_find_at_station")

    responses = run_at_once(2, lambda i: scan(counters[i], store, pickup.pickup_code, url=COLLECT))

    assert not crashes(responses), responses
    assert sorted(r.status_code for r in responses) == [200, 409], [r.json() for r in responses]
    handed = next(r for r in responses if r.status_code == 200)
    refused = next(r for r in responses if r.status_code == 409)
    assert handed.json()["status"] == Fulfillment.Status.COLLECTED
    assert refusal(refused) == (409, "pickup_refused", "already_collected")
    assert refused.json()["message"].startswith("Already collected on ")

    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.COLLECTED
    assert FulfillmentEvent.objects.filter(fulfillment=pickup, to_status=Fulfillment.Status.COLLECTED).count() == 1
    collected = StockMovement.objects.filter(reason=StockMovement.Reason.PICKUP, reference=f"fulfillment:{pickup.pk}")
    assert list(collected.values_list("on_hand_delta", "committed_delta")) == [(-2, -2)]
    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.on_hand, level.committed, level.reserved) == (8, 0, 0)
    assert ledger_drift(location=store) == []

    order = Order.objects.get(pk=pickup.order_id)
    assert order.status == Order.Status.FULFILLED
    assert order.lines.get().quantity_fulfilled == 2
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.captured_amount) == (Payment.Status.CAPTURED, order.total_amount)
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent,
                                                       params={"expand": ["latest_charge"]})
    assert received_at_stripe(intent) == int(order.total_amount * 100)
    assert OutboxMessage.objects.filter(template="pickup_collected", reference=f"fulfillment:{pickup.pk}",
                                        medium="email").count() == 1
