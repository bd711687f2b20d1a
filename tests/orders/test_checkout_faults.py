"""Checkouts whose request dies half-way (a killed worker, a database connection cut): the claim on the
Idempotency-Key is taken over after its lease, with the dead request's stock hold released and its card
authorisation voided, so a retry with the same key finishes — one order, never two, never a stuck key.
The last test cuts real database connections on PostgreSQL while shoppers check out."""
import random
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Channel
from inventory import services as stock
from inventory.models import Reservation, StockLevel
from inventory.selectors import ledger_drift
from inventory.services import StockLine
from orders import services, stripe_gateway
from orders.models import CheckoutAttempt, Order, Payment
from tests.factories import card
from tests.inventory.test_concurrency import run_at_once
from tests.orders.test_concurrency import SKU, guest_with_one_in_the_cart, intents_at_stripe, last_ten  # noqa: F401

BODY = {"fulfilment": "pickup", "payment_method": "card", "email": "ada@example.com"}
CUTS = 40
LAST = {}


def body(store, stripe_double) -> dict:
    return {**BODY, "store": store.code, "payment_method_id": card(stripe_double)}


def left_by_a_dead_request(store, variant, token: str, key: str, sent: dict, *, minutes_ago: int):
    """What a checkout that died after the card said yes leaves: its claim, its stock hold, its authorisation."""
    attempt = CheckoutAttempt.objects.create(
        key=f"cart:{token}|{key}", fingerprint=services.request_fingerprint({"body": sent, "channel": "web"}))
    hold = stock.stock_reserve(lines=[StockLine(store, variant, 1)], channel=Channel.objects.get(code=Channel.WEB),
                               reference=f"checkout:{attempt.pk}")
    intent = stripe_gateway.authorise(amount=Decimal("20.00"), currency="GBP", payment_method=sent["payment_method_id"],
                                      reference=f"checkout:{attempt.pk}",
                                      created=lambda i: CheckoutAttempt.objects.filter(pk=attempt.pk)
                                      .update(payment_intent=i))
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(created_at=attempt.created_at - timedelta(minutes=minutes_ago))
    return hold, intent


@pytest.mark.django_db
def test_a_claim_left_by_a_dead_request_is_taken_over_after_its_lease(store, last_ten, stripe_double):  # noqa: F811
    guest, token = guest_with_one_in_the_cart()
    key, sent = str(uuid.uuid4()), body(store, stripe_double)
    hold, dead_intent = left_by_a_dead_request(store, last_ten, token, key, sent, minutes_ago=5)

    retried = guest.post("/api/v1/checkout/", sent, format="json", headers={"Idempotency-Key": key})

    assert retried.status_code == 201, retried.json()
    order = Order.objects.get()
    assert Reservation.objects.get(pk=hold.pk).status == Reservation.Status.RELEASED
    assert stripe_double.v1.payment_intents.retrieve(dead_intent.id).status == "canceled"
    payment = Payment.objects.get(order=order)
    assert payment.stripe_payment_intent != dead_intent.id
    assert stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent).status == "requires_capture"
    level = StockLevel.objects.get(location=store, variant=last_ten)
    assert (level.committed, level.reserved) == (1, 0)
    assert guest.post("/api/v1/checkout/", sent, format="json",
                      headers={"Idempotency-Key": key}).json()["number"] == order.number


@pytest.mark.django_db
def test_within_its_lease_a_claim_is_still_in_progress_and_nothing_is_undone(store, last_ten, stripe_double):  # noqa: F811
    guest, token = guest_with_one_in_the_cart()
    key, sent = str(uuid.uuid4()), body(store, stripe_double)
    hold, intent = left_by_a_dead_request(store, last_ten, token, key, sent, minutes_ago=0)

    retried = guest.post("/api/v1/checkout/", sent, format="json", headers={"Idempotency-Key": key})

    assert retried.status_code == 409 and retried.json()["code"] == "checkout_in_progress"
    assert Reservation.objects.get(pk=hold.pk).status == Reservation.Status.ACTIVE
    assert stripe_double.v1.payment_intents.retrieve(intent.id).status == "requires_capture"
    assert not Order.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_checkouts_whose_database_connections_are_cut_finish_on_retry_once_each(store, last_ten, stripe_double,
                                                                               settings):  # noqa: F811
    settings.CHECKOUT_CLAIM_LEASE = timedelta(seconds=1)
    shoppers = [guest_with_one_in_the_cart() for _ in range(8)]
    keys = [str(uuid.uuid4()) for _ in shoppers]
    bodies = [body(store, stripe_double) for _ in shoppers]
    created: list[str] = []
    real_authorise = stripe_gateway.authorise

    def authorise(**kwargs):  # remember every intent asked for, to prove none is left authorised for nothing
        told = kwargs.pop("created")
        return real_authorise(**kwargs, created=lambda i: (created.append(i), told(i)))

    stripe_gateway.authorise = authorise
    stop = threading.Event()
    database = connection.settings_dict["NAME"]
    cuts: list[int] = []
    hit: list[int] = []

    def cut_connections():
        """A burst of faults while the checkouts run: busy connections cut, a few dozen times."""
        with connection.cursor() as cursor:
            while not stop.is_set() and len(cuts) < CUTS:
                time.sleep(random.uniform(0.01, 0.06))
                cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s "
                               "AND pid <> pg_backend_pid() AND state <> 'idle'", [database])
                cuts.append(cursor.fetchone()[0])
        connection.close()

    def check_out_until_told(i: int):
        guest, _ = shoppers[i]
        for _ in range(60):
            try:
                answer = guest.post("/api/v1/checkout/", bodies[i], format="json",
                                    headers={"Idempotency-Key": keys[i]})
            except Exception as e:  # noqa: BLE001  the connection was cut under the request: the client retries
                LAST.setdefault(i, []).append(repr(e)[:120])
                hit.append(i)
                connection.close()
                continue
            if answer.status_code in (200, 201):
                return answer.json()["number"]
            if answer.status_code >= 500:
                hit.append(i)
            LAST.setdefault(i, []).append((answer.status_code, answer.content[:120]))
            time.sleep(0.2)  # 409 in progress, or a 500 after a cut: retry with the same key
        return None

    killer = threading.Thread(target=cut_connections)
    killer.start()
    try:
        told = run_at_once(len(shoppers), check_out_until_told)
    finally:
        stop.set()
        killer.join(timeout=30)
        stripe_gateway.authorise = real_authorise

    assert sum(cuts) > 0 and hit, "no checkout met a cut connection: the test proved nothing"
    assert all(isinstance(number, str) for number in told), ([LAST.get(i)[-4:] for i, n in enumerate(told) if n is None],
        list(Reservation.objects.filter(status="active").values_list("reference", flat=True)),
        list(CheckoutAttempt.objects.filter(order__isnull=True).values_list("pk", "created_at")))
    assert len(set(told)) == len(shoppers)  # one order per shopper, each told its own
    assert sorted(Order.objects.values_list("number", flat=True)) == sorted(told)  # and each exists once
    paid_with = set(Payment.objects.values_list("stripe_payment_intent", flat=True))
    statuses = {i: stripe_double.v1.payment_intents.retrieve(i).status for i in created}
    authorised = {i for i, s in statuses.items() if s == "requires_capture"}
    assert authorised == paid_with, f"authorised for no order: {authorised - paid_with}"
    assert not Reservation.objects.filter(status=Reservation.Status.ACTIVE).exists()
    level = StockLevel.objects.get(location=store, variant=last_ten)
    assert (level.committed, level.reserved) == (len(shoppers), 0)
    assert ledger_drift(location=store) == []
