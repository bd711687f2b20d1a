"""core.inserts writes rows as Model.save() would (ids in order, values stored the same), and a row that
would break a unique constraint is skipped without breaking the caller's transaction."""
from datetime import datetime, timezone

import pytest
from django.db import transaction

from core.inserts import insert
from notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db


def message(n: int, reference: str = "") -> OutboxMessage:
    return OutboxMessage(medium="email", recipient=f"ada{n}@example.com", template="order_confirmation",
                         subject=f"Order {n}", body="Thank you", reference=reference,
                         created_at=datetime(2026, 11, 30, 9, n, tzinfo=timezone.utc))


def test_rows_are_written_with_their_ids_in_order_and_read_back_as_saved():
    written = insert([message(1), message(2), message(3)])

    assert [m.pk for m in written] == sorted(m.pk for m in written) and all(not m._state.adding for m in written)
    stored = OutboxMessage.objects.in_bulk([m.pk for m in written])
    assert [(stored[m.pk].recipient, stored[m.pk].created_at, stored[m.pk].status) for m in written] == [
        (f"ada{n}@example.com", datetime(2026, 11, 30, 9, n, tzinfo=timezone.utc), OutboxMessage.Status.PENDING)
        for n in (1, 2, 3)]


def test_a_duplicate_is_skipped_and_the_transaction_goes_on():
    with transaction.atomic():
        first = insert([message(1, reference="order:R1")], unless_conflict=True)
        again = insert([message(2, reference="order:R1")], unless_conflict=True)
        other = insert([message(3, reference="order:R2")], unless_conflict=True)

    assert first and again == [] and other
    assert sorted(OutboxMessage.objects.values_list("reference", "recipient")) == [
        ("order:R1", "ada1@example.com"), ("order:R2", "ada3@example.com")]


def test_skipping_conflicts_takes_one_row_at_a_time():
    with pytest.raises(ValueError):
        insert([message(1, "order:R1"), message(2, "order:R2")], unless_conflict=True)
    assert not OutboxMessage.objects.exists()
