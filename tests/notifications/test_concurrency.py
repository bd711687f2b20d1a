"""Two workers queueing the same message at the same moment, on PostgreSQL with one connection each: the
outbox holds it once and the person gets it once. Each worker keeps its transaction open a moment after
queueing, so the other's insert meets an uncommitted row and must wait for it."""
import time
from collections import Counter

import pytest
from django.core import mail
from django.db import transaction

from notifications.models import OutboxMessage
from notifications.recipients import Recipient
from notifications.services import message_queue
from tests.inventory.test_concurrency import run_at_once
from tests.test_jobs import counting_sms  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HELD_OPEN = 0.5  # seconds a worker keeps its transaction open after queueing


def queue_and_hold(worker: int) -> list[OutboxMessage]:
    with transaction.atomic():
        queued = message_queue(
            template="pickup_ready", to=Recipient(email="ada@example.com", phone="+447700900123"),
            reference="fulfillment:7", context={
                "order": {"number": "R2TEST07"}, "store": {"name": "Oxford Street"},
                "fulfillment": {"pickup_code": "ABCD2345"}, "order_link": "https://shop.example/orders/R2TEST07/"})
        time.sleep(HELD_OPEN)
    return queued


def test_two_workers_queueing_the_same_message_at_once_queue_and_send_it_once(counting_sms):
    results = run_at_once(2, queue_and_hold)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(len(queued) for queued in results) == [0, 2]
    rows = OutboxMessage.objects.filter(template="pickup_ready", reference="fulfillment:7")
    assert Counter(rows.values_list("medium", flat=True)) == {"email": 1, "sms": 1}
    assert set(rows.values_list("status", flat=True)) == {OutboxMessage.Status.SENT}
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert [to for to, _ in counting_sms] == ["+447700900123"]
