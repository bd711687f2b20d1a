"""The only door to stock. Every change of a bucket goes through _apply, which updates the
StockLevel rows and writes one StockMovement per (location, variant) in the same transaction.

Locking policy
--------------
* Each row is changed by ONE conditional UPDATE whose WHERE clause carries the rule
  (no bucket below zero; availability not below the floor), so the check and the change
  are one atomic step and no SELECT … FOR UPDATE round trip is needed. bench/stock_reserve.py
  measures this against lock-then-update (never slower; faster on spread stock).
* A row's ledger row is inserted before the row is updated (on PostgreSQL by the same statement, a
  data-modifying WITH; elsewhere all ledger rows first), so row locks are held only from the first
  UPDATE to COMMIT.
* Rows are always touched in (variant_id, location_id) order, so two multi-line changes that
  share rows queue behind each other instead of deadlocking. Variant first: on PostgreSQL each change
  of what a shipping location can sell online also updates a SellableOnline row of its variant when
  the transaction commits (a deferred trigger, in the order the rows changed; tests/inventory/
  test_sellable_online.py), and those rows must be taken in one order too.
* Where a delta depends on the row itself (a count books counted − on hand; a till sale of units the
  customer holds books the shortfall as found), the rows are first locked with SELECT … FOR UPDATE in
  the same (variant_id, location_id) order and read under that lock.
* Documents (Reservation, Transfer, StockCount) are locked before stock rows, never after.
* A failed rule raises a DomainError; the surrounding atomic block undoes every row already
  changed, so nothing is half-applied.
* An idempotency key makes a retried call a no-op: the key is stored on the movements under a
  unique constraint, so even two concurrent retries apply once (the loser's transaction fails
  on the constraint, is rolled back, and the first call's result is returned).
"""
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Channel, Variant
from core.exceptions import InvalidTransition
from core.inserts import insert, insert_sql, prepared_cursor, saved_as

from .exceptions import InsufficientStock, InvalidQuantity, ReservationExpired, ShortLine, StockConflict
from .models import (
    BUCKETS,
    Location,
    Reservation,
    ReservationLine,
    StockCount,
    StockCountLine,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    sellable_online_pending,
)
from .signals import transfer_received, transfer_shipping

Reason = StockMovement.Reason


@dataclass(frozen=True)
class StockLine:
    """A quantity of one variant at one location, as the services take it."""

    location: Location
    variant: Variant
    quantity: int


@dataclass
class _Change:
    location_id: int
    variant_id: int
    reason: str
    deltas: dict[str, int] = field(default_factory=dict)

    @property
    def pair(self) -> tuple[int, int]:
        return (self.location_id, self.variant_id)

    @property
    def wanted(self) -> int:
        """Units of availability this change takes away (negative when it adds)."""
        d = self.deltas
        return d.get("committed", 0) + d.get("reserved", 0) + d.get("unavailable", 0) - d.get("on_hand", 0)


