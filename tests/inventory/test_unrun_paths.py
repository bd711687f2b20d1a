"""Stock document paths no other test ran: receiving a transfer with a line that is not on it or a quantity below
zero (nothing may move), and cancelling a stock count (by the service and from the back office)."""
import re

import pytest

from core.exceptions import InvalidTransition
from inventory import services
from inventory.exceptions import InvalidQuantity
from inventory.models import StockCount, StockLevel, StockMovement, Transfer
from inventory.selectors import ledger_drift
from tests.factories import VariantFactory
from tests.inventory.test_admin import page, run_action

pytestmark = pytest.mark.django_db

Reason = StockMovement.Reason


def stock(location) -> list[tuple]:
    return list(StockLevel.objects.filter(location=location).order_by("variant__sku")
                .values_list("variant__sku", "on_hand", "incoming", "committed", "reserved"))


def ledger() -> list[tuple]:
    return list(StockMovement.objects.order_by("pk").values_list("pk", "reason", "on_hand_delta", "incoming_delta"))


@pytest.fixture
def on_its_way(store, other_store, variant, other_variant) -> Transfer:
    """4 of one tee and 2 of another shipped from the London store to Manchester."""
    services.stock_receive(location=store, variant=variant, quantity=10)
    services.stock_receive(location=store, variant=other_variant, quantity=5)
    transfer = services.transfer_create(source=store, destination=other_store,
                                        lines=[(variant, 4), (other_variant, 2)])
    return services.transfer_ship(transfer=transfer)


def assert_nothing_received(transfer, other_store, before):
    transfer.refresh_from_db()
    assert (transfer.status, transfer.received_at, transfer.received_by) == (Transfer.Status.SHIPPED, None, None)
    assert list(transfer.lines.values_list("received_quantity", flat=True)) == [None, None]
    assert (stock(other_store), ledger()) == before
    assert stock(other_store) == [("TEE-NAVY-L", 0, 2, 0, 0), ("TEE-NAVY-M", 0, 4, 0, 0)]


# Receiving a transfer ----------------------------------------------------------------------------


def test_a_receipt_naming_a_variant_not_on_the_transfer_is_refused_and_nothing_moves(
    on_its_way, other_store, variant, other_variant,
):
    stray = VariantFactory(sku="SOCK-RED-S")
    before = (stock(other_store), ledger())

    with pytest.raises(InvalidQuantity, match=r"^Received quantities name variants that are not on the transfer\.$") \
            as refused:
        services.transfer_receive(transfer=on_its_way, received={variant.pk: 4, stray.pk: 1})

    assert (refused.value.code, refused.value.detail) == ("invalid_quantity", {"field": "received"})
    assert_nothing_received(on_its_way, other_store, before)
    assert not StockLevel.objects.filter(variant=stray).exists()

    services.transfer_receive(transfer=on_its_way, received={variant.pk: 3})  # the count corrected: it books

    assert stock(other_store) == [("TEE-NAVY-L", 2, 0, 0, 0), ("TEE-NAVY-M", 3, 0, 0, 0)]
    assert ledger_drift(location=other_store) == []


@pytest.mark.parametrize("got", [-1, -2, 1.5, "2", True], ids=["minus-one", "minus-all", "fraction", "text", "bool"])
def test_a_received_quantity_below_zero_or_not_a_whole_number_is_refused_and_nothing_moves(
    on_its_way, store, other_store, variant, other_variant, got,
):
    before = (stock(other_store), ledger())
    source = stock(store)

    with pytest.raises(InvalidQuantity, match=rf"^A received quantity must be zero or more, not {re.escape(repr(got))}\.$") \
            as refused:  # the first line is fine; the second is not
        services.transfer_receive(transfer=on_its_way, received={variant.pk: 4, other_variant.pk: got})

    assert refused.value.detail == {"field": "received"}
    assert_nothing_received(on_its_way, other_store, before)
    assert stock(store) == source


