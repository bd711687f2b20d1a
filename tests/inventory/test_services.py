"""Every rule of inventory.services, including each refusal, checked the way staff would see it:
bucket figures, ledger rows, and that a refused change leaves stock exactly as it was."""
from datetime import timedelta

import pytest
from django.utils import timezone

from core.exceptions import InvalidTransition
from inventory import services
from inventory.exceptions import InsufficientStock, InvalidQuantity, ReservationExpired, StockConflict
from inventory.models import Reservation, StockCount, StockLevel, StockMovement, Transfer
from inventory.selectors import ledger_drift
from inventory.services import StockLine
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

Reason = StockMovement.Reason


def level(location, variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def buckets(location, variant) -> dict:
    found = StockLevel.objects.filter(location=location, variant=variant).values(
        "on_hand", "committed", "reserved", "unavailable", "incoming", "safety_stock"
    )
    return found[0] if found else {}


def stocked(location, variant, quantity, safety_stock=0):
    services.stock_receive(location=location, variant=variant, quantity=quantity)
    if safety_stock:
        services.stock_set_safety_stock(location=location, variant=variant, quantity=safety_stock)


# Receipts and adjustments ---------------------------------------------------------------------


def test_stock_receive_adds_on_hand_and_writes_one_receipt_movement(store, variant):
    clerk = UserFactory()
    result = services.stock_receive(location=store, variant=variant, quantity=12, reference="PO-881", actor=clerk)

    assert (result.on_hand, result.available) == (12, 12)
    movement = StockMovement.objects.get()
    assert (movement.reason, movement.on_hand_delta, movement.reference, movement.actor) == (
        Reason.RECEIPT, 12, "PO-881", clerk
    )


@pytest.mark.parametrize("quantity", [0, -3, 2.5, "4", True])
def test_stock_receive_refuses_anything_but_a_positive_whole_number(store, variant, quantity):
    with pytest.raises(InvalidQuantity) as refused:
        services.stock_receive(location=store, variant=variant, quantity=quantity)

    assert refused.value.detail == {"field": "quantity"}
    assert not StockLevel.objects.exists() and not StockMovement.objects.exists()


def test_stock_adjust_books_a_signed_correction_with_its_reason(store, variant):
    stocked(store, variant, 10)

    result = services.stock_adjust(location=store, variant=variant, delta=-2, note="found torn in the stockroom")

    assert result.on_hand == 8
    assert StockMovement.objects.filter(reason=Reason.ADJUSTMENT, on_hand_delta=-2).count() == 1


def test_stock_adjust_without_a_reason_is_refused(store, variant):
    stocked(store, variant, 10)

    with pytest.raises(InvalidQuantity, match="Say why"):
        services.stock_adjust(location=store, variant=variant, delta=-1, note="  ")

    assert level(store, variant).on_hand == 10


def test_stock_adjust_cannot_take_away_units_promised_to_shoppers(store, variant, web):
    stocked(store, variant, 10)
    services.stock_reserve(lines=[StockLine(store, variant, 8)], channel=web)

    with pytest.raises(InsufficientStock) as refused:
        services.stock_adjust(location=store, variant=variant, delta=-3, note="shrinkage")

    assert [(l.sku, l.wanted, l.available) for l in refused.value.lines] == [("TEE-NAVY-M", 3, 2)]
    assert buckets(store, variant)["on_hand"] == 10


# Reservations ---------------------------------------------------------------------------------


def test_stock_reserve_holds_units_until_the_hold_expires(store, variant, web):
    stocked(store, variant, 5)

    reservation = services.stock_reserve(
        lines=[StockLine(store, variant, 2)], channel=web, hold_for=timedelta(minutes=10), reference="cart:abc"
    )

    assert reservation.status == Reservation.Status.ACTIVE
    assert timedelta(minutes=9) < reservation.expires_at - timezone.now() <= timedelta(minutes=10)
    assert (level(store, variant).reserved, level(store, variant).available) == (2, 3)
    assert StockMovement.objects.get(reason=Reason.RESERVATION).reference == f"reservation:{reservation.pk}"


def test_stock_reserve_refuses_when_only_safety_stock_left(store, variant, web):
    stocked(store, variant, 3, safety_stock=2)
    services.stock_reserve(lines=[StockLine(store, variant, 1)], channel=web)

    with pytest.raises(InsufficientStock) as refused:
        services.stock_reserve(lines=[StockLine(store, variant, 1)], channel=web)

    assert refused.value.lines[0].available == 0
    assert level(store, variant).reserved == 1


def test_the_till_may_sell_safety_stock_that_online_channels_cannot(store, variant, till):
    stocked(store, variant, 2, safety_stock=2)

    services.stock_reserve(lines=[StockLine(store, variant, 1)], channel=till)
    services.stock_sell(lines=[StockLine(store, variant, 1)], reference="till:LDN-OXF:1")

    assert buckets(store, variant) == {
        "on_hand": 1, "committed": 0, "reserved": 1, "unavailable": 0, "incoming": 0, "safety_stock": 2
    }


def test_insufficient_stock_lists_every_short_line_and_changes_nothing(store, other_store, variant, other_variant, web):
    stocked(store, variant, 1)
    stocked(store, other_variant, 10)
    stocked(other_store, variant, 2)
    before = list(StockLevel.objects.order_by("pk").values())

    with pytest.raises(InsufficientStock) as refused:
        services.stock_reserve(
            lines=[
                StockLine(store, variant, 3),
                StockLine(store, other_variant, 4),
                StockLine(other_store, variant, 5),
            ],
            channel=web,
        )

    assert sorted((l.sku, l.location, l.wanted, l.available) for l in refused.value.lines) == [
        ("TEE-NAVY-M", "LDN-OXF", 3, 1),
        ("TEE-NAVY-M", "MAN-ARN", 5, 2),
    ]
    assert "TEE-NAVY-M at LDN-OXF: wanted 3, available 1" in refused.value.message
    assert list(StockLevel.objects.order_by("pk").values()) == before
    assert not Reservation.objects.exists()
    assert not StockMovement.objects.exclude(reason=Reason.RECEIPT).exists()


def test_stock_reserve_for_a_variant_never_stocked_there_reports_zero_available(store, variant, web):
    with pytest.raises(InsufficientStock) as refused:
        services.stock_reserve(lines=[StockLine(store, variant, 1)], channel=web)

    assert refused.value.lines[0].available == 0
    assert not StockLevel.objects.exists()


def test_the_same_variant_twice_in_one_reservation_is_one_line(store, variant, web):
    stocked(store, variant, 5)

    reservation = services.stock_reserve(
        lines=[StockLine(store, variant, 2), StockLine(store, variant, 1)], channel=web
    )

    assert [(l.variant_id, l.quantity) for l in reservation.lines.all()] == [(variant.pk, 3)]
    assert level(store, variant).reserved == 3


def test_reservation_commit_turns_the_hold_into_committed_stock(store, variant, web):
    stocked(store, variant, 5)
    reservation = services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web)

    services.reservation_commit(reservation=reservation, reference="order:R1001")
    services.reservation_commit(reservation=reservation, reference="order:R1001")

    result = level(store, variant)
    assert (result.reserved, result.committed, result.available) == (0, 2, 3)
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.COMMITTED
    assert StockMovement.objects.filter(reason=Reason.COMMIT).count() == 1