def _is_count(value, minimum: int = 0) -> bool:
    """A whole number (not a bool, not a float) of at least `minimum`."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _positive(quantity: int, what: str = "quantity") -> int:
    if not _is_count(quantity, 1):
        raise InvalidQuantity(f"The {what} must be a whole number above zero, not {quantity!r}.", field=what)
    return quantity


def _lock_order(pair: tuple[int, int]) -> tuple[int, int]:
    """The key that sorts (location_id, variant_id) pairs into the order rows are locked in: variant first."""
    location_id, variant_id = pair
    return variant_id, location_id


def _merged(changes: Iterable[_Change]) -> list[_Change]:
    by_pair: dict[tuple[int, int], _Change] = {}
    for change in changes:
        existing = by_pair.get(change.pair)
        if existing is None:
            by_pair[change.pair] = _Change(change.location_id, change.variant_id, change.reason, dict(change.deltas))
        else:
            for bucket, delta in change.deltas.items():
                existing.deltas[bucket] = existing.deltas.get(bucket, 0) + delta
    for change in by_pair.values():
        change.deltas = {b: d for b, d in change.deltas.items() if d}
    return [by_pair[pair] for pair in sorted(by_pair, key=_lock_order)]


def _update_row(change: _Change, keep_safety_stock: bool, ledger: StockMovement | None = None) -> bool:
    """One guarded UPDATE: applied only if no bucket goes below zero and availability stays above the
    floor. Written as SQL from the fixed bucket names: building it with ORM expressions cost more CPU
    than the database spends on it (bench/stock_reserve.py). With `ledger` (PostgreSQL), its movement row is
    inserted by the same statement, first (a data-modifying WITH), and gets its id; a refused row leaves
    that movement to the caller's rollback, as a refusal always raises."""
    sets, where = [], ["location_id = %s", "variant_id = %s"]
    set_params, where_params = [], [change.location_id, change.variant_id]
    for bucket, delta in change.deltas.items():
        if bucket not in BUCKETS:  # names go into the SQL text; only the five bucket columns may
            raise ValueError(f"not a stock bucket: {bucket!r}")
        sets.append(f"{bucket} = {bucket} + %s")
        set_params.append(delta)
        if delta < 0:
            where.append(f"{bucket} >= %s")
            where_params.append(-delta)
    if change.wanted > 0:
        where.append("on_hand >= committed + reserved + unavailable + %s" + (" + safety_stock" if keep_safety_stock else ""))
        where_params.append(change.wanted)
    sql = f"UPDATE {StockLevel._meta.db_table} SET {', '.join(sets)} WHERE {' AND '.join(where)}"
    params = set_params + where_params
    if ledger is not None:
        ledger_sql, ledger_params = insert_sql([ledger])
        sql, params = f"WITH ledger AS ({ledger_sql}) {sql} RETURNING (SELECT id FROM ledger)", [*ledger_params, *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if ledger is not None and cursor.rowcount == 1:
            saved_as(ledger, cursor.fetchone()[0])
        return cursor.rowcount == 1


def _refuse(changes: Sequence[_Change], keep_safety_stock: bool) -> None:
    """Explain why the first change could not be applied, listing every line that is short."""
    levels = {
        (level.location_id, level.variant_id): level
        for level in StockLevel.objects.filter(
            Q(*[Q(location_id=c.location_id, variant_id=c.variant_id) for c in changes], _connector=Q.OR)
        )
    }
    skus = dict(Variant.objects.filter(pk__in={c.variant_id for c in changes}).values_list("pk", "sku"))
    codes = dict(Location.objects.filter(pk__in={c.location_id for c in changes}).values_list("pk", "code"))
    short, conflicts = [], []
    for change in changes:
        level = levels.get(change.pair) or StockLevel(location_id=change.location_id, variant_id=change.variant_id)
        sku, code = skus[change.variant_id], codes[change.location_id]
        available = level.available_online if keep_safety_stock else level.available
        if change.wanted > 0 and available < change.wanted:
            short.append(ShortLine(sku=sku, location=code, wanted=change.wanted, available=max(available, 0)))
            continue
        for bucket, delta in change.deltas.items():
            if getattr(level, bucket) + delta < 0:
                conflicts.append(f"{sku} at {code}: {bucket.replace('_', ' ')} is {getattr(level, bucket)}, cannot take {-delta}")
    if short:
        raise InsufficientStock(short)
    raise StockConflict("Stock cannot change that way: " + "; ".join(conflicts) + ".", problems=conflicts)


def _write(merged: list[_Change], *, reference: str, actor, note: str, idempotency_key: str | None,
           keep_safety_stock: bool) -> list[StockMovement]:
    """Write the ledger, then change the rows in lock order. The caller owns the transaction, so a
    refused row rolls the ledger back too; writing it first keeps the row locks short."""
    created_rows = [c for c in merged if c.deltas.get("on_hand", 0) > 0 or c.deltas.get("incoming", 0) > 0]
    if created_rows:
        StockLevel.objects.bulk_create(
            [StockLevel(location_id=c.location_id, variant_id=c.variant_id) for c in created_rows],
            ignore_conflicts=True,
        )
    now, changed = timezone.now(), [c for c in merged if c.deltas]
    movements = [
        StockMovement(
            location_id=c.location_id, variant_id=c.variant_id, reason=c.reason, reference=reference,
            note=note, actor=actor, created_at=now, idempotency_key=idempotency_key,
            **{f"{b}_delta": d for b, d in c.deltas.items()},
        )
        for c in changed
    ]
    one_statement = connection.vendor == "postgresql"  # each movement written by its row's UPDATE
    if not one_statement:
        insert(movements)
    sellable_online_pending()
    for index, (change, movement) in enumerate(zip(changed, movements, strict=True)):
        if not _update_row(change, keep_safety_stock, ledger=movement if one_statement else None):
            _refuse(changed[index:], keep_safety_stock)
    return movements


def _found_at_till(merged: list[_Change]) -> list[_Change]:
    """For each sale change taking more than its row shows available (safety stock included), a change that
    adds exactly the shortfall to on hand: units the customer is holding that the ledger missed. The rows are
    locked in (variant, location) order before they are read, so two tills selling the last unit at once
    queue, and the second sees the first's sale and books one unit found."""
    StockLevel.objects.bulk_create(
        [StockLevel(location_id=c.location_id, variant_id=c.variant_id) for c in merged], ignore_conflicts=True
    )
    rows = (
        StockLevel.objects.select_for_update(of=("self",))
        .filter(Q(*[Q(location_id=c.location_id, variant_id=c.variant_id) for c in merged], _connector=Q.OR))
        .order_by("variant_id", "location_id")
        .values_list("location_id", "variant_id", "on_hand", "committed", "reserved", "unavailable")
    )
    available = {(l, v): on_hand - committed - reserved - unavailable
                 for l, v, on_hand, committed, reserved, unavailable in rows}
    return [
        _Change(c.location_id, c.variant_id, Reason.FOUND_AT_TILL, {"on_hand": c.wanted - available[c.pair]})
        for c in merged
        if c.wanted > available[c.pair]
    ]


def _apply(
    changes: Iterable[_Change],
    *,
    reference: str = "",
    actor=None,
    note: str = "",
    idempotency_key: str | None = None,
    keep_safety_stock: bool = False,
    book_found: bool = False,
    savepoint: bool = True,
) -> list[StockMovement]:
    """Apply all changes or none; return the ledger rows written (or, on a replay, those written before).
    With book_found, a shortfall is first booked as found at the till (_found_at_till), in the same
    transaction; unlike the rest of _apply, those rows are locked before the ledger is written, because
    each shortfall is read under that lock. With savepoint=False (no key), a caller inside a transaction that
    is all or nothing saves the savepoint's two statements: a refusal then leaves its transaction to be rolled
    back whole (Django runs nothing more in it)."""
    merged = _merged(changes)
    if idempotency_key:
        earlier = list(StockMovement.objects.filter(idempotency_key=idempotency_key))
        if earlier:
            return earlier
    try:
        with transaction.atomic(savepoint=savepoint or bool(idempotency_key)):
            found = []
            if book_found:
                # The corrections carry no key: a replay is recognised by the sale's movements.
                found = _write(_found_at_till(merged), reference=reference, actor=actor, note=note,
                               idempotency_key=None, keep_safety_stock=False)
            return found + _write(merged, reference=reference, actor=actor, note=note,
                                  idempotency_key=idempotency_key, keep_safety_stock=keep_safety_stock)
    except IntegrityError:
        if idempotency_key:
            earlier = list(StockMovement.objects.filter(idempotency_key=idempotency_key))
            if earlier:
                return earlier
        raise


def _level(location: Location, variant: Variant) -> StockLevel:
    return StockLevel.objects.filter(location=location, variant=variant).first() or StockLevel(
        location=location, variant=variant
    )


def _changes(lines: Sequence[StockLine], reason: str, **per_unit: int) -> list[_Change]:
    return [
        _Change(
            line.location.pk,
            line.variant.pk,
            reason,
            {bucket: sign * _positive(line.quantity) for bucket, sign in per_unit.items()},
        )
        for line in lines
    ]


# Single-pair changes -------------------------------------------------------------------------


def stock_receive(
    *, location: Location, variant: Variant, quantity: int, reference: str = "", actor=None, note: str = "",
    idempotency_key: str | None = None,
) -> StockLevel:
    """Goods arrived: on hand goes up."""
    _apply(
        [_Change(location.pk, variant.pk, Reason.RECEIPT, {"on_hand": _positive(quantity)})],
        reference=reference, actor=actor, note=note, idempotency_key=idempotency_key,
    )
    return _level(location, variant)


def stock_adjust(
    *, location: Location, variant: Variant, delta: int, note: str, actor=None, reference: str = "",
    idempotency_key: str | None = None,
) -> StockLevel:
    """Correct on hand by a signed amount; the note says why. Cannot take away promised units."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidQuantity(f"An adjustment must be a whole number other than zero, not {delta!r}.", field="delta")
    if not note.strip():
        raise InvalidQuantity("Say why the stock is adjusted.", field="note")
    _apply(
        [_Change(location.pk, variant.pk, Reason.ADJUSTMENT, {"on_hand": delta})],
        reference=reference, actor=actor, note=note, idempotency_key=idempotency_key,
    )
    return _level(location, variant)


def stock_mark_unavailable(
    *, location: Location, variant: Variant, quantity: int, note: str = "", actor=None, reference: str = "",
    idempotency_key: str | None = None,
) -> StockLevel:
    """Damaged or quarantined units stay on hand but can no longer be sold."""
    _apply(
        [_Change(location.pk, variant.pk, Reason.DAMAGE, {"unavailable": _positive(quantity)})],
        reference=reference, actor=actor, note=note, idempotency_key=idempotency_key,
    )
    return _level(location, variant)


def stock_release_unavailable(
    *, location: Location, variant: Variant, quantity: int, note: str = "", actor=None, reference: str = "",
    idempotency_key: str | None = None,
) -> StockLevel:
    """Units held back turn out fine: they become sellable again."""
    _apply(
        [_Change(location.pk, variant.pk, Reason.ADJUSTMENT, {"unavailable": -_positive(quantity)})],
        reference=reference, actor=actor, note=note, idempotency_key=idempotency_key,
    )
    return _level(location, variant)


def stock_write_off(
    *, location: Location, variant: Variant, quantity: int, note: str = "", actor=None, reference: str = "",
    idempotency_key: str | None = None,
) -> StockLevel:
    """Unavailable units are thrown away or sent back to the supplier: they leave the location."""
    q = _positive(quantity)
    _apply(
        [_Change(location.pk, variant.pk, Reason.DAMAGE, {"on_hand": -q, "unavailable": -q})],
        reference=reference, actor=actor, note=note, idempotency_key=idempotency_key,
    )
    return _level(location, variant)


def stock_restock_return(
    *, location: Location, variant: Variant, quantity: int, resellable: bool, reference: str = "", actor=None,
    note: str = "", idempotency_key: str | None = None,
) -> StockLevel:
    """A returned unit arrives at the receiving location: sellable, or booked unavailable when damaged."""
    q = _positive(quantity)
    deltas = {"on_hand": q} if resellable else {"on_hand": q, "unavailable": q}
    _apply(
        [_Change(location.pk, variant.pk, Reason.RETURN_RESTOCK, deltas)],
        reference=reference, actor=actor, note=note or ("" if resellable else "returned damaged"),
        idempotency_key=idempotency_key,
    )
    return _level(location, variant)


def _set_pair_setting(location: Location, variant: Variant, field: str, value: int, label: str) -> StockLevel:
    """Settings of a (location, variant) that are not units: no movement is written."""
    if not _is_count(value):
        raise InvalidQuantity(f"{label} must be a whole number, zero or more, not {value!r}.", field="quantity")
    with transaction.atomic():
        StockLevel.objects.bulk_create([StockLevel(location=location, variant=variant)], ignore_conflicts=True)
        StockLevel.objects.filter(location=location, variant=variant).update(**{field: value})
        sellable_online_pending()
    return _level(location, variant)


def stock_set_safety_stock(*, location: Location, variant: Variant, quantity: int, actor=None) -> StockLevel:
    """Keep this many units back from online channels."""
    return _set_pair_setting(location, variant, "safety_stock", quantity, "Safety stock")


def stock_set_reorder_point(*, location: Location, variant: Variant, quantity: int, actor=None) -> StockLevel:
    """Alert the store when available stock falls to this many units (0 turns alerts off)."""
    return _set_pair_setting(location, variant, "reorder_point", quantity, "A reorder point")


# Order-line changes ---------------------------------------------------------------------------


def stock_sell(
    *, lines: Sequence[StockLine], reference: str = "", actor=None, idempotency_key: str | None = None,
    book_found: bool = False,
) -> list[StockMovement]:
    """A sale at the till: units leave at once. The till may sell into safety stock.

    With book_found (the customer is holding the units), a sale is never refused for want of stock: where the
    location shows fewer available units than are sold, the shortfall is first booked as found at the till
    (on hand up by exactly that, same reference and actor), then sold. Units promised to orders or held for
    checkouts stay theirs. Returns the corrections, then the sale's movements."""
    return _apply(
        _changes(lines, Reason.SALE, on_hand=-1), reference=reference, actor=actor, idempotency_key=idempotency_key,
        book_found=book_found,
    )


def stock_commit(
    *, lines: Sequence[StockLine], channel: Channel, reference: str = "", actor=None,
    idempotency_key: str | None = None, savepoint: bool = True,
) -> list[StockMovement]:
    """Promise available units to an order without a prior hold (online channels keep safety stock).
    savepoint=False: see _apply."""
    return _apply(
        _changes(lines, Reason.COMMIT, committed=1),
        reference=reference, actor=actor, idempotency_key=idempotency_key, keep_safety_stock=channel.is_online,
        savepoint=savepoint,
    )


def stock_commit_arrived(
    *, lines: Sequence[StockLine], reference: str = "", actor=None, idempotency_key: str | None = None
) -> list[StockMovement]:
    """Units a transfer brought for an order are promised to it on arrival (safety stock does not apply: they
    were sent for it)."""
    return _apply(_changes(lines, Reason.COMMIT, committed=1), reference=reference, actor=actor,
                  idempotency_key=idempotency_key)


def stock_release_committed(
    *, lines: Sequence[StockLine], reference: str = "", actor=None, idempotency_key: str | None = None
) -> list[StockMovement]:
    """An order line is cancelled: its promised units become available again."""
    return _apply(
        _changes(lines, Reason.COMMIT_RELEASE, committed=-1),
        reference=reference, actor=actor, idempotency_key=idempotency_key,
    )


def stock_report_short(
    *, location: Location, variant: Variant, quantity: int, reason: str, on_shelf: int = 0, kept: int = 0,
    reference: str = "", actor=None, note: str = "",
) -> StockMovement:
    """Staff picking an order could not send `quantity` committed units: those are released from the order, and
    the ledger told what was found, as one movement. `reason` is Reason.NOT_FOUND (on hand is corrected to what
    is there: the `on_shelf` units staff say are left plus the `kept` units of the order they did pick, never
    below what is still promised, held or unavailable: other orders' pickers report their own) or Reason.DAMAGE
    (damaged, worn or wrong: the units stay on hand, booked unavailable)."""
    q = _positive(quantity)
    if not _is_count(on_shelf) or not _is_count(kept):
        raise InvalidQuantity(f"Units on the shelf must be zero or more, not {on_shelf!r}.", field="on_shelf")
    if reason == Reason.DAMAGE:
        return _apply([_Change(location.pk, variant.pk, reason, {"committed": -q, "unavailable": q})],
                      reference=reference, actor=actor, note=note)[0]
    if reason != Reason.NOT_FOUND:
        raise ValueError(f"not a short-pick reason: {reason!r}")
    with transaction.atomic():
        row = (StockLevel.objects.select_for_update(of=("self",)).filter(location=location, variant=variant)
               .values_list("on_hand", "committed", "reserved", "unavailable").first())
        if row is None or row[1] < q:
            raise StockConflict(f"{variant.sku} at {location.code}: only {row[1] if row else 0} committed, cannot "
                                f"release {q}.", problems=[variant.sku])
        on_hand, committed, reserved, unavailable = row
        there = max(on_shelf + kept, committed - q + reserved + unavailable)
        return _apply([_Change(location.pk, variant.pk, reason, {"committed": -q, "on_hand": there - on_hand})],
                      reference=reference, actor=actor, note=note)[0]


def stock_ship(
    *, lines: Sequence[StockLine], reference: str = "", actor=None, idempotency_key: str | None = None
) -> list[StockMovement]:
    """Committed units leave the location in a parcel."""
    return _apply(
        _changes(lines, Reason.SHIPMENT, committed=-1, on_hand=-1),
        reference=reference, actor=actor, idempotency_key=idempotency_key,
    )


def stock_collect(
    *, lines: Sequence[StockLine], reference: str = "", actor=None, idempotency_key: str | None = None
) -> list[StockMovement]:
    """Committed units are handed over at the counter."""
    return _apply(
        _changes(lines, Reason.PICKUP, committed=-1, on_hand=-1),
        reference=reference, actor=actor, idempotency_key=idempotency_key,
    )


# Reservations ---------------------------------------------------------------------------------


def _set_status(obj, new: str, **fields) -> None:
    """The one place a document's status changes; the caller holds its row lock."""
    if not obj.can_transition_to(new):
        raise InvalidTransition(obj, obj.status, new)
    obj.status = new
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=["status", *fields])


