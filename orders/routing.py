"""Which location sends which lines: the strategy the checkout and a re-route call, steered by the routing
policy operations set in the admin (an ordered list of rules and a split limit).

Pickup: the chosen store sends what it holds; what it lacks is routed as a delivery to the store's place (from
the other locations that ship orders) and travels there on a transfer (ship-to-store), so the order can be
collected from a later day (inventory.hours.collect_from). Delivery: the candidates are the active locations that ship orders
and hold some of the wanted units. Each rule, in the policy's order, ranks them:

* skip at capacity: a location that has taken its daily number of ship orders, or does not work today, goes
  after every other (so it sends only what nowhere else can, and an order is never lost to it);
* destination country: locations in the address's country first;
* fewest parcels: the location that can send more of what is still wanted first (all of it, best);
* nearest: by distance to the address (no coordinates: warehouses first);
* location rank: the priority operations gave each location, lower first.

The best location takes what it has; while units are left the next best is chosen the same way, until the
split limit (locations per order) is reached: what is still left then is refused as insufficient stock. The
rule that decided is the first whose ranking tells the winner from the runner-up, recorded on the order.
"""
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db import connection
from django.utils import timezone

from catalog.models import Channel, Variant
from core.reference import reference
from core.selects import any_of
from inventory.exceptions import InsufficientStock, ShortLine
from inventory.hours import collect_from
from inventory.models import Location, StockLevel
from inventory.selectors import EARTH_RADIUS_KM

from .models import RoutingPolicy, RoutingRule
from .signals import ship_orders_counted

Rule = RoutingRule.Rule
DEFAULT_RULES = (Rule.SKIP_AT_CAPACITY, Rule.DESTINATION_COUNTRY, Rule.FEWEST_PARCELS, Rule.NEAREST,
                 Rule.LOCATION_RANK)
DEFAULT_SPLIT_LIMIT = 3


@dataclass(frozen=True)
class Routed:
    location: Location
    variant: Variant
    quantity: int


@dataclass(frozen=True)
class Policy:
    rules: tuple[str, ...]
    split_limit: int


@dataclass
class Routing:
    """Where each unit comes from, and why: the rule that decided and the decision in words."""

    routed: list[Routed]
    rule: str
    said: str
    locations: list[str] = field(default_factory=list)
    collect_from: date | None = None  # pickup: the first day it can be collected
    assumed: bool = False  # pickup routed to the store without reading its stock (route_pickup's assume_held)

    def as_record(self) -> dict:
        return {"rule": self.rule, "said": self.said, "locations": self.locations}


def routing_policy() -> Policy:
    """The policy in force (the first one), or the defaults when operations have set none."""
    return _routing_state()[0]


def _read_policy() -> Policy:
    policy = RoutingPolicy.objects.order_by("pk").first()
    if policy is None:
        return Policy(DEFAULT_RULES, DEFAULT_SPLIT_LIMIT)
    return Policy(tuple(policy.rules.order_by("position", "pk").values_list("rule", flat=True)), policy.split_limit)


class _Places:
    """Every active location that ships orders, by id, with what ranking reads of them worked out once: the
    radians of each latitude and its cosine, the daily capacities, the locations in each country, who does not
    work on a given day."""

    def __init__(self, locations: dict[int, Location]):
        self.locations = locations
        self.points: dict[int, tuple[float, float, float]] = {}  # latitude in radians, its cosine, longitude
        for pk, place in locations.items():
            latitude = math.radians(place.latitude)
            self.points[pk] = (latitude, math.cos(latitude), place.longitude)
        self.capacities = {pk: place.daily_ship_capacity for pk, place in locations.items()
                           if place.daily_ship_capacity is not None}
        self.countries: dict[str, set[int]] = {}
        for pk, place in locations.items():
            self.countries.setdefault(place.country, set()).add(pk)
        self._resting: tuple[date, frozenset[int]] | None = None

    def resting_on(self, day: date) -> frozenset[int]:
        """The locations that do not send orders on `day` (Location.ships_on), kept for the last day asked."""
        if self._resting is None or self._resting[0] != day:
            self._resting = (day, frozenset(pk for pk, place in self.locations.items() if not place.ships_on(day)))
        return self._resting[1]