def test_reservation_commit_refuses_a_lapsed_hold(store, variant, web):
    stocked(store, variant, 5)
    reservation = services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web, hold_for=timedelta(seconds=-1))

    with pytest.raises(ReservationExpired):
        services.reservation_commit(reservation=reservation)

    assert level(store, variant).committed == 0


def test_reservation_release_gives_units_back_once(store, variant, web):
    stocked(store, variant, 5)
    reservation = services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web)

    services.reservation_release(reservation=reservation)
    services.reservation_release(reservation=reservation)

    assert level(store, variant).available == 5
    assert StockMovement.objects.filter(reason=Reason.RESERVATION_RELEASE).count() == 1


def test_a_released_hold_cannot_be_committed(store, variant, web):
    stocked(store, variant, 5)
    reservation = services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web)
    services.reservation_release(reservation=reservation)

    with pytest.raises(InvalidTransition):
        services.reservation_commit(reservation=reservation)

    assert level(store, variant).committed == 0


def test_reservations_release_expired_releases_only_lapsed_holds(store, variant, web):
    stocked(store, variant, 10)
    lapsed = services.stock_reserve(lines=[StockLine(store, variant, 3)], channel=web, hold_for=timedelta(minutes=1))
    current = services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web, hold_for=timedelta(minutes=30))

    released = services.reservations_release_expired(now=timezone.now() + timedelta(minutes=5))
    again = services.reservations_release_expired(now=timezone.now() + timedelta(minutes=5))

    assert (released, again) == (1, 0)
    lapsed.refresh_from_db()
    current.refresh_from_db()
    assert (lapsed.status, current.status) == (Reservation.Status.EXPIRED, Reservation.Status.ACTIVE)
    assert level(store, variant).reserved == 2


def test_an_empty_reservation_is_refused(web):
    with pytest.raises(InvalidQuantity):
        services.stock_reserve(lines=[], channel=web)


# Order lines leaving or coming back -----------------------------------------------------------