# Cancelling a count ------------------------------------------------------------------------------


@pytest.fixture
def counting(store, variant, other_variant) -> StockCount:
    """An open count at the store: 8 tees counted where the ledger says 10, 5 of the other where it says 3."""
    services.stock_receive(location=store, variant=variant, quantity=10)
    services.stock_receive(location=store, variant=other_variant, quantity=3)
    count = services.stock_count_start(location=store)
    services.stock_count_record(count=count, variant=variant, counted_quantity=8)
    services.stock_count_record(count=count, variant=other_variant, counted_quantity=5)
    return count


def test_a_cancelled_count_books_nothing_and_cannot_then_be_completed_or_counted(store, variant, counting):
    before = (stock(store), ledger())

    cancelled = services.stock_count_cancel(count=counting)

    counting.refresh_from_db()
    assert cancelled.status == counting.status == StockCount.Status.CANCELLED
    assert (counting.completed_at, counting.completed_by) == (None, None)
    assert (stock(store), ledger()) == before
    with pytest.raises(InvalidTransition, match=rf"^Count {counting.pk} at LDN-OXF \(cancelled\) cannot go from "
                                                r"cancelled to completed\.$"):
        services.stock_count_complete(count=counting)
    with pytest.raises(InvalidTransition, match="cannot go from cancelled to counting"):
        services.stock_count_record(count=counting, variant=variant, counted_quantity=7)
    assert services.stock_count_cancel(count=counting).status == StockCount.Status.CANCELLED  # again: no change
    counting.refresh_from_db()
    assert counting.status == StockCount.Status.CANCELLED
    assert list(counting.lines.order_by("counted_quantity").values_list("counted_quantity", "expected_quantity")) == [
        (5, None), (8, None)]
    assert (stock(store), ledger()) == before
    assert stock(store) == [("TEE-NAVY-L", 3, 0, 0, 0), ("TEE-NAVY-M", 10, 0, 0, 0)]
    assert not StockMovement.objects.filter(reason=Reason.COUNT).exists()


def test_a_completed_count_cannot_be_cancelled_and_what_it_booked_stands(store, counting):
    services.stock_count_complete(count=counting)
    booked = (stock(store), ledger())

    with pytest.raises(InvalidTransition, match="cannot go from completed to cancelled"):
        services.stock_count_cancel(count=counting)

    counting.refresh_from_db()
    assert counting.status == StockCount.Status.COMPLETED
    assert (stock(store), ledger()) == booked
    assert stock(store) == [("TEE-NAVY-L", 5, 0, 0, 0), ("TEE-NAVY-M", 8, 0, 0, 0)]


def test_cancelling_counts_from_the_back_office_reports_each_and_a_cancelled_one_cannot_be_completed(
    admin_client, store, variant, counting,
):
    done = services.stock_count_start(location=store)
    services.stock_count_record(count=done, variant=variant, counted_quantity=9)
    services.stock_count_complete(count=done)
    before = (stock(store), ledger())

    cancelled = page(run_action(admin_client, "stockcount", "cancel_counts", counting, done))

    assert f"Cancelled count {counting.pk} at LDN-OXF." in cancelled
    assert f"Could not cancel count {done.pk} at LDN-OXF: Count {done.pk} at LDN-OXF (completed) cannot go from " \
           "completed to cancelled." in cancelled
    assert dict(StockCount.objects.values_list("pk", "status")) == {
        counting.pk: StockCount.Status.CANCELLED, done.pk: StockCount.Status.COMPLETED}

    completed = page(run_action(admin_client, "stockcount", "complete_counts", counting))

    assert f"Could not complete count {counting.pk} at LDN-OXF: Count {counting.pk} at LDN-OXF (cancelled) cannot " \
           "go from cancelled to completed." in completed
    assert StockCount.objects.get(pk=counting.pk).status == StockCount.Status.CANCELLED
    assert (stock(store), ledger()) == before