def stock_reserve(
    *, lines: Sequence[StockLine], channel: Channel, hold_for: timedelta | None = None, reference: str = "",
    actor=None, idempotency_key: str | None = None, savepoint: bool = True,
) -> Reservation:
    """Hold units for a checkout until it is committed, released, or the hold lapses.

    Online channels cannot hold a location's safety stock. Every short line is reported at once.
    savepoint=False (no key): see _apply.
    """
    if not lines:
        raise InvalidQuantity("A reservation needs at least one line.", field="lines")
    changes = _changes(lines, Reason.RESERVATION, reserved=1)
    if idempotency_key:
        earlier = Reservation.objects.filter(idempotency_key=idempotency_key).first()
        if earlier:
            return earlier
    now = timezone.now()
    reservation = Reservation(channel=channel, reference=reference, actor=actor, created_at=now,
                              expires_at=now + (hold_for or settings.STOCK_RESERVATION_HOLD),
                              idempotency_key=idempotency_key)
    merged = _merged(changes) if len(changes) > 1 else changes
    try:
        with transaction.atomic(savepoint=savepoint or bool(idempotency_key)):
            if connection.vendor == "postgresql":
                held = _hold_at_once(reservation, merged, keep_safety_stock=channel.is_online)
            else:  # the document rows first, then the stock rows: the same order, in more statements
                insert([reservation])
                held = insert([ReservationLine(reservation=reservation, location_id=c.location_id,
                                               variant_id=c.variant_id, quantity=c.deltas["reserved"])
                               for c in merged])
                _write(merged, reference=f"reservation:{reservation.pk}", actor=actor, note="",
                       idempotency_key=None, keep_safety_stock=channel.is_online)
    except IntegrityError:
        if idempotency_key:
            earlier = Reservation.objects.filter(idempotency_key=idempotency_key).first()
            if earlier:
                return earlier
        raise
    reservation.held_lines = held  # a hold's lines never change: committing it need not read them back
    return reservation