def test_stock_commit_promises_available_units_to_an_order(store, variant, web):
    stocked(store, variant, 4, safety_stock=1)

    services.stock_commit(lines=[StockLine(store, variant, 3)], channel=web, reference="order:R1")

    with pytest.raises(InsufficientStock):
        services.stock_commit(lines=[StockLine(store, variant, 1)], channel=web)
    assert level(store, variant).committed == 3


def test_stock_ship_takes_committed_units_out_of_the_store(store, variant, web):
    stocked(store, variant, 5)
    services.reservation_commit(
        reservation=services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web)
    )

    services.stock_ship(lines=[StockLine(store, variant, 2)], reference="fulfillment:9")

    result = level(store, variant)
    assert (result.on_hand, result.committed, result.available) == (3, 0, 3)
    assert StockMovement.objects.get(reason=Reason.SHIPMENT).on_hand_delta == -2


def test_stock_ship_refuses_more_than_was_committed(store, variant):
    stocked(store, variant, 5)

    with pytest.raises(StockConflict, match="committed is 0, cannot take 1"):
        services.stock_ship(lines=[StockLine(store, variant, 1)])

    assert level(store, variant).on_hand == 5


def test_stock_collect_hands_committed_units_over_at_the_counter(store, variant, till):
    stocked(store, variant, 5)
    services.stock_commit(lines=[StockLine(store, variant, 1)], channel=till)

    services.stock_collect(lines=[StockLine(store, variant, 1)], reference="fulfillment:3")

    assert (level(store, variant).on_hand, level(store, variant).committed) == (4, 0)
    assert StockMovement.objects.filter(reason=Reason.PICKUP).count() == 1


def test_stock_release_committed_makes_cancelled_units_available(store, variant, web):
    stocked(store, variant, 5)
    services.stock_commit(lines=[StockLine(store, variant, 2)], channel=web)

    services.stock_release_committed(lines=[StockLine(store, variant, 2)], reference="order:R9")

    assert level(store, variant).available == 5


def test_stock_sell_refuses_more_than_the_store_has(store, variant):
    stocked(store, variant, 2)

    with pytest.raises(InsufficientStock):
        services.stock_sell(lines=[StockLine(store, variant, 3)])

    assert level(store, variant).on_hand == 2


def test_a_resellable_return_is_restocked_where_it_is_received(store, other_store, variant):
    stocked(store, variant, 1)

    services.stock_restock_return(location=other_store, variant=variant, quantity=1, resellable=True, reference="return:5")

    assert level(other_store, variant).available == 1
    assert StockMovement.objects.get(location=other_store).reason == Reason.RETURN_RESTOCK


def test_a_damaged_return_is_on_hand_but_unavailable(store, variant):
    services.stock_restock_return(location=store, variant=variant, quantity=2, resellable=False)

    result = level(store, variant)
    assert (result.on_hand, result.unavailable, result.available) == (2, 2, 0)


def test_unavailable_units_can_be_released_or_written_off(store, variant):
    stocked(store, variant, 6)

    services.stock_mark_unavailable(location=store, variant=variant, quantity=3, note="water damage")
    services.stock_release_unavailable(location=store, variant=variant, quantity=1, note="dried fine")
    services.stock_write_off(location=store, variant=variant, quantity=2, note="binned")

    result = level(store, variant)
    assert (result.on_hand, result.unavailable, result.available) == (4, 0, 4)


def test_marking_more_unavailable_than_available_is_refused(store, variant):
    stocked(store, variant, 2)

    with pytest.raises(InsufficientStock):
        services.stock_mark_unavailable(location=store, variant=variant, quantity=3)

    assert level(store, variant).unavailable == 0


def test_set_safety_stock_refuses_negative_numbers(store, variant):
    with pytest.raises(InvalidQuantity):
        services.stock_set_safety_stock(location=store, variant=variant, quantity=-1)


# Idempotency ----------------------------------------------------------------------------------


def test_a_retried_receipt_with_the_same_key_changes_stock_once(store, variant):
    first = services.stock_receive(location=store, variant=variant, quantity=5, idempotency_key="delivery-77")
    again = services.stock_receive(location=store, variant=variant, quantity=5, idempotency_key="delivery-77")

    assert first.on_hand == again.on_hand == 5
    assert StockMovement.objects.count() == 1


def test_a_retried_reservation_with_the_same_key_returns_the_same_hold(store, variant, web):
    stocked(store, variant, 5)

    first = services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web, idempotency_key="checkout-1")
    again = services.stock_reserve(lines=[StockLine(store, variant, 2)], channel=web, idempotency_key="checkout-1")

    assert first.pk == again.pk
    assert level(store, variant).reserved == 2


# Transfers ------------------------------------------------------------------------------------


