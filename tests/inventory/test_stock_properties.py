"""Random sequences of stock operations through inventory.services, checked after every step against a small
model: no bucket below zero, online never offered safety stock, the ledger equal to every level, refusals inert,
and delivery offered what the locations that ship (while they do) can sell online, no more and no less.

The world is a store that also ships online orders and a warehouse, two variants each, with random opening stock
and safety stock. Every operation is called with arguments drawn at random, some of which must be refused (more
than there is, zero or negative, a document in the wrong state); the model predicts which, and with which
DomainError. Each sequence runs in a savepoint that is rolled back, because pytest-django's database is not
reset between Hypothesis examples; a fake clock lets holds lapse.
"""
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from catalog.models import Channel, Variant
from core.exceptions import DomainError, InvalidTransition
from inventory import services
from inventory.exceptions import InsufficientStock, InvalidQuantity, ReservationExpired, StockConflict
from inventory.models import (
    BUCKETS,
    Location,
    Reservation,
    StockCount,
    StockCountLine,
    StockLevel,
    StockMovement,
    Transfer,
)
from inventory.selectors import ledger_drift, sellable_by_variant
from inventory.services import StockLine
from tests.factories import LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db

LOCATIONS, VARIANTS = 2, 2  # the world fixture's
REFUSED = object()

Pair = tuple[int, int]  # (location index, variant index)

locations = st.integers(0, LOCATIONS - 1)
variants = st.integers(0, VARIANTS - 1)
# Mostly a few units; now and then more than most pairs hold, or zero or below, which must be refused.
units = st.sampled_from([1, 1, 1, 2, 2, 3, 4, 8, 0, -1])
# Units taken from a pair: as above, or at the edge, resolved against the model when the step runs: "all" that
# the pair can give (to this channel, for this purpose), or "all+1".
takes = st.sampled_from([1, 1, 1, 2, 2, 3, 4, 8, 0, -1, "all", "all", "all+1", "all+1"])
stock_lines = st.lists(st.tuples(locations, variants, takes), min_size=1, max_size=2)
# How much of an order's open lines to ship, collect or release.
portions = st.sampled_from(["all", "all", "one", "one too many"])


def available(level: dict[str, int]) -> int:
    return level["on_hand"] - level["committed"] - level["reserved"] - level["unavailable"]


def offered_online(level: dict[str, int]) -> int:
    return max(available(level) - level["safety_stock"], 0)


def resolved(quantity: int | str, limit: int) -> int:
    """A drawn quantity in units, given the most the pair can give."""
    return {"all": max(limit, 1), "all+1": limit + 1}.get(quantity, quantity)


def invalid(*quantities: int) -> type[DomainError] | None:
    """InvalidQuantity when any quantity is zero or below: every stock service refuses those first."""
    return InvalidQuantity if any(q <= 0 for q in quantities) else None


def summed(drawn) -> dict[Pair, int]:
    total: dict[Pair, int] = {}
    for l, v, q in drawn:
        total[(l, v)] = total.get((l, v), 0) + q
    return total


@dataclass
class Outcome:
    """What the model says a change does: refused with `error`, or leaves `levels` and writes `movements`."""

    error: type[DomainError] | None
    levels: dict[Pair, dict[str, int]]
    movements: int


@dataclass(frozen=True)
class World:
    """What every sequence starts from (each adds its stock inside its own savepoint)."""

    locations: list[Location]
    variants: list[Variant]
    web: Channel
    till: Channel


@dataclass
class Order:
    """Units committed to an order, and those not yet shipped, collected or released: where the lines to ship or
    cancel are drawn from (once nothing is open, the lines as committed). The model of record is per pair; an
    order only makes the drawn lines plausible."""

    lines: dict[Pair, int]
    open: dict[Pair, int] = field(init=False)

    def __post_init__(self):
        self.open = dict(self.lines)