# One statement writes a hold, its lines, its first line's ledger row, and takes the first line's units with
# the guarded UPDATE (data-modifying WITHs; PostgreSQL). Explicit casts: the values sit in SELECT lists.
_HOLD_SQL = """
WITH hold AS (
    INSERT INTO inventory_reservation (status, channel_id, reference, expires_at, created_at, closed_at, actor_id,
                                       idempotency_key)
    VALUES (%s, %s, %s, %s, %s, NULL, %s, %s) RETURNING id
), line AS (
    INSERT INTO inventory_reservationline (reservation_id, location_id, variant_id, quantity)
    SELECT hold.id, v.location_id, v.variant_id, v.quantity FROM hold,
           (VALUES {values}) AS v(n, location_id, variant_id, quantity) ORDER BY v.n RETURNING id
), ledger AS (
    INSERT INTO inventory_stockmovement (location_id, variant_id, reason, on_hand_delta, committed_delta,
                                         reserved_delta, unavailable_delta, incoming_delta, reference, note,
                                         actor_id, created_at, idempotency_key)
    SELECT %s::integer, %s::integer, %s::varchar, 0, 0, %s::integer, 0, 0, 'reservation:' || hold.id, '',
           %s::integer, %s::timestamptz, NULL FROM hold RETURNING id
)
UPDATE inventory_stocklevel SET reserved = reserved + %s
 WHERE location_id = %s AND variant_id = %s AND on_hand >= committed + reserved + unavailable + %s{floor}
RETURNING (SELECT id FROM hold), (SELECT array_agg(id ORDER BY id) FROM line), (SELECT id FROM ledger)"""
_HOLD_SQL_BY_SHAPE: dict[tuple[int, bool], str] = {}  # by (lines, safety stock kept)


