"""Every periodic job run twice at once, on PostgreSQL with one connection per run: the effect is that
of running it once (one reminder per cart, one alert per store and item a day, each message sent
once, each hold released once, each payment captured and each refund paid once).

Each test commits its data (transaction=True) so the other connections see it. Messages are handed
to Celery on commit and, without a broker, sent eagerly in the committing thread.
"""
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from customers.models import Interaction
from customers.selectors import recipient_for
from fulfillment.models import Fulfillment, FulfillmentEvent
from fulfillment.services import (
    pickups_expire,
    pickups_remind,
    returns_refund_due,
    reviews_request,
)
from inventory import services as stock
from inventory.alerts import low_stock_alerts_send
from inventory.models import LowStockAlert, Reservation, StockLevel, StockMovement
from inventory.selectors import ledger_drift
from inventory.services import StockLine, reservations_release_expired
from notifications import tasks as notification_tasks
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from notifications.services import message_queue
from orders import stripe_gateway
from orders.engagement import abandoned_cart_reminders
from orders.models import Order, Payment, Refund, Voucher
from orders.services import payments_capture_due
from tests.factories import card
from tests.inventory.test_concurrency import run_at_once
from tests.test_jobs import (  # noqa: F401  (goods and counting_sms are fixtures)
    STORE_EMAIL,
    STRIPE_DOWN,
    cart_with,
    collected,
    counting_sms,
    goods,
    pickup_order,
    ready_for_pickup,
    refunds_at_stripe,
    return_with_refund_due,
    shopper,
    web,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SHOPPERS = 4


def twice_at_once(job, **kwargs) -> list:
    results = run_at_once(2, lambda i: job(**kwargs))
    failures = [r for r in results if isinstance(r, Exception)]
    assert not failures, f"a run failed: {failures[0]!r}"
    return results


def shoppers(count: int = SHOPPERS, **kwargs) -> list:
    return [shopper(f"shopper{n}@example.com", first_name=f"Shopper{n}", **kwargs) for n in range(count)]


def one_each(customers, template: str) -> None:
    """Each customer got exactly one message from this template, sent, and one email of it."""
    rows = list(OutboxMessage.objects.filter(template=template))
    assert Counter(r.recipient for r in rows) == {c.email: 1 for c in customers}
    assert {r.status for r in rows} == {OutboxMessage.Status.SENT}
    emailed = Counter((m.to[0], m.subject) for m in mail.outbox)
    assert [emailed[(r.recipient, r.subject)] for r in rows] == [1] * len(rows)


def test_releasing_expired_holds_twice_at_once_releases_each_once(goods, store):
    tee, _ = goods
    holds = [stock.stock_reserve(lines=[StockLine(store, tee, 2)], channel=web()) for _ in range(6)]

    results = twice_at_once(reservations_release_expired, now=timezone.now() + timedelta(hours=1))

    assert sum(results) == 6
    assert set(Reservation.objects.filter(pk__in=[h.pk for h in holds]).values_list("status", flat=True)) == {
        Reservation.Status.EXPIRED}
    assert StockLevel.objects.get(location=store, variant=tee).reserved == 0
    assert StockMovement.objects.filter(reason=StockMovement.Reason.RESERVATION_RELEASE).count() == 6
    assert ledger_drift(location=store) == []


def test_expiring_pickups_twice_at_once_expires_each_once(goods, store):
    tee, _ = goods
    customers = shoppers()
    orders = [pickup_order(c, store, tee, quantity=2) for c in customers]
    for order in orders:
        ready_for_pickup(order)

    # Past every hold: the close of the store's last hold day (fulfillment.services.make_ready).
    past = max(Fulfillment.objects.values_list("expires_at", flat=True)) + timedelta(hours=1)
    results = twice_at_once(pickups_expire, now=past)

    assert sum(results) == SHOPPERS
    assert FulfillmentEvent.objects.filter(to_status=Fulfillment.Status.EXPIRED).count() == SHOPPERS
    assert set(Order.objects.values_list("status", flat=True)) == {Order.Status.CANCELLED}
    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.on_hand, level.committed) == (20, 0)
    assert StockMovement.objects.filter(reason=StockMovement.Reason.COMMIT_RELEASE).count() == SHOPPERS
    one_each(customers, "pickup_expired")
    assert ledger_drift(location=store) == []


def test_reminding_pickups_twice_at_once_reminds_each_once(goods, store):
    tee, _ = goods
    customers = shoppers()
    expiring = [ready_for_pickup(pickup_order(c, store, tee)).expires_at for c in customers]

    results = twice_at_once(pickups_remind, now=max(expiring) - timedelta(hours=12))

    assert sum(results) == SHOPPERS
    assert Fulfillment.objects.filter(reminder_sent_at__isnull=False).count() == SHOPPERS
    one_each(customers, "pickup_reminder")


def test_a_pickup_being_handled_at_the_counter_does_not_hold_up_reminders_for_other_pickups(goods, store):
    tee, _ = goods
    at_counter, *waiting = [ready_for_pickup(pickup_order(c, store, tee)) for c in shoppers(3)]
    holding, finished = threading.Event(), threading.Event()

    def staff_at_the_counter() -> None:
        try:
            with transaction.atomic():  # the lock every counter action takes (fulfillment.services._lock)
                Fulfillment.objects.select_for_update().select_related("order", "location").get(pk=at_counter.pk)
                holding.set()
                finished.wait(timeout=30)
        finally:
            connection.close()

    counter = threading.Thread(target=staff_at_the_counter)
    counter.start()
    assert holding.wait(timeout=10)
    try:
        reminded = pickups_remind(now=max(f.expires_at for f in waiting) - timedelta(hours=12))
    finally:
        finished.set()
        counter.join(timeout=30)

    assert reminded == len(waiting)
    assert set(Fulfillment.objects.filter(reminder_sent_at__isnull=False).values_list("pk", flat=True)) == {
        f.pk for f in waiting}


