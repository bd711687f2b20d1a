"""A stock count completed while the till sells the same (store, variant), on PostgreSQL with one connection per
thread: both land, in whichever order they queue. On hand is what the count and the sale make it in that order,
no bucket goes below zero, and the ledger adds up to every level (what `manage.py verify_ledger` checks).

The story: two tees were on record at the store; one walked out, the other is at the till being sold, so the
counter finds the shelf empty. The first two tests fix who holds the row when the other arrives; the last
releases a whole count and the till's sales at once.
"""
import io
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from catalog.models import Channel, Variant
from inventory import services as stock
from inventory.models import BUCKETS, StockCount, StockLevel, StockMovement
from orders.models import Order, Payment
from orders.services import till_sale
from tests.factories import PriceFactory, UserFactory, VariantFactory
from tests.inventory.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Reason = StockMovement.Reason


@pytest.fixture
def clerk(db):
    return UserFactory(username="till-clerk")


def on_the_shelf(store, sku: str, units: int) -> Variant:
    tee = VariantFactory(sku=sku)
    PriceFactory(variant=tee, channel=Channel.objects.get(code=Channel.TILL), amount="20.00")
    stock.stock_receive(location=store, variant=tee, quantity=units)
    return tee


def counted_empty(store, variants: list[Variant]) -> StockCount:
    count = stock.stock_count_start(location=store, note="shelf count")
    for variant in variants:
        stock.stock_count_record(count=count, variant=variant, counted_quantity=0)
    return count


def sell_one(store, tee: Variant, clerk) -> Order:
    return till_sale(store=store, lines=[(tee, 1)], staff=clerk, payment_method="cash")


def until_another_connection_queues_behind_this_one(timeout: float = 10) -> None:
    """Return once another connection is waiting for a lock this one holds (asked of PostgreSQL itself)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity is read once per transaction
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.005)
    raise AssertionError("the other connection never queued behind this one")


def ledger_of(store, tee: Variant) -> list[tuple[str, int]]:
    return list(StockMovement.objects.filter(location=store, variant=tee).order_by("id")
                .values_list("reason", "on_hand_delta"))


def assert_ledger_balances(store) -> None:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_ledger", location=[store.code], verbosity=0, stdout=out, stderr=err)
    except CommandError as drift:
        pytest.fail(f"{drift}\n{err.getvalue()}")
    levels = StockLevel.objects.filter(location=store).values_list(*BUCKETS)
    assert all(units >= 0 for level in levels for units in level), list(levels)


def test_a_count_completed_while_a_till_sale_holds_the_row_is_booked_after_the_sale(store, clerk):
    tee = on_the_shelf(store, "TEE-LAST-1", 2)
    count = counted_empty(store, [tee])
    sale_holds_the_row = threading.Event()

    def till(_) -> Order:
        with transaction.atomic():
            order = sell_one(store, tee, clerk)
            sale_holds_the_row.set()
            until_another_connection_queues_behind_this_one()  # the count, waiting for this sale
        return order

    def counter(_) -> StockCount:
        assert sale_holds_the_row.wait(10)
        return stock.stock_count_complete(count=count, actor=clerk)

    sold, completed = run_at_once(2, lambda i: (till, counter)[i](i))

    assert isinstance(sold, Order) and isinstance(completed, StockCount), (sold, completed)
    assert Payment.objects.get(order=sold).captured_amount == 20
    line = StockCount.objects.get(pk=count.pk).lines.get()
    assert (line.expected_quantity, line.difference) == (1, -1), "the count did not see the sale before it"
    assert ledger_of(store, tee) == [(Reason.RECEIPT, 2), (Reason.SALE, -1), (Reason.COUNT, -1)]
    assert StockLevel.objects.get(location=store, variant=tee).on_hand == 0
    assert_ledger_balances(store)


def test_a_till_sale_landing_while_a_count_holds_the_row_books_the_unit_in_hand_as_found(store, clerk):
    tee = on_the_shelf(store, "TEE-LAST-2", 2)
    count = counted_empty(store, [tee])
    count_holds_the_row = threading.Event()

    def counter(_) -> StockCount:
        with transaction.atomic():
            completed = stock.stock_count_complete(count=count, actor=clerk)
            count_holds_the_row.set()
            until_another_connection_queues_behind_this_one()  # the till, waiting for this count
        return completed

    def till(_) -> Order:
        assert count_holds_the_row.wait(10)
        return sell_one(store, tee, clerk)

    completed, sold = run_at_once(2, lambda i: (counter, till)[i](i))

    assert isinstance(sold, Order) and isinstance(completed, StockCount), (completed, sold)
    assert Payment.objects.get(order=sold).captured_amount == 20
    line = StockCount.objects.get(pk=count.pk).lines.get()
    assert (line.expected_quantity, line.difference) == (2, -2)
    assert ledger_of(store, tee) == [(Reason.RECEIPT, 2), (Reason.COUNT, -2), (Reason.FOUND_AT_TILL, 1),
                                     (Reason.SALE, -1)], "the sale did not see the count before it"
    assert StockLevel.objects.get(location=store, variant=tee).on_hand == 0
    assert_ledger_balances(store)


def test_a_count_of_the_shelf_completed_as_the_till_sells_from_it_balances_in_whichever_order(store, clerk):
    tees = [on_the_shelf(store, f"TEE-RACE-{n}", 2) for n in range(8)]
    count = counted_empty(store, tees)

    results = run_at_once(len(tees) + 1, lambda i: stock.stock_count_complete(count=count, actor=clerk)
                          if i == len(tees) else sell_one(store, tees[i], clerk))

    failed = [r for r in results if isinstance(r, Exception)]
    assert not failed, f"{len(failed)} of the count and the sales failed, e.g. {failed[0]!r}"
    lines = {line.variant_id: line for line in StockCount.objects.get(pk=count.pk).lines.all()}
    for tee in tees:
        if lines[tee.pk].expected_quantity == 1:  # the sale came first; the count booked the missing one
            expected = [(Reason.RECEIPT, 2), (Reason.SALE, -1), (Reason.COUNT, -1)]
        else:  # the count came first; the sale found the unit the customer was holding
            expected = [(Reason.RECEIPT, 2), (Reason.COUNT, -2), (Reason.FOUND_AT_TILL, 1), (Reason.SALE, -1)]
        assert ledger_of(store, tee) == expected, (tee.sku, lines[tee.pk].expected_quantity)
        assert StockLevel.objects.get(location=store, variant=tee).on_hand == 0
    assert_ledger_balances(store)