def test_a_transfer_moves_stock_through_incoming_to_the_destination(store, other_store, variant):
    stocked(store, variant, 10)
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 4)])
    assert level(store, variant).on_hand == 10

    services.transfer_ship(transfer=transfer)
    assert (level(store, variant).on_hand, level(other_store, variant).incoming) == (6, 4)

    services.transfer_receive(transfer=transfer)
    assert (level(other_store, variant).incoming, level(other_store, variant).on_hand) == (0, 4)
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.RECEIVED and transfer.received_at is not None


def test_a_short_delivery_books_only_what_arrived(store, other_store, variant):
    stocked(store, variant, 10)
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 4)])
    services.transfer_ship(transfer=transfer)

    services.transfer_receive(transfer=transfer, received={variant.pk: 3})

    assert (level(other_store, variant).incoming, level(other_store, variant).on_hand) == (0, 3)
    assert transfer.lines.get().received_quantity == 3


def test_shipping_a_transfer_twice_moves_stock_once(store, other_store, variant):
    stocked(store, variant, 10)
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 4)])

    services.transfer_ship(transfer=transfer)
    services.transfer_ship(transfer=transfer)

    assert level(store, variant).on_hand == 6


def test_a_transfer_the_source_cannot_cover_is_refused_and_stays_a_draft(store, other_store, variant):
    stocked(store, variant, 2)
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 4)])

    with pytest.raises(InsufficientStock):
        services.transfer_ship(transfer=transfer)

    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DRAFT
    assert level(store, variant).on_hand == 2
    assert not StockLevel.objects.filter(location=other_store).exists()


def test_a_draft_transfer_cannot_be_received(store, other_store, variant):
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 1)])

    with pytest.raises(InvalidTransition):
        services.transfer_receive(transfer=transfer)


def test_a_shipped_transfer_cannot_be_cancelled(store, other_store, variant):
    stocked(store, variant, 2)
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 1)])
    services.transfer_ship(transfer=transfer)

    with pytest.raises(InvalidTransition):
        services.transfer_cancel(transfer=transfer)


def test_a_transfer_to_the_same_location_is_refused(store, variant):
    with pytest.raises(InvalidQuantity):
        services.transfer_create(source=store, destination=store, lines=[(variant, 1)])


# Counts ---------------------------------------------------------------------------------------


def test_a_count_books_the_difference_as_a_count_movement(store, variant, other_variant):
    stocked(store, variant, 10)
    stocked(store, other_variant, 3)
    count = services.stock_count_start(location=store)
    services.stock_count_record(count=count, variant=variant, counted_quantity=8)
    services.stock_count_record(count=count, variant=other_variant, counted_quantity=5)

    services.stock_count_complete(count=count)
    services.stock_count_complete(count=count)

    assert (level(store, variant).on_hand, level(store, other_variant).on_hand) == (8, 5)
    assert sorted(StockMovement.objects.filter(reason=Reason.COUNT).values_list("on_hand_delta", flat=True)) == [-2, 2]
    assert sorted(line.difference for line in count.lines.all()) == [-2, 2]


def test_a_count_below_promised_units_is_refused_and_the_count_stays_open(store, variant, web):
    stocked(store, variant, 10)
    services.stock_reserve(lines=[StockLine(store, variant, 6)], channel=web)
    count = services.stock_count_start(location=store)
    services.stock_count_record(count=count, variant=variant, counted_quantity=4)

    with pytest.raises(InsufficientStock):
        services.stock_count_complete(count=count)

    count.refresh_from_db()
    assert count.status == StockCount.Status.OPEN
    assert level(store, variant).on_hand == 10


def test_a_completed_count_takes_no_more_lines(store, variant):
    count = services.stock_count_start(location=store)
    services.stock_count_complete(count=count)

    with pytest.raises(InvalidTransition):
        services.stock_count_record(count=count, variant=variant, counted_quantity=1)


# The ledger -----------------------------------------------------------------------------------


def test_after_a_day_of_trading_the_ledger_sums_to_every_stock_level(store, other_store, variant, other_variant, web, till):
    stocked(store, variant, 20, safety_stock=2)
    stocked(store, other_variant, 5)
    held = services.stock_reserve(lines=[StockLine(store, variant, 3), StockLine(store, other_variant, 1)], channel=web)
    services.reservation_commit(reservation=held)
    services.stock_ship(lines=[StockLine(store, variant, 3)])
    services.stock_sell(lines=[StockLine(store, variant, 2)])
    services.stock_restock_return(location=other_store, variant=variant, quantity=1, resellable=False)
    transfer = services.transfer_create(source=store, destination=other_store, lines=[(variant, 5)])
    services.transfer_ship(transfer=transfer)
    services.transfer_receive(transfer=transfer, received={variant.pk: 4})

    assert ledger_drift(location=store) == [] and ledger_drift(location=other_store) == []