def test_abandoned_cart_reminders_twice_at_once_send_one_per_cart(goods):
    tee, _ = goods
    customers = shoppers(consent=("email",))
    for customer in customers:
        cart_with(customer, (tee, 1))

    results = twice_at_once(abandoned_cart_reminders, now=timezone.now() + timedelta(hours=25))

    assert sum(results) == SHOPPERS
    assert Voucher.objects.count() == SHOPPERS
    one_each(customers, "abandoned_cart")


def test_review_requests_twice_at_once_ask_once_per_order(goods, store):
    tee, _ = goods
    customers = shoppers(3, consent=("email",))
    for customer in customers:
        collected(pickup_order(customer, store, tee))

    results = twice_at_once(reviews_request, now=timezone.now() + django_settings.REVIEW_REQUEST_DELAY)

    assert sum(results) == 3
    assert Order.objects.filter(review_requested_at__isnull=True).count() == 0
    one_each(customers, "review_request")


def test_low_stock_alerts_twice_at_once_alert_each_store_and_item_once(goods, store, other_store):
    tee, hoodie = goods
    arndale = "arndale@hearthandthread.example"
    for location, address in ((store, STORE_EMAIL), (other_store, arndale)):
        location.email = address
        location.save()
    for variant in (tee, hoodie):
        stock.stock_receive(location=other_store, variant=variant, quantity=1)
        for location in (store, other_store):
            stock.stock_set_reorder_point(location=location, variant=variant, quantity=25)

    results = twice_at_once(low_stock_alerts_send, now=timezone.now())

    assert sum(results) == 2
    assert LowStockAlert.objects.count() == 4
    assert Counter(OutboxMessage.objects.filter(template="low_stock").values_list("recipient", flat=True)) == {
        STORE_EMAIL: 1, arndale: 1}
    alerts = [m for m in mail.outbox if m.subject.startswith("Low stock at")]
    assert sorted(m.to[0] for m in alerts) == sorted([STORE_EMAIL, arndale])
    assert all("TEE-NAVY-M" in m.body and "TEE-NAVY-L" in m.body for m in alerts)


def test_the_outbox_sweep_twice_at_once_sends_each_message_once(monkeypatch, counting_sms):
    customers = shoppers(phone="+44 7700 900123", consent=("sms",))

    def broker_down(*args, **kwargs):
        raise BrokerUnavailable("broker down")

    with monkeypatch.context() as outage:  # the messages are written while the broker is down
        outage.setattr(notification_tasks.deliver_message, "delay", broker_down)
        for n, customer in enumerate(customers):
            with transaction.atomic():
                message_queue(template="pickup_reminder", to=recipient_for(customer), reference=f"order:T{n}",
                              context={"order": {"number": f"T{n}"}, "store": {"name": "Oxford Street"},
                                       "fulfillment": {"pickup_code": "ABCDEFGH"}})
    assert OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count() == SHOPPERS * 2
    assert mail.outbox == [] and counting_sms == []

    reported = twice_at_once(messages_deliver_pending)

    assert sum(reported) == SHOPPERS * 2  # each message counted by the one sweep that sent it
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(OutboxMessage.Status.SENT, 1)}
    assert Counter(m.to[0] for m in mail.outbox) == {c.email: 1 for c in customers}
    assert len(counting_sms) == SHOPPERS
    assert Interaction.objects.filter(kind=Interaction.Kind.MESSAGE_SENT).count() == SHOPPERS * 2


def test_refunding_due_returns_twice_at_once_refunds_each_once(goods, store, settings, stripe_double):
    tee, _ = goods
    owed = [return_with_refund_due(c, store, tee, stripe_double, settings) for c in shoppers(3)]

    twice_at_once(returns_refund_due)

    for due in owed:
        payment = Payment.objects.get(order=due.order)
        assert payment.refunded_amount == 20
        assert Refund.objects.filter(payment=payment).count() == 1
        assert refunds_at_stripe(stripe_double, payment.stripe_payment_intent) == [2000]


def test_capturing_due_payments_twice_at_once_captures_each_once(goods, store, settings, monkeypatch,
                                                                  stripe_double):
    tee, _ = goods
    orders = [pickup_order(c, store, tee, card_id=card(stripe_double)) for c in shoppers(3)]
    reachable = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = STRIPE_DOWN  # Stripe unreachable while the goods are handed over
    for order in orders:
        collected(order)
    settings.STRIPE_API_BASE = reachable
    assert set(Payment.objects.values_list("status", flat=True)) == {Payment.Status.AUTHORISED}
    captures: list[str] = []
    real_capture = stripe_gateway.capture

    def counted_capture(*, payment_intent, amount, currency):
        captures.append(payment_intent)
        return real_capture(payment_intent=payment_intent, amount=amount, currency=currency)

    monkeypatch.setattr(stripe_gateway, "capture", counted_capture)

    twice_at_once(payments_capture_due)

    payments = list(Payment.objects.all())
    assert {(p.status, p.captured_amount) for p in payments} == {(Payment.Status.CAPTURED, 20)}
    assert sorted(captures) == sorted(p.stripe_payment_intent for p in payments)
    for payment in payments:
        charge = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent).latest_charge
        assert (charge.captured, charge.amount - charge.amount_refunded) == (True, 2000)