def _hold_at_once(reservation: Reservation, merged: list[_Change], *, keep_safety_stock: bool
                  ) -> list[ReservationLine]:
    """stock_reserve on PostgreSQL: three round trips for a one-line hold (BEGIN, this, COMMIT) where the ORM
    took five; each further line is one more guarded UPDATE with its ledger row, in (variant, location) order.
    Returns the hold's lines, made as a query would make them (positional values: the ORM's keyword path cost
    more CPU than the statement, bench/stock_reserve.py)."""
    first, r = merged[0], reservation
    sellable_online_pending()
    key = (len(merged), keep_safety_stock)
    sql = _HOLD_SQL_BY_SHAPE.get(key)
    if sql is None:
        sql = _HOLD_SQL_BY_SHAPE[key] = _HOLD_SQL.format(
            values=", ".join(["(%s::integer, %s::integer, %s::integer, %s::integer)"] * len(merged)),
            floor=" + safety_stock" if keep_safety_stock else "")
    quantity = first.deltas["reserved"]
    params = [r.status, r.channel_id, r.reference, r.expires_at, r.created_at, r.actor_id, r.idempotency_key,
              *[v for n, c in enumerate(merged) for v in (n, c.location_id, c.variant_id, c.deltas["reserved"])],
              first.location_id, first.variant_id, first.reason, quantity, r.actor_id, r.created_at,
              quantity, first.location_id, first.variant_id, quantity]
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:  # the first line is short: the rows written by this statement go with the rollback
        _refuse(merged, keep_safety_stock)
    saved_as(reservation, row[0])
    held = [ReservationLine(pk, r.pk, c.location_id, c.variant_id, c.deltas["reserved"])
            for pk, c in zip(row[1], merged, strict=True)]
    for line in held:
        saved_as(line, line.pk)
    if len(merged) > 1:
        _write(merged[1:], reference=f"reservation:{r.pk}", actor=r.actor, note="", idempotency_key=None,
               keep_safety_stock=keep_safety_stock)
    return held