def _routing_state() -> tuple[Policy, _Places]:
    """The policy and the shipping locations, kept in memory between requests (core.reference): one cache read
    for both."""
    return reference(("routing",), lambda: (
        _read_policy(), _Places(Location.objects.active().filter(ships_orders=True).in_bulk())))


def _sellable(variant_ids: Collection[int], channel: Channel, places: dict[int, Location]) -> dict[int, dict[int, int]]:
    """{location id: {variant id: units this channel may sell there}} for the wanted variants, where above 0."""
    keep_back = " - safety_stock" if channel.is_online else ""
    where, params = any_of("variant_id", variant_ids)
    units = f"on_hand - committed - reserved - unavailable{keep_back}"
    stock: dict[int, dict[int, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT location_id, variant_id, {units} FROM {StockLevel._meta.db_table}"
                       f" WHERE {where} AND {units} > 0", params)
        for location_id, variant_id, sellable in cursor.fetchall():
            if location_id in places:
                stock.setdefault(location_id, {})[variant_id] = sellable
    return stock


def pickup_sellable(*, variant_ids: Collection[int], channel: Channel, stores: Collection[Location]
                    ) -> dict[int, dict[int, int]]:
    """_sellable at `stores` and every location that ships orders, in one read: what route_pickup takes for
    many stores at once (the checkout's list of where a basket can be collected)."""
    places = {**_routing_state()[1].locations, **{store.pk: store for store in stores}}
    return _sellable(variant_ids, channel, places)


def _ship_orders_today(location_ids: Collection[int]) -> dict[int, int]:
    """Ship fulfilments each location has been given since midnight (the shop's time), as fulfilment (above
    orders) answers the ship_orders_counted signal."""
    if not location_ids:
        return {}
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    counted: dict[int, int] = {}
    for _, answer in ship_orders_counted.send(sender=Routing, location_ids=location_ids, since=midnight):
        counted.update(answer)
    return counted


class _Capacity:
    """Which candidates are off today: those that do not work today, known at once, and those that have taken
    their daily number of ship orders, counted only for the candidates the ranking puts first while taking the
    ones not counted yet to have room. A candidate that has room keeps its place, one that has not goes after
    the others, and the ranking is done again. (Each count is a statement; counting all ~170 capped candidates
    at once read every ship fulfilment of the day, 6.5 ms at 10,000 of them, one or two 2 ms: bench/routing.py.)"""

    COUNTS = 3  # after this many counts in a routing, every candidate not counted yet is counted at once

    def __init__(self, places: _Places, candidates: Collection[int]):
        resting = places.resting_on(timezone.localdate())
        self.off = {pk for pk in candidates if pk in resting}
        self.uncounted = {pk: places.capacities[pk] for pk in candidates
                          if pk in places.capacities and pk not in self.off}
        self.counts = 0

    def count(self, pks: Collection[int]) -> bool:
        """Count the ship orders of those of `pks` not counted yet; whether there were any."""
        if not any(pk in self.uncounted for pk in pks):
            return False
        if self.counts == self.COUNTS:
            pks = list(self.uncounted)
        capped = {pk: self.uncounted.pop(pk) for pk in pks if pk in self.uncounted}
        taken = _ship_orders_today(capped)
        self.off.update(pk for pk, capacity in capped.items() if taken.get(pk, 0) >= capacity)
        self.counts += 1
        return True


class _Ranking:
    """Orders candidates by their keys, (not already sending, each rule's ranking in the policy's order, code),
    compared part by part as tuples are. A part is worked out only for the candidates still tied on every part
    before it, and kept: only fewest parcels changes while an order is routed (with what is left). The parts
    that only say whether a candidate is in a set (already sending, at capacity, in the address's country) sort
    the tied candidates by that set at once."""

    def __init__(self, *, rules: Sequence[str], shipping: _Places, stock: dict[int, dict[int, int]],
                 off: set[int], country: str, latitude: float | None, longitude: float | None,
                 already: Collection[int]):
        self.places, self.points, self.stock = shipping.locations, shipping.points, stock
        self.off, self.country, self.already = off, country, set(already)
        self.located = latitude is not None and longitude is not None
        if self.located:
            self.latitude = math.radians(latitude)
            self.cos_latitude, self.longitude = math.cos(self.latitude), longitude
        home = shipping.countries.get(country, set())
        # Each part: how candidates rank (a list for a list of them; None for a rule this code does not know,
        # which ranks every candidate alike) and, for a part that says whether one is in a set, (that set,
        # whether being in it ranks first).
        by_rule = {Rule.SKIP_AT_CAPACITY: (self._off, (self.off, False)),
                   Rule.DESTINATION_COUNTRY: (self._abroad, (home, True)),
                   Rule.FEWEST_PARCELS: (self._parcels, None), Rule.NEAREST: (self._nearest, None),
                   Rule.LOCATION_RANK: (self._rank, None)}
        self.parts = [(self._already, (self.already, True)), *(by_rule.get(rule, (None, None)) for rule in rules),
                      (self._code, None)]
        self.values: list[dict] = [{} for _ in self.parts]
        self.parcels = [1 + index for index, rule in enumerate(rules) if rule == Rule.FEWEST_PARCELS]
        self.capacity = [1 + index for index, rule in enumerate(rules) if rule == Rule.SKIP_AT_CAPACITY]
        self.left: dict[int, int] = {}

    def wanting(self, left: dict[int, int]) -> None:
        """What is still wanted has changed: fewest parcels ranks afresh."""
        self.left = left
        for index in self.parcels:
            self.values[index] = {}

    def counted(self) -> None:
        """More candidates are known to be at capacity (added to `off`)."""
        for index in self.capacity:
            self.values[index] = {}

    def key(self, pk: int) -> tuple:
        return tuple(None if part is None else self._values(index, [pk])[pk]
                     for index, (part, _) in enumerate(self.parts))

    def first(self, pks: Collection[int], count: int) -> list[int]:
        """The `count` (1 or 2) candidates with the lowest keys, lowest first."""
        best = self._lowest(pks)
        rest = [pk for pk in pks if pk != best] if count > 1 else []
        return [best, self._lowest(rest)] if rest else [best]

    def _lowest(self, pks: Collection[int]) -> int:
        """The candidate with the lowest key (codes are unique, so there is one)."""
        for index, (part, sieve) in enumerate(self.parts):
            if len(pks) == 1:
                break
            if sieve is not None:
                members, first_in = sieve
                if not members.isdisjoint(pks):  # else all alike
                    pks = [pk for pk in pks if (pk in members) == first_in] or pks
            elif part is not None:
                values = self._values(index, pks)
                lowest = min(map(values.__getitem__, pks))
                pks = [pk for pk in pks if values[pk] == lowest]
        return next(iter(pks))

    def _values(self, index: int, pks: Collection[int]) -> dict:
        values = self.values[index]
        missing = [pk for pk in pks if pk not in values]
        if missing:
            values.update(zip(missing, self.parts[index][0](missing)))
        return values

    def _already(self, pks: list[int]) -> list[bool]:
        return [pk not in self.already for pk in pks]

    def _off(self, pks: list[int]) -> list[bool]:
        return [pk in self.off for pk in pks]

    def _abroad(self, pks: list[int]) -> list[bool]:
        return [bool(self.country) and self.places[pk].country != self.country for pk in pks]

    def _parcels(self, pks: list[int]) -> list[tuple[int, int]]:
        """(−lines it can send whole, −units it can send) of what is left. Only the lines a candidate holds some
        of are counted (it holds only units above 0): a line it holds none of adds nothing, or (a line of no units
        or fewer, which no checkout sends) adds the same to every candidate, so leaving such lines out keeps
        every candidate's place."""
        left, ranks = self.left, []
        for pk in pks:
            whole = units = 0
            for variant_id, held in self.stock[pk].items():
                quantity = left.get(variant_id, 0)
                if quantity > 0:
                    whole += held >= quantity
                    units += quantity if quantity < held else held
            ranks.append((-whole, -units))
        return ranks

    def _nearest(self, pks: list[int]) -> list[float] | list[bool]:
        """Kilometres to the address, great-circle (haversine, the same sum as inventory.selectors'
        distance_km_expression), to the metre; with no coordinates, warehouses first."""
        if not self.located:
            return [self.places[pk].kind != Location.Kind.WAREHOUSE for pk in pks]
        lat1, cos1, longitude = self.latitude, self.cos_latitude, self.longitude
        asin, radians, sin, sqrt = math.asin, math.radians, math.sin, math.sqrt
        distances = []
        for pk in pks:
            lat2, cos2, lon2 = self.points[pk]
            half_chord = sin((lat2 - lat1) / 2) ** 2 + cos1 * cos2 * sin(radians(lon2 - longitude) / 2) ** 2
            distances.append(round(2 * EARTH_RADIUS_KM * asin(sqrt(min(half_chord, 1.0))), 3))
        return distances

    def _rank(self, pks: list[int]) -> list[int]:
        return [self.places[pk].routing_rank for pk in pks]

    def _code(self, pks: list[int]) -> list[str]:
        return [self.places[pk].code for pk in pks]


def route_delivery(
    *, lines: Sequence[tuple[Variant, int]], channel: Channel, latitude: float | None = None,
    longitude: float | None = None, country: str = "", exclude: Collection[int] = (), already: Collection[int] = (),
    sellable: dict[int, dict[int, int]] | None = None,
) -> Routing:
    """Route the lines by the routing policy. `exclude`: locations that must not send (a re-route's failed
    store); `already`: locations sending other parts of the same order, which add no parcel and go first;
    `sellable`: what each location can sell of these lines when the caller has read it already (_sellable's).
    Raises InsufficientStock for what cannot be sent within the split limit."""
    policy, shipping = _routing_state()
    places = shipping.locations
    wanted = {variant.pk: quantity for variant, quantity in lines}
    variants = {variant.pk: variant for variant, _ in lines}
    if sellable is None:
        stock = {pk: units for pk, units in _sellable(wanted, channel, places).items() if pk not in exclude}
    else:  # read for more lines or places: only shipping locations, and only what they hold of these lines
        stock = {pk: held for pk, held in (
            (pk, {v: units for v, units in held.items() if v in wanted}) for pk, held in sellable.items()
            if pk in places and pk not in exclude) if held}
    candidates = list(stock)
    capacity = _Capacity(shipping, candidates) if Rule.SKIP_AT_CAPACITY in policy.rules and candidates else None
    ranking = _Ranking(rules=policy.rules, shipping=shipping, stock=stock, off=capacity.off if capacity else set(),
                       country=country, latitude=latitude, longitude=longitude, already=already)
    routed: list[Routed] = []
    chosen: list[int] = []
    left = dict(wanted)
    rule, said = "", ""
    limit = max(policy.split_limit - len(set(already)), 0)  # each already sends a parcel, excluded or not
    sending = 0  # chosen locations that were not sending already
    able = candidates  # each holds some of what is wanted (stock holds only units above 0)
    while left and sending < limit:
        if chosen:  # what is left is less: only those that could send some before can send some now
            able = [pk for pk in able if pk != chosen[-1] and not stock[pk].keys().isdisjoint(left)]
        if not able:
            break
        ranking.wanting(left)
        # The best and, the first time, the runner-up (it says why), until those are counted: taking the
        # candidates not counted yet to have room puts none of them lower than its place.
        picks = ranking.first(able, 1 if chosen else 2)
        while capacity is not None and capacity.count(picks):
            ranking.counted()
            picks = ranking.first(able, 1 if chosen else 2)
        best, *runner_up = picks
        if not chosen:
            rule, said = _why(best, runner_up, ranking.key, policy, places)
        chosen.append(best)
        sending += best not in already
        for variant_id, quantity in list(left.items()):
            take = min(quantity, stock[best].get(variant_id, 0))
            if take:
                routed.append(Routed(places[best], variants[variant_id], take))
                left[variant_id] -= take
                if not left[variant_id]:
                    del left[variant_id]
    if left:
        raise InsufficientStock([
            ShortLine(sku=variants[v].sku, location="delivery", wanted=wanted[v], available=wanted[v] - q)
            for v, q in left.items()
        ])
    codes = [places[pk].code for pk in chosen]
    if len(chosen) > 1:
        said = f"No one location had it all: sent from {', '.join(codes)} (first: {said})"
    return Routing(routed, rule, said, codes)


def _why(best: int, runner_up: list[int], key, policy: Policy, places: dict[int, Location]) -> tuple[str, str]:
    """(the rule that put `best` first, the decision in words)."""
    code = places[best].code
    if not runner_up:
        return "only", f"{code}: the only location that could send it"
    mine, theirs = key(best), key(runner_up[0])
    other = places[runner_up[0]].code
    if mine[0] != theirs[0]:
        return "already_sending", f"{code}: already sends the rest of the order (ahead of {other})"
    for index, rule in enumerate(policy.rules, start=1):
        if mine[index] != theirs[index]:
            label = Rule(rule).label.lower()
            return rule, f"{code}: {label} (ahead of {other})"
    return "code", f"{code}: as good as {other} by every rule; first by code"


def route_pickup(*, lines: Sequence[tuple[Variant, int]], store: Location, channel: Channel,
                 sellable: dict[int, dict[int, int]] | None = None, assume_held: bool = False) -> Routing:
    """The store sends what this channel may sell there; the rest comes from the locations that ship orders,
    routed by the policy as a delivery to the store (never from the store itself), on a transfer. `sellable`:
    what the store and the shipping locations can sell of these lines, when the caller read it for many stores
    at once (pickup_sellable). With `assume_held`, everything is routed to the store unread (Routing.assumed).
    Raises InsufficientStock, naming the store, for what neither has."""
    if assume_held:  # the caller's guarded commit or hold at the store checks it, and routes again if refused
        return Routing([Routed(store, variant, quantity) for variant, quantity in lines], "pickup",
                       f"{store.code}: the store the shopper chose to collect from", [store.code],
                       collect_from=collect_from(store=store), assumed=True)
    if sellable is None:
        held = _sellable([variant.pk for variant, _ in lines], channel, {store.pk: store}).get(store.pk, {})
    else:
        held = sellable.get(store.pk, {})
    here, lacking = [], []
    for variant, quantity in lines:
        take = min(quantity, held.get(variant.pk, 0))
        if take:
            here.append(Routed(store, variant, take))
        if quantity > take:
            lacking.append((variant, quantity - take))
    if not lacking:
        return Routing(here, "pickup", f"{store.code}: the store the shopper chose to collect from", [store.code],
                       collect_from=collect_from(store=store))
    try:
        sent = route_delivery(lines=lacking, channel=channel, latitude=store.latitude, longitude=store.longitude,
                              country=store.country, exclude={store.pk}, sellable=sellable)
    except InsufficientStock as short:
        wanted = dict(lines)
        by_sku = {variant.sku: variant for variant in wanted}
        raise InsufficientStock([
            ShortLine(sku=line.sku, location=store.code, wanted=wanted[by_sku[line.sku]],
                      available=held.get(by_sku[line.sku].pk, 0) + line.available)
            for line in short.lines]) from None
    sources = {r.location.pk: r.location for r in sent.routed}
    codes = [place.code for place in sources.values()]
    return Routing(here + sent.routed, "ship_to_store",
                   f"{store.code} collects; {', '.join(codes)} sends what it lacks on a transfer ({sent.said})",
                   ([store.code] if here else []) + codes,
                   collect_from=collect_from(store=store, sources=sources.values()))
