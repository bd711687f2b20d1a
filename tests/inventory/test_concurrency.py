"""Stock under load, on PostgreSQL with real concurrent connections: one thread, one connection.

Each test commits its data (transaction=True) so the other connections see it.
"""
import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from catalog.models import Channel
from inventory import services
from inventory.exceptions import InsufficientStock
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.selectors import ledger_drift
from inventory.services import StockLine

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_at_once(count: int, work: Callable[[int], object]) -> list[object]:
    """Run work(i) in `count` threads released together; each returns its result or the exception it raised."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # the test inspects what each shopper got
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    return results


def test_fifty_shoppers_for_ten_units_get_exactly_ten_holds(store, variant):
    web = Channel.objects.get(code=Channel.WEB)
    services.stock_receive(location=store, variant=variant, quantity=10)

    results = run_at_once(
        50, lambda i: services.stock_reserve(lines=[StockLine(store, variant, 1)], channel=web, reference=f"cart:{i}")
    )

    outcome = Counter(type(result).__name__ for result in results)
    assert outcome == {"Reservation": 10, "InsufficientStock": 40}
    assert all(r.lines[0].available == 0 for r in results if isinstance(r, InsufficientStock))
    level = StockLevel.objects.get(location=store, variant=variant)
    assert (level.on_hand, level.reserved, level.available) == (10, 10, 0)
    assert Reservation.objects.count() == 10
    assert ledger_drift(location=store) == []


def test_multi_line_holds_taking_rows_in_opposite_order_never_deadlock(store, variant, other_variant):
    web = Channel.objects.get(code=Channel.WEB)
    for v in (variant, other_variant):
        services.stock_receive(location=store, variant=v, quantity=1000)
    rounds = 40

    def shopper(i: int) -> int:
        order = [variant, other_variant] if i % 2 == 0 else [other_variant, variant]
        for _ in range(rounds):
            held = services.stock_reserve(lines=[StockLine(store, v, 1) for v in order], channel=web)
            services.reservation_release(reservation=held)
        return rounds

    results = run_at_once(8, shopper)

    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, f"{len(errors)} shoppers failed, e.g. {errors[0]!r}"
    assert not any(isinstance(r, OperationalError) for r in results)
    assert StockLevel.objects.filter(location=store, reserved=0).count() == 2
    assert StockMovement.objects.filter(reason=StockMovement.Reason.RESERVATION).count() == 8 * rounds * 2
    assert ledger_drift(location=store) == []


def test_concurrent_retries_with_one_idempotency_key_change_stock_once(store, variant):
    web = Channel.objects.get(code=Channel.WEB)
    services.stock_receive(location=store, variant=variant, quantity=10)

    holds = run_at_once(
        8,
        lambda i: services.stock_reserve(
            lines=[StockLine(store, variant, 3)], channel=web, idempotency_key="checkout-7f3a"
        ),
    )
    receipts = run_at_once(
        8,
        lambda i: services.stock_receive(location=store, variant=variant, quantity=5, idempotency_key="delivery-204"),
    )

    assert {h.pk for h in holds} == {Reservation.objects.get().pk}
    assert all(not isinstance(r, Exception) for r in receipts)
    level = StockLevel.objects.get(location=store, variant=variant)
    assert (level.on_hand, level.reserved) == (15, 3)
    assert ledger_drift(location=store) == []


def test_a_sale_at_the_till_and_an_online_hold_for_the_last_unit_cannot_both_win(store, variant):
    web = Channel.objects.get(code=Channel.WEB)
    services.stock_receive(location=store, variant=variant, quantity=1)

    def buy(i: int):
        if i % 2:
            return services.stock_sell(lines=[StockLine(store, variant, 1)], reference="till")
        return services.stock_reserve(lines=[StockLine(store, variant, 1)], channel=web)

    results = run_at_once(20, buy)

    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, InsufficientStock) for r in results if isinstance(r, Exception))
    level = StockLevel.objects.get(location=store, variant=variant)
    assert (level.on_hand, level.reserved) in {(0, 0), (1, 1)}
    assert ledger_drift(location=store) == []


def test_two_expiry_jobs_at_once_release_each_hold_once(store, variant):
    web = Channel.objects.get(code=Channel.WEB)
    services.stock_receive(location=store, variant=variant, quantity=30)
    for _ in range(30):
        services.stock_reserve(lines=[StockLine(store, variant, 1)], channel=web, hold_for=timedelta(seconds=-1))

    released = run_at_once(2, lambda i: services.reservations_release_expired(now=timezone.now()))

    assert sum(released) == 30
    assert StockLevel.objects.get(location=store, variant=variant).reserved == 0
    assert StockMovement.objects.filter(reason=StockMovement.Reason.RESERVATION_RELEASE).count() == 30
    assert ledger_drift(location=store) == []