def _reservation_lines(reservation: Reservation, reason: str, *, known: Reservation | None = None,
                       **deltas: int) -> list[_Change]:
    """The stock changes for a hold's lines: those `known` (the hold as stock_reserve returned it) carries,
    else read from the database."""
    lines = getattr(known, "held_lines", None) or reservation.lines.all()
    return [
        _Change(line.location_id, line.variant_id, reason, {b: sign * line.quantity for b, sign in deltas.items()})
        for line in lines
    ]


def _lock_reservation(reservation: Reservation) -> Reservation:
    return Reservation.objects.select_for_update().get(pk=reservation.pk)


@transaction.atomic
def reservation_release(*, reservation: Reservation, actor=None) -> Reservation:
    """Give held units back (checkout abandoned or failed). Releasing twice changes nothing."""
    locked = _lock_reservation(reservation)
    if locked.status in (Reservation.Status.RELEASED, Reservation.Status.EXPIRED):
        return locked
    _set_status(locked, Reservation.Status.RELEASED, closed_at=timezone.now())
    _apply(
        _reservation_lines(locked, Reason.RESERVATION_RELEASE, reserved=-1),
        reference=f"reservation:{locked.pk}", actor=actor,
    )
    return locked


def reservation_commit(*, reservation: Reservation, reference: str = "", actor=None,
                       savepoint: bool = True) -> Reservation:
    """The order is placed: held units become committed to it. Committing twice changes nothing.
    savepoint=False: see _apply."""
    with transaction.atomic(savepoint=savepoint):
        locked = _lock_reservation(reservation)
        if locked.status == Reservation.Status.COMMITTED:
            return locked
        if locked.status == Reservation.Status.EXPIRED or (
            locked.status == Reservation.Status.ACTIVE and locked.expires_at <= timezone.now()
        ):
            raise ReservationExpired(
                f"The hold on this stock lapsed at {locked.expires_at:%H:%M:%S}; reserve again.", reservation=locked.pk
            )
        _set_status(locked, Reservation.Status.COMMITTED, closed_at=timezone.now(),
                    reference=reference or locked.reference)
        _apply(  # inside this block's savepoint (if any): a refusal undoes the status too
            _reservation_lines(locked, Reason.COMMIT, known=reservation, reserved=-1, committed=1),
            reference=reference or f"reservation:{locked.pk}", actor=actor, savepoint=False,
        )
        return locked


def reservations_release_expired(*, now=None) -> int:
    """Release every lapsed hold, each in its own transaction. Safe to run twice at once."""
    moment = now or timezone.now()
    released = 0
    for pk in Reservation.objects.expired(moment).values_list("pk", flat=True).iterator():
        with transaction.atomic():
            locked = (
                Reservation.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=Reservation.Status.ACTIVE, expires_at__lte=moment)
                .first()
            )
            if locked is None:
                continue
            _set_status(locked, Reservation.Status.EXPIRED, closed_at=timezone.now())
            _apply(
                _reservation_lines(locked, Reason.RESERVATION_RELEASE, reserved=-1),
                reference=f"reservation:{locked.pk}", note="hold expired",
            )
            released += 1
    return released


# Transfers ------------------------------------------------------------------------------------


@transaction.atomic
def transfer_create(
    *, source: Location, destination: Location, lines: Sequence[tuple[Variant, int]], note: str = "", actor=None
) -> Transfer:
    """A draft transfer; nothing moves until it is shipped."""
    if source.pk == destination.pk:
        raise InvalidQuantity("A transfer needs two different locations.", field="destination")
    if not lines:
        raise InvalidQuantity("A transfer needs at least one line.", field="lines")
    quantities: dict[int, int] = {}
    for variant, quantity in lines:
        quantities[variant.pk] = quantities.get(variant.pk, 0) + _positive(quantity)
    transfer = Transfer.objects.create(source=source, destination=destination, note=note)
    TransferLine.objects.bulk_create(
        [TransferLine(transfer=transfer, variant_id=pk, quantity=q) for pk, q in quantities.items()]
    )
    return transfer


def _lock_transfer(transfer: Transfer) -> Transfer:
    """Lock the transfer's row only: with its joined locations locked too, every stock movement at either
    location (whose ledger row references it) waited for the transfer, and an order cancelled as its
    ship-to-store transfer left deadlocked with it."""
    return Transfer.objects.select_for_update(of=("self",)).select_related("source", "destination").get(pk=transfer.pk)


@transaction.atomic
def transfer_ship(*, transfer: Transfer, actor=None) -> Transfer:
    """Units leave the source and show as incoming at the destination."""
    locked = _lock_transfer(transfer)
    if locked.status == Transfer.Status.SHIPPED:
        return locked
    lines = list(locked.lines.all())
    if not lines:
        raise InvalidQuantity("A transfer with no lines cannot be shipped.", field="lines")
    transfer_shipping.send(sender=Transfer, transfer=locked)
    _set_status(locked, Transfer.Status.SHIPPED, shipped_at=timezone.now(), shipped_by=actor)
    changes = [_Change(locked.source_id, l.variant_id, Reason.TRANSFER_OUT, {"on_hand": -l.quantity}) for l in lines]
    changes += [_Change(locked.destination_id, l.variant_id, Reason.TRANSFER_OUT, {"incoming": l.quantity}) for l in lines]
    _apply(changes, reference=f"transfer:{locked.pk}", actor=actor, idempotency_key=f"transfer:{locked.pk}:ship")
    return locked


