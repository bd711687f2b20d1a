"""Selling at the till what the customer is holding (stock_sell with book_found): where the ledger shows
fewer units available than are sold, exactly the shortfall is booked as found at the till, with the seller,
the store and the sale's reference, in the sale's transaction; units promised to online orders stay theirs,
no bucket goes below zero, and the ledger still adds up, also when tills sell the last unit at once."""
from collections import Counter

import pytest

from catalog.models import Channel
from inventory import services
from inventory.exceptions import InvalidQuantity
from inventory.models import StockDiscrepancy, StockLevel, StockMovement
from inventory.selectors import ledger_drift
from inventory.services import StockLine
from tests.factories import UserFactory
from tests.inventory.test_concurrency import run_at_once
from tests.inventory.test_services import buckets, stocked

Reason = StockMovement.Reason


@pytest.mark.django_db
def test_selling_an_item_the_ledger_never_had_books_it_found_then_sells_it(store, variant):
    seller = UserFactory(username="sam")

    services.stock_sell(lines=[StockLine(store, variant, 2)], reference="order:R7KQ2MZX", actor=seller,
                        book_found=True)

    found, sale = StockMovement.objects.order_by("id")
    assert (found.reason, found.on_hand_delta, found.location, found.actor, found.reference) == (
        Reason.FOUND_AT_TILL, 2, store, seller, "order:R7KQ2MZX")
    assert found.get_reason_display() == "Found at the till"
    assert (sale.reason, sale.on_hand_delta, sale.actor, sale.reference) == (Reason.SALE, -2, seller,
                                                                           "order:R7KQ2MZX")
    assert buckets(store, variant)["on_hand"] == 0
    assert list(StockDiscrepancy.objects.all()) == [found]
    assert ledger_drift(location=store) == []


@pytest.mark.django_db
def test_only_the_shortfall_is_booked_and_units_promised_online_stay_promised(store, variant, web):
    stocked(store, variant, 4)
    services.stock_commit(lines=[StockLine(store, variant, 2)], channel=web, reference="order:RONLINE1")
    services.stock_reserve(lines=[StockLine(store, variant, 1)], channel=web)
    services.stock_mark_unavailable(location=store, variant=variant, quantity=1)  # 0 available now

    services.stock_sell(lines=[StockLine(store, variant, 1)], reference="order:RTILL001", book_found=True)
    services.stock_sell(lines=[StockLine(store, variant, 3)], reference="order:RTILL002", book_found=True)

    assert list(StockMovement.objects.filter(reason=Reason.FOUND_AT_TILL).order_by("id")
                .values_list("on_hand_delta", "reference")) == [(1, "order:RTILL001"), (3, "order:RTILL002")]
    assert buckets(store, variant) == {
        "on_hand": 4, "committed": 2, "reserved": 1, "unavailable": 1, "incoming": 0, "safety_stock": 0}
    assert ledger_drift(location=store) == []


@pytest.mark.django_db
def test_what_the_ledger_shows_is_sold_without_a_correction_safety_stock_included(store, variant, other_variant):
    stocked(store, variant, 3, safety_stock=3)
    stocked(store, other_variant, 1)

    services.stock_sell(lines=[StockLine(store, variant, 3), StockLine(store, other_variant, 2)],
                        reference="order:RMIXED01", book_found=True)

    assert list(StockMovement.objects.filter(reason=Reason.FOUND_AT_TILL).values_list("variant", "on_hand_delta")) == [
        (other_variant.pk, 1)]
    assert (buckets(store, variant)["on_hand"], buckets(store, other_variant)["on_hand"]) == (0, 0)
    assert ledger_drift(location=store) == []


@pytest.mark.django_db
def test_a_refused_quantity_books_nothing_found(store, variant):
    with pytest.raises(InvalidQuantity):
        services.stock_sell(lines=[StockLine(store, variant, 0)], reference="order:RZERO001", book_found=True)

    assert not StockMovement.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tills_selling_the_last_unit_at_once_all_sell_and_book_only_what_was_missing(store, variant):
    stocked(store, variant, 3)
    services.stock_commit(lines=[StockLine(store, variant, 2)], channel=Channel.objects.get(code=Channel.WEB),
                          reference="order:RONLINE1")  # one unit left for walk-in shoppers
    tills = 6

    results = run_at_once(tills, lambda i: services.stock_sell(
        lines=[StockLine(store, variant, 1)], reference=f"order:RTILL{i:03d}", book_found=True))

    assert not [r for r in results if isinstance(r, Exception)]
    assert Counter(m.reason for movements in results for m in movements) == {
        Reason.SALE: tills, Reason.FOUND_AT_TILL: tills - 1}
    level = StockLevel.objects.get(location=store, variant=variant)
    assert (level.on_hand, level.committed, level.available) == (2, 2, 0)
    assert ledger_drift(location=store) == []
