"""core.inserts writes rows as Model.save() would (ids in order, values stored the same), and a row that
would break a unique constraint is skipped without breaking the caller's transaction; on PostgreSQL its prepared
cursor runs a statement prepared once per connection (a stock hold's among them) and logs it with its values."""
from datetime import datetime, timezone

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog.models import Channel
from core.inserts import insert, prepared_cursor
from inventory.services import StockLine, stock_receive, stock_reserve
from notifications.models import OutboxMessage
from tests.factories import LocationFactory, VariantFactory

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


def _prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres
def test_a_prepared_cursor_runs_its_statement_prepared_and_logs_it_with_its_values():
    sql = "SELECT %s::integer * 2, %s::text IS NULL -- the prepared-cursor test"
    with CaptureQueriesContext(connection) as logged:
        for n in (1, 2):
            with prepared_cursor() as cursor:
                cursor.execute(sql, [n, None])
                assert cursor.fetchone() == (2 * n, True)

    assert [s for s in _prepared_statements() if "the prepared-cursor test" in s] == [
        "SELECT $1::integer * 2, $2::text IS NULL -- the prepared-cursor test"]  # once, for both runs
    assert [q["sql"] for q in logged.captured_queries] == [
        "SELECT 1::integer * 2, NULL::text IS NULL -- the prepared-cursor test",
        "SELECT 2::integer * 2, NULL::text IS NULL -- the prepared-cursor test"]


@pytest.mark.postgres
def test_a_stock_hold_is_a_prepared_statement_unless_they_are_turned_off(monkeypatch):
    store, variant = LocationFactory(), VariantFactory()
    stock_receive(location=store, variant=variant, quantity=5)
    web = Channel.objects.get(code=Channel.WEB)

    stock_reserve(lines=[StockLine(store, variant, 1)], channel=web)
    assert any(s.lstrip().startswith("WITH hold AS") for s in _prepared_statements())

    monkeypatch.setattr(connection.connection, "prepare_threshold", None)  # as DB_PREPARED_STATEMENTS=0 leaves it
    with prepared_cursor() as cursor:
        assert isinstance(cursor.cursor, psycopg.ClientCursor)  # Django's own: values bound into the text
    hold = stock_reserve(lines=[StockLine(store, variant, 2)], channel=web)
    assert [line.quantity for line in hold.lines.all()] == [2]