@transaction.atomic
def transfer_receive(*, transfer: Transfer, received: dict[int, int] | None = None, actor=None) -> Transfer:
    """Units arrive: incoming clears and on hand rises by what was actually received (by variant id)."""
    locked = _lock_transfer(transfer)
    if locked.status == Transfer.Status.RECEIVED:
        return locked
    _set_status(locked, Transfer.Status.RECEIVED, received_at=timezone.now(), received_by=actor)
    received = received or {}
    lines = list(locked.lines.all())
    unknown = set(received) - {l.variant_id for l in lines}
    if unknown:
        raise InvalidQuantity("Received quantities name variants that are not on the transfer.", field="received")
    changes = []
    for line in lines:
        got = received.get(line.variant_id, line.quantity)
        if not _is_count(got):
            raise InvalidQuantity(f"A received quantity must be zero or more, not {got!r}.", field="received")
        line.received_quantity = got
        changes.append(_Change(locked.destination_id, line.variant_id, Reason.TRANSFER_IN,
                               {"incoming": -line.quantity, "on_hand": got}))
    TransferLine.objects.bulk_update(lines, ["received_quantity"])
    _apply(changes, reference=f"transfer:{locked.pk}", actor=actor, idempotency_key=f"transfer:{locked.pk}:receive")
    transfer_received.send(sender=Transfer, transfer=locked)
    return locked


@transaction.atomic
def transfer_cancel(*, transfer: Transfer, actor=None) -> Transfer:
    """Drop a draft transfer; a shipped one has to be received instead."""
    locked = _lock_transfer(transfer)
    if locked.status != Transfer.Status.CANCELLED:
        _set_status(locked, Transfer.Status.CANCELLED)
    return locked


# Counts ---------------------------------------------------------------------------------------


def stock_count_start(*, location: Location, note: str = "") -> StockCount:
    """Open a count; lines are recorded as staff count and booked together on completion."""
    return StockCount.objects.create(location=location, note=note)


@transaction.atomic
def stock_count_record(*, count: StockCount, variant: Variant, counted_quantity: int) -> StockCountLine:
    """Record (or correct) what was counted of one variant while the count is open."""
    locked = StockCount.objects.select_for_update().get(pk=count.pk)
    if locked.status != StockCount.Status.OPEN:
        raise InvalidTransition(locked, locked.status, "counting")
    if not _is_count(counted_quantity):
        raise InvalidQuantity(f"A counted quantity must be zero or more, not {counted_quantity!r}.", field="counted_quantity")
    line, _ = StockCountLine.objects.update_or_create(
        count=locked, variant=variant, defaults={"counted_quantity": counted_quantity}
    )
    return line


@transaction.atomic
def stock_count_complete(*, count: StockCount, actor=None) -> StockCount:
    """Book counted − on hand for every counted variant as one count movement each.

    On hand is read under the row lock, so a sale that lands while the count is booked
    is never lost. A count that would leave fewer units than are promised is refused.
    """
    locked = StockCount.objects.select_for_update().get(pk=count.pk)
    if locked.status == StockCount.Status.COMPLETED:
        return locked
    _set_status(locked, StockCount.Status.COMPLETED, completed_at=timezone.now(), completed_by=actor)
    lines = sorted(locked.lines.all(), key=lambda l: l.variant_id)
    on_hand = dict(
        StockLevel.objects.select_for_update(of=("self",))
        .filter(location_id=locked.location_id, variant_id__in=[l.variant_id for l in lines])
        .order_by("variant_id")
        .values_list("variant_id", "on_hand")
    )
    changes = []
    for line in lines:
        line.expected_quantity = on_hand.get(line.variant_id, 0)
        changes.append(_Change(locked.location_id, line.variant_id, Reason.COUNT,
                               {"on_hand": line.counted_quantity - line.expected_quantity}))
    StockCountLine.objects.bulk_update(lines, ["expected_quantity"])
    _apply(changes, reference=f"count:{locked.pk}", actor=actor, idempotency_key=f"count:{locked.pk}")
    return locked


@transaction.atomic
def stock_count_cancel(*, count: StockCount) -> StockCount:
    locked = StockCount.objects.select_for_update().get(pk=count.pk)
    if locked.status != StockCount.Status.CANCELLED:
        _set_status(locked, StockCount.Status.CANCELLED)
    return locked


def stock_receive_many(
    *, lines: Sequence[StockLine], reference: str = "", actor=None, note: str = "", idempotency_key: str | None = None
) -> list[StockMovement]:
    """One delivery of many variants (a supplier delivery, an import, demo data)."""
    return _apply(
        _changes(lines, Reason.RECEIPT, on_hand=1),
        reference=reference, actor=actor, note=note, idempotency_key=idempotency_key,
    )


# Bulk counts ----------------------------------------------------------------------------------

_BULK_CHUNK = 5000