@dataclass
class Hold:
    reservation: Reservation
    lines: dict[Pair, int]
    expires_at: datetime
    status: str = Reservation.Status.ACTIVE


@dataclass
class Move:
    transfer: Transfer
    source: int
    destination: int
    lines: dict[int, int]
    status: str = Transfer.Status.DRAFT


@dataclass
class Count:
    count: StockCount
    location: int
    lines: dict[int, int] = field(default_factory=dict)
    status: str = StockCount.Status.OPEN


class StockMachine(RuleBasedStateMachine):
    orders = Bundle("orders")
    holds = Bundle("holds")
    moves = Bundle("moves")
    counts = Bundle("counts")

    def __init__(self, world: World):
        super().__init__()
        self.locations, self.variants, self.web, self.till = world.locations, world.variants, world.web, world.till
        self.example = transaction.atomic()
        self.example.__enter__()
        self.clock = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
        self.frozen = mock.patch.object(timezone, "now", lambda: self.clock)
        self.frozen.start()
        self.pairs = [(l, v) for l in range(LOCATIONS) for v in range(VARIANTS)]
        self.levels = {pair: dict.fromkeys((*BUCKETS, "safety_stock"), 0) for pair in self.pairs}
        self.movements = 0
        self.bookings = 0  # successful stock changes so far; see stock_booked_since_last
        self.last_checked: dict[str, int] = {}
        self.all_holds: list[Hold] = []
        self.all_moves: list[Move] = []
        self.all_counts: list[Count] = []
        self.ships = [True] * LOCATIONS  # both start active and shipping; see change_what_a_location_does

    def teardown(self):
        self.frozen.stop()
        transaction.set_rollback(True)
        self.example.__exit__(None, None, None)

    # The model -------------------------------------------------------------------------------------

    def predict(self, changes: list[tuple[Pair, dict[str, int]]], *, keep_safety_stock: bool = False,
                levels: dict[Pair, dict[str, int]] | None = None) -> Outcome:
        """The rule every stock change obeys: all of it or none. Taking more than is available (online: more
        than is available above safety stock) is InsufficientStock; any other bucket below zero, StockConflict."""
        levels = dict(self.levels if levels is None else levels)
        merged: dict[Pair, dict[str, int]] = {}
        for pair, deltas in changes:
            into = merged.setdefault(pair, dict.fromkeys(BUCKETS, 0))
            for bucket, delta in deltas.items():
                into[bucket] += delta
        error = None
        for pair, deltas in merged.items():
            level = levels[pair]
            wanted = deltas["committed"] + deltas["reserved"] + deltas["unavailable"] - deltas["on_hand"]
            floor = level["safety_stock"] if keep_safety_stock else 0
            if wanted > 0 and available(level) - wanted < floor:
                error = InsufficientStock
            elif error is None and any(level[b] + deltas[b] < 0 for b in BUCKETS):
                error = StockConflict
            levels[pair] = {**level, **{b: level[b] + deltas[b] for b in BUCKETS}}
        return Outcome(error, levels, sum(1 for deltas in merged.values() if any(deltas.values())))

    def unchanged(self) -> Outcome:
        return Outcome(None, self.levels, 0)

    def run(self, call, outcome: Outcome | None, *, refused_with: type[DomainError] | None = None):
        """Call a service and check it did what the model predicts. A refusal must be the predicted DomainError
        and change nothing: the model is left as it was, the documents are checked against it here, and the
        invariants then check every level, the ledger and the movement count against it. A success is booked
        in the model, and the invariants check the database agrees."""
        expected = refused_with or (outcome.error if outcome else None)
        try:
            result = call()
        except DomainError as refusal:
            assert expected is not None, f"refused, but the model says it goes through: {refusal!r}"
            assert isinstance(refusal, expected), f"refused with {refusal!r}, the model says {expected.__name__}"
            self.assert_documents_as_modelled()
            return REFUSED
        assert expected is None, f"went through, but the model says it is refused with {expected.__name__}"
        if outcome is not None and (outcome.levels is not self.levels or outcome.movements):
            self.levels, self.movements = outcome.levels, self.movements + outcome.movements
            self.bookings += 1
        return result

    def assert_documents_as_modelled(self) -> None:
        """Every reservation, transfer and count in the database, in the state the model says; none more."""
        assert dict(Reservation.objects.values_list("pk", "status")) == {
            h.reservation.pk: h.status for h in self.all_holds}
        assert dict(Transfer.objects.values_list("pk", "status")) == {m.transfer.pk: m.status for m in self.all_moves}
        assert dict(StockCount.objects.values_list("pk", "status")) == {c.count.pk: c.status for c in self.all_counts}
        assert sorted(StockCountLine.objects.values_list("count_id", "variant_id", "counted_quantity")) == sorted(
            (c.count.pk, self.variants[v].pk, counted) for c in self.all_counts for v, counted in c.lines.items())

    def book_status(self, record: "Hold | Move | Count", document, done: bool, status: str) -> None:
        """Book a document's new state in the model if the call went through; the database must agree."""
        if done:
            record.status = status
        assert type(document).objects.values_list("status", flat=True).get(pk=document.pk) == record.status

    def resolve(self, drawn, limit) -> list[tuple[int, int, int]]:
        """Drawn lines in units, "all" being what `limit` says each pair's level can give."""
        return [(l, v, resolved(q, limit(self.levels[(l, v)]))) for l, v, q in drawn]

    def lines(self, drawn) -> list[StockLine]:
        return [StockLine(self.locations[l], self.variants[v], q) for l, v, q in drawn]

    def assert_online_floor_kept(self, pairs) -> None:
        """After an online channel takes stock, what is left available still covers the safety stock."""
        for l, v in pairs:
            level = StockLevel.objects.get(location=self.locations[l], variant=self.variants[v])
            assert level.available >= level.safety_stock, f"online took safety stock at {(l, v)}: {level.__dict__}"

    # Opening stock ---------------------------------------------------------------------------------

    @initialize(opening=st.lists(st.integers(0, 20), min_size=LOCATIONS * VARIANTS, max_size=LOCATIONS * VARIANTS),
                safety=st.lists(st.sampled_from([0, 0, 1, 2, 3]), min_size=LOCATIONS * VARIANTS,
                                max_size=LOCATIONS * VARIANTS))
    def open_the_shop(self, opening, safety):
        for (l, v), quantity, keep in zip(self.pairs, opening, safety):
            if quantity:
                self.goods_arrive(l, v, quantity, "delivery")
            if keep:
                self.set_safety_stock(l, v, keep)

    # Single-pair changes ---------------------------------------------------------------------------

    @rule(l=locations, v=variants, quantity=units, how=st.sampled_from(["delivery", "return", "damaged return"]))
    def goods_arrive(self, l, v, quantity, how):
        at = {"location": self.locations[l], "variant": self.variants[v], "quantity": quantity}
        if how == "delivery":
            call, deltas = partial(services.stock_receive, **at), {"on_hand": quantity}
        else:
            resellable = how == "return"
            call = partial(services.stock_restock_return, **at, resellable=resellable)
            deltas = {"on_hand": quantity} if resellable else {"on_hand": quantity, "unavailable": quantity}
        self.run(call, self.predict([((l, v), deltas)]), refused_with=invalid(quantity))

    @rule(l=locations, v=variants, delta=st.sampled_from([1, 2, 5, -1, -2, -5, 0]),
          note=st.sampled_from(["recount", "recount", "lost", " "]))
    def adjust(self, l, v, delta, note):
        """On hand corrected by a signed amount, with a reason; never below what is promised or unavailable."""
        self.run(partial(services.stock_adjust, location=self.locations[l], variant=self.variants[v], delta=delta,
                         note=note),
                 self.predict([((l, v), {"on_hand": delta})]),
                 refused_with=InvalidQuantity if delta == 0 or not note.strip() else None)

    @rule(l=locations, v=variants, quantity=takes,
          action=st.sampled_from(["mark unavailable", "release unavailable", "write off"]))
    def damage(self, l, v, quantity, action):
        """Units are found damaged (out of what is available), turn out fine, or are thrown away (out of those
        booked unavailable)."""
        level = self.levels[(l, v)]
        quantity = resolved(quantity, available(level) if action == "mark unavailable" else level["unavailable"])
        service, deltas = {
            "mark unavailable": (services.stock_mark_unavailable, {"unavailable": quantity}),
            "release unavailable": (services.stock_release_unavailable, {"unavailable": -quantity}),
            "write off": (services.stock_write_off, {"on_hand": -quantity, "unavailable": -quantity}),
        }[action]
        self.run(partial(service, location=self.locations[l], variant=self.variants[v], quantity=quantity),
                 self.predict([((l, v), deltas)]), refused_with=invalid(quantity))

    @rule(l=locations, v=variants, quantity=st.integers(-1, 4))
    def set_safety_stock(self, l, v, quantity):
        levels = {**self.levels, (l, v): {**self.levels[(l, v)], "safety_stock": quantity}}
        self.run(partial(services.stock_set_safety_stock, location=self.locations[l], variant=self.variants[v],
                         quantity=quantity),
                 Outcome(None, levels, 0), refused_with=InvalidQuantity if quantity < 0 else None)

    # Orders and the till ---------------------------------------------------------------------------

    @rule(target=orders, drawn=stock_lines, online=st.booleans())
    def commit_without_hold(self, drawn, online):
        """An order takes stock with no hold first; online it may not take safety stock, at the till it may."""
        drawn = self.resolve(drawn, offered_online if online else available)
        channel = self.web if online else self.till
        done = self.run(partial(services.stock_commit, lines=self.lines(drawn), channel=channel),
                        self.predict([((l, v), {"committed": q}) for l, v, q in drawn], keep_safety_stock=online),
                        refused_with=invalid(*(q for *_, q in drawn)))
        if done is REFUSED:
            return multiple()
        if online:
            self.assert_online_floor_kept(summed(drawn))
        return Order(summed(drawn))

    def order_lines(self, order: Order, portion: str) -> list[tuple[int, int, int]]:
        open_lines = {pair: q for pair, q in order.open.items() if q > 0} or order.lines
        pick = {"all": lambda q: q, "one": lambda q: 1, "one too many": lambda q: q + 1}[portion]
        return [(l, v, pick(q)) for (l, v), q in open_lines.items()]

    @rule(order=orders, portion=portions, how=st.sampled_from(["ship", "collect", "cancel"]))
    def order_lines_close(self, order, portion, how):
        """Committed units leave in a parcel or over the counter (on hand and committed fall), or the lines are
        cancelled (committed falls); never more than is committed at the pair."""
        drawn = self.order_lines(order, portion)
        service = {"ship": services.stock_ship, "collect": services.stock_collect,
                   "cancel": services.stock_release_committed}[how]
        leaving = ("committed",) if how == "cancel" else ("committed", "on_hand")
        if self.run(partial(service, lines=self.lines(drawn)),
                    self.predict([((l, v), dict.fromkeys(leaving, -q)) for l, v, q in drawn])) is not REFUSED:
            for l, v, q in drawn:
                order.open[(l, v)] = max(order.open[(l, v)] - q, 0)

    @rule(drawn=stock_lines, customer_holds_them=st.booleans())
    def sell_at_till(self, drawn, customer_holds_them):
        """The till may sell into safety stock. With the goods in the customer's hands, a shortfall is first
        booked as found (a movement of its own), so the sale always goes through."""
        drawn = self.resolve(drawn, available)
        sold = summed(drawn)
        found = self.predict([
            (pair, {"on_hand": q - available(self.levels[pair])})
            for pair, q in sold.items() if customer_holds_them and q > available(self.levels[pair])
        ])
        sale = self.predict([(pair, {"on_hand": -q}) for pair, q in sold.items()], levels=found.levels)
        assert not (customer_holds_them and sale.error), "the model refuses a sale of goods in the customer's hands"
        self.run(partial(services.stock_sell, lines=self.lines(drawn), book_found=customer_holds_them),
                 Outcome(sale.error, sale.levels, found.movements + sale.movements),
                 refused_with=invalid(*(q for *_, q in drawn)))

    # Holds -----------------------------------------------------------------------------------------

    @rule(target=holds, drawn=stock_lines, online=st.booleans(), minutes=st.sampled_from([None, 5, 60]))
    def reserve(self, drawn, online, minutes):
        """A checkout holds units; online it may not hold safety stock, at the till it may."""
        drawn = self.resolve(drawn, offered_online if online else available)
        hold_for = timedelta(minutes=minutes) if minutes else None
        reservation = self.run(
            partial(services.stock_reserve, lines=self.lines(drawn), channel=self.web if online else self.till,
                    hold_for=hold_for),
            self.predict([((l, v), {"reserved": q}) for l, v, q in drawn], keep_safety_stock=online),
            refused_with=invalid(*(q for *_, q in drawn)),
        )
        if reservation is REFUSED:
            return multiple()
        if online:
            self.assert_online_floor_kept(summed(drawn))
        hold = Hold(reservation, summed(drawn), self.clock + (hold_for or django_settings.STOCK_RESERVATION_HOLD))
        self.all_holds.append(hold)
        return hold

    def lapsed(self, hold: Hold) -> bool:
        return hold.status == Reservation.Status.ACTIVE and hold.expires_at <= self.clock

    @rule(target=orders, hold=holds)
    def checkout_pays(self, hold):
        """The shopper pays: the held units are committed to an order. Refused once the hold has lapsed, however
        much stock there is; paying twice changes nothing."""
        refused, outcome = None, self.unchanged()
        if hold.status == Reservation.Status.EXPIRED or self.lapsed(hold):
            refused, outcome = ReservationExpired, None
        elif hold.status == Reservation.Status.RELEASED:
            refused, outcome = InvalidTransition, None
        elif hold.status == Reservation.Status.ACTIVE:
            outcome = self.predict([(pair, {"reserved": -q, "committed": q}) for pair, q in hold.lines.items()])
        placed = hold.status == Reservation.Status.ACTIVE
        done = self.run(partial(services.reservation_commit, reservation=hold.reservation), outcome,
                        refused_with=refused) is not REFUSED
        self.book_status(hold, hold.reservation, done, Reservation.Status.COMMITTED)
        return Order(hold.lines) if done and placed else multiple()

    @rule(target=orders, hold=holds, seconds_late=st.sampled_from([0, 1, 60]))
    def checkout_pays_as_the_hold_lapses(self, hold, seconds_late):
        """The shopper pays the moment the hold lapses, or a little after."""
        self.clock = max(self.clock, hold.expires_at + timedelta(seconds=seconds_late))
        return self.checkout_pays(hold)

    @rule(hold=holds)
    def checkout_abandoned(self, hold):
        """The shopper gives up: held units come back, lapsed or not. Releasing twice changes nothing."""
        refused, outcome, after = None, self.unchanged(), hold.status
        if hold.status == Reservation.Status.COMMITTED:
            refused, outcome = InvalidTransition, None
        elif hold.status == Reservation.Status.ACTIVE:
            outcome = self.predict([(pair, {"reserved": -q}) for pair, q in hold.lines.items()])
            after = Reservation.Status.RELEASED
        done = self.run(partial(services.reservation_release, reservation=hold.reservation), outcome,
                        refused_with=refused) is not REFUSED
        self.book_status(hold, hold.reservation, done, after)

    @rule(minutes=st.sampled_from([1, 5, 15, 30]), sweep=st.booleans())
    def time_passes(self, minutes, sweep):
        """The clock moves on; with `sweep`, the job that releases lapsed holds runs."""
        self.clock += timedelta(minutes=minutes)
        if not sweep:
            return
        lapsed = [hold for hold in self.all_holds if self.lapsed(hold)]
        outcome = self.predict([(pair, {"reserved": -q}) for hold in lapsed for pair, q in hold.lines.items()])
        outcome.movements = sum(len(hold.lines) for hold in lapsed)  # each hold is released on its own
        assert self.run(services.reservations_release_expired, outcome) == len(lapsed)
        for hold in lapsed:
            self.book_status(hold, hold.reservation, True, Reservation.Status.EXPIRED)

    # Transfers -------------------------------------------------------------------------------------

    @rule(target=moves, source=locations, to_itself=st.sampled_from([False, False, False, True]),
          drawn=st.lists(st.tuples(variants, takes), min_size=1, max_size=2), ship_now=st.booleans())
    def transfer_create(self, source, to_itself, drawn, ship_now):
        """A draft transfer, shipped at once when `ship_now` (as a warehouse that picks as it plans does)."""
        drawn = [(v, resolved(q, available(self.levels[(source, v)]))) for v, q in drawn]
        destination = source if to_itself else (source + 1) % LOCATIONS
        transfer = self.run(
            partial(services.transfer_create, source=self.locations[source], destination=self.locations[destination],
                    lines=[(self.variants[v], q) for v, q in drawn]),
            self.unchanged(), refused_with=InvalidQuantity if to_itself else invalid(*(q for *_, q in drawn)),
        )
        if transfer is REFUSED:
            return multiple()
        lines: dict[int, int] = {}
        for v, q in drawn:
            lines[v] = lines.get(v, 0) + q
        move = Move(transfer, source, destination, lines)
        self.all_moves.append(move)
        if ship_now:
            self.transfer_ship_or_cancel(move, cancel=False)
        return move

    @rule(move=moves, cancel=st.sampled_from([False, False, False, True]))
    def transfer_ship_or_cancel(self, move, cancel):
        """Shipped, units leave the source (its safety stock too: that is kept from online shoppers, not from
        the business) and are incoming at the destination. Only a draft can be cancelled. Either twice: no change."""
        refused, outcome, after = None, self.unchanged(), move.status
        if cancel:
            service = services.transfer_cancel
            if move.status in (Transfer.Status.SHIPPED, Transfer.Status.RECEIVED):
                refused, outcome = InvalidTransition, None
            else:
                after = Transfer.Status.CANCELLED
        else:
            service = services.transfer_ship
            if move.status in (Transfer.Status.RECEIVED, Transfer.Status.CANCELLED):
                refused, outcome = InvalidTransition, None
            elif move.status == Transfer.Status.DRAFT:
                outcome = self.predict([((move.source, v), {"on_hand": -q}) for v, q in move.lines.items()]
                                       + [((move.destination, v), {"incoming": q}) for v, q in move.lines.items()])
                after = Transfer.Status.SHIPPED
        done = self.run(partial(service, transfer=move.transfer), outcome, refused_with=refused) is not REFUSED
        self.book_status(move, move.transfer, done, after)

    @rule(move=moves, arrived=st.sampled_from(["as sent", "as sent", "one short", "none", "one extra", "minus one",
                                               "a stranger"]))
    def transfer_receive(self, move, arrived):
        """Incoming clears and on hand rises by what arrived: as sent, or what the receiver counted per variant
        (zero or more, and only of variants on the transfer)."""
        first = min(move.lines)
        strangers = [v for v in range(VARIANTS) if v not in move.lines]
        received = {
            "as sent": None,
            "one short": {first: move.lines[first] - 1},
            "none": dict.fromkeys(move.lines, 0),
            "one extra": {first: move.lines[first] + 1},
            "minus one": {first: -1},
            "a stranger": {strangers[0]: 1} if strangers else None,
        }[arrived]
        refused, outcome = None, self.unchanged()
        if move.status in (Transfer.Status.DRAFT, Transfer.Status.CANCELLED):
            refused, outcome = InvalidTransition, None
        elif move.status == Transfer.Status.SHIPPED:
            got = dict(move.lines) | (received or {})
            if set(got) != set(move.lines) or any(q < 0 for q in got.values()):
                refused, outcome = InvalidQuantity, None
            else:
                outcome = self.predict([((move.destination, v), {"incoming": -q, "on_hand": got[v]})
                                        for v, q in move.lines.items()])
        by_id = None if received is None else {self.variants[v].pk: q for v, q in received.items()}
        done = self.run(partial(services.transfer_receive, transfer=move.transfer, received=by_id), outcome,
                        refused_with=refused) is not REFUSED
        self.book_status(move, move.transfer, done, Transfer.Status.RECEIVED)

    # Counts ----------------------------------------------------------------------------------------

    @rule(target=counts, l=locations)
    def count_start(self, l):
        count = Count(self.run(partial(services.stock_count_start, location=self.locations[l]), self.unchanged()), l)
        self.all_counts.append(count)
        return count

    @rule(count=counts, v=variants, counted=st.sampled_from([0, 1, 3, 6, 12, -1, "promised", "one below promised"]))
    def count_record(self, count, v, counted):
        """Staff record what they counted; "promised" is what is committed, reserved or unavailable right now."""
        level = self.levels[(count.location, v)]
        promised = level["committed"] + level["reserved"] + level["unavailable"]
        counted = {"promised": promised, "one below promised": promised - 1}.get(counted, counted)
        refused = (InvalidTransition if count.status != StockCount.Status.OPEN
                   else InvalidQuantity if counted < 0 else None)
        if self.run(partial(services.stock_count_record, count=count.count, variant=self.variants[v],
                            counted_quantity=counted),
                    self.unchanged(), refused_with=refused) is not REFUSED:
            count.lines[v] = counted

    @rule(count=counts, cancel=st.booleans())
    def count_close(self, count, cancel):
        """Complete the count, booking counted − on hand per line (refused below what is promised), or cancel it."""
        refused, outcome, after = None, self.unchanged(), StockCount.Status.COMPLETED
        if cancel:
            service, after = services.stock_count_cancel, StockCount.Status.CANCELLED
            refused = InvalidTransition if count.status == StockCount.Status.COMPLETED else None
        else:
            service = services.stock_count_complete
            if count.status == StockCount.Status.CANCELLED:
                refused, outcome = InvalidTransition, None
            elif count.status == StockCount.Status.OPEN:
                outcome = self.predict([
                    ((count.location, v), {"on_hand": counted - self.levels[(count.location, v)]["on_hand"]})
                    for v, counted in count.lines.items()
                ])
        done = self.run(partial(service, count=count.count), outcome, refused_with=refused) is not REFUSED
        self.book_status(count, count.count, done, after)

    # The locations ----------------------------------------------------------------------------------

    @rule(l=locations, flag=st.sampled_from(["ships_orders", "is_active"]))
    def change_what_a_location_does(self, l, flag):
        """Head office stops (or starts again) a location shipping online orders, or closes (or reopens) it,
        in the admin: only its database row changes, and it is put back when the example ends."""
        location = Location.objects.get(pk=self.locations[l].pk)
        setattr(location, flag, not getattr(location, flag))
        location.save(update_fields=[flag])
        self.ships[l] = location.ships_orders and location.is_active
        self.bookings += 1

    # After every step ------------------------------------------------------------------------------

    @invariant()
    def no_bucket_is_negative_and_every_level_is_what_the_model_says(self):
        """Every bucket and setting of every pair as the model has it, none negative, nothing promised beyond
        on hand; and as many movements in the ledger as the model booked."""
        rows = {
            (location_id, variant_id): dict(zip((*BUCKETS, "safety_stock"), values))
            for location_id, variant_id, *values in StockLevel.objects.filter(variant__in=self.variants)
            .values_list("location_id", "variant_id", *BUCKETS, "safety_stock")
        }
        for (l, v), expected in self.levels.items():
            level = rows.get((self.locations[l].pk, self.variants[v].pk), dict.fromkeys(expected, 0))
            assert all(units >= 0 for units in level.values()), f"a bucket went negative at {(l, v)}: {level}"
            assert available(level) >= 0, f"more promised than on hand at {(l, v)}: {level}"
            assert level == expected, f"at {(l, v)} the database has {level}, the model {expected}"
        assert StockMovement.objects.count() == self.movements, "the ledger has more or fewer movements than booked"

    def stock_booked_since_last(self, check: str) -> bool:
        """Whether the model booked a stock change since the invariant `check` last ran. When it did not, the
        first invariant has just found every level and the movement count as they were then, so the ledger sums
        and what shoppers are offered cannot have moved either (movements are append-only), and the check is
        spared a dozen queries."""
        booked = self.last_checked.get(check) != self.bookings
        self.last_checked[check] = self.bookings
        return booked

    @invariant()
    def the_ledger_sums_to_every_level(self):
        """What verify_ledger checks: each bucket of each level equals the sum of its movements."""
        if self.stock_booked_since_last("ledger"):
            for location in self.locations:
                assert ledger_drift(location=location) == []

    @invariant()
    def online_is_never_offered_safety_stock(self):
        """What the storefront and API offer online at each location (sellable_by_variant): available less safety
        stock, and none when that is below zero."""
        if not self.stock_booked_since_last("offer"):
            return
        for l, location in enumerate(self.locations):
            offered = sellable_by_variant(variant_ids=[variant.pk for variant in self.variants], channel=self.web,
                                          location=location)
            for v, variant in enumerate(self.variants):
                level, units = self.levels[(l, v)], offered.get(variant.pk, 0)
                assert units == offered_online(level), (
                    f"online is offered {units} at {(l, v)}: available {available(level)},"
                    f" safety stock {level['safety_stock']}"
                )


    @invariant()
    def delivery_is_offered_what_the_shipping_locations_can_sell_online(self):
        """What a product page offers for delivery (sellable_by_variant without a location, kept in
        SellableOnline): the sum over the locations that ship now of what each can sell online."""
        if not self.stock_booked_since_last("delivery"):
            return
        offered = sellable_by_variant(variant_ids=[variant.pk for variant in self.variants], channel=self.web)
        for v, variant in enumerate(self.variants):
            expected = sum(offered_online(self.levels[(l, v)]) for l in range(LOCATIONS) if self.ships[l])
            assert offered.get(variant.pk, 0) == expected, (
                f"delivery is offered {offered.get(variant.pk, 0)} of variant {v}, the shipping locations"
                f" ({[l for l in range(LOCATIONS) if self.ships[l]]}) can sell {expected} online"
            )


@pytest.fixture
def world(db) -> World:
    """A store that also ships online orders and a warehouse; two sizes of a tee."""
    return World(
        locations=[
            LocationFactory(code="PROP-STORE", kind=Location.Kind.STORE, ships_orders=True, offers_pickup=True),
            LocationFactory(code="PROP-DC", kind=Location.Kind.WAREHOUSE, ships_orders=True, sells_in_store=False,
                            offers_pickup=False),
        ],
        variants=[VariantFactory(sku="TEE-NAVY-M"), VariantFactory(sku="TEE-NAVY-L")],
        web=Channel.objects.get(code=Channel.WEB),
        till=Channel.objects.get(code=Channel.TILL),
    )


def test_any_sequence_of_stock_operations_keeps_buckets_whole_safety_stock_offline_and_the_ledger_true(world):
    run_state_machine_as_test(lambda: StockMachine(world), settings=settings(
        max_examples=300, stateful_step_count=25, deadline=None, derandomize=True, database=None,
    ))