def _on_hand_by_pair(pairs: Iterable[tuple[int, int]], *, lock: bool) -> dict[tuple[int, int], tuple[int, int]]:
    """(on hand, units promised or unavailable) of many pairs. Reading: one query per location and chunk of
    variants. Locking: one query per chunk of pairs in (variant_id, location_id) order, the order every stock
    change uses; it locks each chunk's variants at each of its locations (a few rows more than asked)."""
    found: dict[tuple[int, int], tuple[int, int]] = {}
    wanted = set(pairs)
    if lock:
        ordered = sorted(wanted, key=_lock_order)
        batches = [
            StockLevel.objects.select_for_update(of=("self",))
            .filter(variant_id__in={v for _, v in chunk}, location_id__in={l for l, _ in chunk})
            .order_by("variant_id", "location_id")
            for chunk in (ordered[start:start + _BULK_CHUNK] for start in range(0, len(ordered), _BULK_CHUNK))
        ]
    else:
        by_location: dict[int, list[int]] = {}
        for location_id, variant_id in sorted(wanted):
            by_location.setdefault(location_id, []).append(variant_id)
        batches = []
        for location_id, variant_ids in by_location.items():
            if len(variant_ids) > _BULK_CHUNK:
                # Reading the location's every row is cheaper than long IN lists (bench/import.py).
                batches.append(StockLevel.objects.filter(location_id=location_id))
            else:
                batches.append(StockLevel.objects.filter(location_id=location_id, variant_id__in=variant_ids))
    for rows in batches:
        for location_id, variant_id, on_hand, committed, reserved, unavailable in rows.values_list(
            "location_id", "variant_id", "on_hand", "committed", "reserved", "unavailable"
        ):
            if (location_id, variant_id) in wanted:
                found[(location_id, variant_id)] = (on_hand, committed + reserved + unavailable)
    return found


def _values_sql(rows: Sequence[tuple[int, ...]]) -> str:
    """A VALUES list of whole numbers written into the SQL: with 100,000s of rows, binding each number as
    a parameter cost more CPU than the database spends on the statement (bench/import.py). int() keeps
    anything but a number out of the SQL text."""
    return "VALUES " + ", ".join("(" + ", ".join(str(int(n)) for n in row) + ")" for row in rows)


def stock_set_counted_many(*, lines: Sequence[StockLine], reference: str = "", actor=None, note: str = "") -> int:
    """Make on hand equal the counted quantity (StockLine.quantity, zero allowed) for many pairs at once,
    as a count movement per pair whose on hand differs; a pair already at its count is left alone, so
    booking the same counts twice changes nothing. Returns the number of movements written. A count
    below the units promised to orders, held for checkouts or booked unavailable is refused, and then
    nothing changes.

    Set-based for imports of 100,000s of pairs: pairs are read without locks first, so only the pairs
    that change are locked (in (variant, location) order) and re-read; then one INSERT of movements and
    one UPDATE … FROM (VALUES …) of levels per chunk. Unlike _apply, the rows are locked before the ledger
    is written, because each delta is counted − on hand read under that lock.
    """
    counted: dict[tuple[int, int], int] = {}
    for line in lines:
        if not _is_count(line.quantity):
            raise InvalidQuantity(f"A counted quantity must be zero or more, not {line.quantity!r}.", field="counted")
        pair = (line.location.pk, line.variant.pk)
        if pair in counted:
            raise InvalidQuantity(f"{line.variant.sku} at {line.location.code} is counted twice.", field="lines")
        counted[pair] = line.quantity
    levels, movements = StockLevel._meta.db_table, StockMovement._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        sellable_online_pending()
        seen = _on_hand_by_pair(counted, lock=False)
        changing = sorted((p for p, q in counted.items() if q != seen.get(p, (0, 0))[0]), key=_lock_order)
        missing = [p for p in changing if p not in seen]
        for start in range(0, len(missing), _BULK_CHUNK):
            # WHERE true lets SQLite tell the upsert clause from a join condition.
            cursor.execute(
                f"INSERT INTO {levels} (location_id, variant_id, on_hand, committed, reserved, unavailable, incoming,"
                f" safety_stock, reorder_point) SELECT v.column1, v.column2, 0, 0, 0, 0, 0, 0, 0"
                f" FROM ({_values_sql(missing[start:start + _BULK_CHUNK])}) AS v WHERE true"
                " ON CONFLICT (location_id, variant_id) DO NOTHING"
            )
        locked = _on_hand_by_pair(changing, lock=True)
        deltas, short = [], []
        for pair in changing:
            on_hand, promised = locked[pair]
            if counted[pair] < promised:
                short.append((pair, promised))
            elif counted[pair] != on_hand:
                deltas.append((*pair, counted[pair] - on_hand))
        if short:
            skus = dict(Variant.objects.filter(pk__in={v for (_, v), _ in short}).values_list("pk", "sku"))
            codes = dict(Location.objects.filter(pk__in={l for (l, _), _ in short}).values_list("pk", "code"))
            problems = [
                f"{skus[v]} at {codes[l]}: counted {counted[(l, v)]}, but {promised} are promised or unavailable"
                for (l, v), promised in short
            ]
            raise StockConflict("A count cannot go below promised stock: " + "; ".join(problems) + ".",
                                problems=problems)
        now = timezone.now()
        for start in range(0, len(deltas), _BULK_CHUNK):
            values = _values_sql(deltas[start:start + _BULK_CHUNK])
            cursor.execute(
                f"INSERT INTO {movements} (location_id, variant_id, reason, on_hand_delta, committed_delta,"
                " reserved_delta, unavailable_delta, incoming_delta, reference, note, actor_id, created_at)"
                f" SELECT v.column1, v.column2, %s, v.column3, 0, 0, 0, 0, %s, %s, %s, %s FROM ({values}) AS v",
                [Reason.COUNT.value, reference, note, actor.pk if actor else None,
                 connection.ops.adapt_datetimefield_value(now)],
            )
            # VALUES names its columns column1..3 on both PostgreSQL and SQLite.
            cursor.execute(
                f"UPDATE {levels} SET on_hand = on_hand + v.column3 FROM ({values}) AS v"
                f" WHERE {levels}.location_id = v.column1 AND {levels}.variant_id = v.column2"
            )
        return len(deltas)
