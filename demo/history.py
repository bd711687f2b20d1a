"""A fresh demo's past: about ninety days of trade up to the moment it is loaded, so analytics and customers'
timelines have something to show. A few hundred customers (demo.people) and anonymous browsers visit from
search, social campaigns, the newsletter and so on (demo.visits); a few in a hundred visits end in an order on
the web or in the app, picked up at a store or delivered, and the tills sell every day; then stores pick,
pack, ship, hand over and take returns (demo.trade). Weekends are busier, Saturdays most, Black Friday more
still, and trade grows a little over the weeks. The newest orders are still being worked on, so the stores'
home pages, the flagship's above all, have pickups to pick, booked into today's collection windows where they
still can be, ready ones waiting (a shopper saying "I'm here"), and ship-to-store transfers on their way.

Everything goes through the services, so stock moves through the ledger and card payments through the Stripe
double; demo.clock then moves what each event wrote to the moment it happened (the ledger's movements keep the
time the demo was loaded), and marks the history's messages sent then without delivering them.

Drawn from a fixed seed, so a load at the same moment writes the same history. It is written in one
transaction: there whole or not at all, and a run that finds it (by its checkouts' idempotency keys) writes
nothing. The trade is a small shop's, about five orders a day across the channels: every one goes through the
real checkout and the Stripe double (which slows down with each payment it holds), and the whole
load_demo_data has to stay under a minute on SQLite and on PostgreSQL.
"""
import heapq
import itertools
import logging
import math
import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from catalog.models import Channel
from inventory.models import Location
from orders.models import CheckoutAttempt, Order

from .baskets import Shelves
from .catalog import SEED
from .clock import Clock
from .logins import demo_store
from .people import FIRST_NAMES, SURNAMES, People, Shopper, customers_create
from .trade import KEY_PREFIX, Intent, Trade, minutes, opening
from .visits import Visit, Visits, black_friday

DAYS = 90
MIN_DAYS = 7  # enough for the checkouts the history is found by
VISITS_PER_DAY = 45
ONLINE_ORDERS_PER_DAY = 1.4
TILL_SALES_PER_DAY = 2.8
WEEKDAY_RHYTHM = (0.8, 0.8, 0.9, 1.0, 1.15, 1.6, 1.3)  # Monday first
GROWTH = 0.15  # more trade at the end of the history than at its start
CUSTOMERS_CONVERT = 1.3  # a signed-in customer's visit ends in an order more often than a stranger's
MORNING = time(7, 30)  # the scheduled jobs' run before the stores open
BUSIEST_TILL_HOUR = time(13, 30)
# The flagship's last online orders, by how long before the load they are placed: what its store home shows
# still to do (a pickup to pick, a parcel to pick, a pickup picked or ready, one ready since yesterday whose
# collector is here now, and two the warehouse sends: one not sent yet, one sent or in). Each: (before, how,
# fate, of what the store lacks).
FLAGSHIP_ORDERS = ((timedelta(minutes=20), Order.Fulfilment.PICKUP, "never", False),
                   (timedelta(minutes=50), Order.Fulfilment.DELIVERY, "shipped", False),
                   (timedelta(hours=3), Order.Fulfilment.PICKUP, "never", True),
                   (timedelta(hours=5), Order.Fulfilment.PICKUP, "never", False),
                   (timedelta(hours=26), Order.Fulfilment.PICKUP, "here", False),
                   (timedelta(hours=30), Order.Fulfilment.DELIVERY, "delivered", False),
                   (timedelta(hours=32), Order.Fulfilment.PICKUP, "never", True))
BROWSING = timedelta(minutes=30)  # at most, from arriving to paying


def history_loaded() -> bool:
    return CheckoutAttempt.objects.filter(key__startswith=KEY_PREFIX).exists()


def history_weeks(days: int) -> int:
    return math.ceil(days / 7)


def load_history(*, days: int = DAYS, week_done: Callable[[str], None] = lambda label: None) -> None:
    """Write the last `days` days of trade, unless the history is there already; `week_done` hears of each week."""
    if days < 1 or history_loaded():
        return
    # Each call to the Stripe double, and each message's delivery task (run when the transaction commits, finding
    # it sent already), is logged at INFO: thousands of lines the load keeps off the console.
    chatty = {name: logging.getLogger(name) for name in ("stripe", "celery.app.trace")}
    levels = {name: log.level for name, log in chatty.items()}
    for log in chatty.values():
        log.setLevel(logging.WARNING)
    try:
        with transaction.atomic():
            History(days).run(week_done)
    finally:
        for name, log in chatty.items():
            log.setLevel(levels[name])


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _mood(day: date, progress: float) -> float:
    """How busy the day is against an ordinary Thursday: the weekday, the trend, the sales."""
    friday = black_friday(day.year)
    season = 2.0 if friday <= day <= friday + timedelta(days=3) else 1.3 if day.month == 12 and day.day <= 20 else 1
    return WEEKDAY_RHYTHM[day.weekday()] * (1 + GROWTH * progress) * season


class History:
    """The history being written: every day's plan, and the steps still to come in time order (a step plans the
    next ones of its order), each run through demo.trade and put at its moment by the clock."""

    def __init__(self, days: int):
        self.clock = Clock()
        self.horizon = self.clock.started - timedelta(minutes=1)
        today = timezone.localdate(self.horizon)
        self.days = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
        self.rng = random.Random(f"{SEED}:history")
        self.queue: list = []
        self.sequence = itertools.count()
        self.channels = {c.code: c for c in Channel.objects.all()}
        self.stores = list(Location.objects.active().stores().order_by("code"))
        self.shelves = Shelves(self.rng)
        self.people = People(self.rng, self.stores)
        self.visits = Visits(self.rng, self.channels, self.shelves.products())
        self.trade = Trade(rng=self.rng, clock=self.clock, visits=self.visits, shelves=self.shelves,
                           people=self.people, channels=self.channels, stores=self.stores, schedule=self.schedule)

    def schedule(self, moment: datetime, step: Callable, *args) -> None:
        """Plan a step; what would happen after the load's moment is left for the stores to do."""
        if moment < self.horizon:
            heapq.heappush(self.queue, (moment, next(self.sequence), step, args))

    def run(self, week_done: Callable[[str], None]) -> None:
        shoppers = customers_create(self.people, first_day=_midnight(self.days[0]), last_day=self.horizon)
        self._plan(shoppers)
        weeks = [self.days[i:i + 7] for i in range(0, len(self.days), 7)]
        for week in weeks:
            ends = _midnight(week[-1] + timedelta(days=1))
            while self.queue and self.queue[0][0] < ends:
                at, _, step, args = heapq.heappop(self.queue)
                step(*args, at)
            self.visits.happened(until=min(ends, self.horizon))
            week_done(f"history {week[0]:%d %b}–{week[-1]:%d %b}")
        self.clock.settle(self.horizon)

    def _plan(self, shoppers: list[Shopper]) -> None:
        """Every day's visits, the orders some of them end in, the till sales and the morning jobs."""
        rng, stores, footfall = self.rng, self.people.stores, self.people.weights
        regulars = {store.pk: [s for s in shoppers if s.home.pk == store.pk] for store in stores}
        last_days: list[list[Visit]] = []  # the visits of the last three days: the flagship's orders reach 30 h back
        converting: set[int] = set()
        for index, day in enumerate(self.days):
            mood, start, ends = _mood(day, index / len(self.days)), _midnight(day), _midnight(day + timedelta(days=1))
            customers = [s for s in shoppers if s.joined < start]
            joining = [s for s in shoppers if start <= s.joined < ends]
            visits = self.visits.plan_day(day, self._count(VISITS_PER_DAY * mood), customers, joining)
            for visit in self._converting(visits, self._count(ONLINE_ORDERS_PER_DAY * mood)):
                converting.add(id(visit))
                self.schedule(visit.at + minutes(rng, 10, 40), self.trade.online_order, visit, None)
            for store in rng.choices(stores, footfall, k=self._count(TILL_SALES_PER_DAY * mood)):
                hours = opening(store, day)
                if hours is not None:
                    opens, closes = hours
                    busiest = min(max(timezone.make_aware(datetime.combine(day, BUSIEST_TILL_HOUR)), opens), closes)
                    at = opens + (closes - opens) * rng.triangular(0, 1, (busiest - opens) / (closes - opens))
                    self.schedule(at, self.trade.till_sale, store, regulars[store.pk])
            self.schedule(timezone.make_aware(datetime.combine(day, MORNING)), self.trade.morning)
            last_days = [*last_days[-2:], visits]
        self._flagship([v for day in last_days for v in day if id(v) not in converting])
        self.schedule(self.horizon - timedelta(seconds=1), self.trade.expire_pickups)  # the hourly job, lately

    def _count(self, mean: float) -> int:
        """A Poisson draw: how many of something happen on a day that expects `mean` of them."""
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count

    def _converting(self, visits: list[Visit], count: int) -> list[Visit]:
        """`count` of the visits, drawn by how likely each is to end in an order (its source, who it is)."""
        def likelihood(visit: Visit) -> float:
            return visit.source.converts * (CUSTOMERS_CONVERT if visit.shopper else 1)
        return sorted(visits, key=lambda v: self.rng.random() ** (1 / likelihood(v)), reverse=True)[:count]

    def _flagship(self, candidates: list[Visit]) -> None:
        """Visits of the last three days end in orders at the flagship shortly before the load, which its staff
        find still to do."""
        store = demo_store()
        if store is None:
            return
        latest = sorted(candidates, key=lambda v: v.at, reverse=True)
        for before, fulfilment, fate, from_elsewhere in FLAGSHIP_ORDERS:
            visit = next((v for v in latest if v.at <= self.horizon - before - BROWSING), None)
            if visit is None:
                return
            latest.remove(visit)
            home = visit.shopper.home if visit.shopper else store
            pickup = fulfilment == Order.Fulfilment.PICKUP
            collector = f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(SURNAMES)}" if fate == "here" else ""
            self.schedule(visit.at + minutes(self.rng, 10, 30), self.trade.online_order, visit,
                          Intent(fulfilment, store, fate, home, from_elsewhere=from_elsewhere,
                                 book_window=pickup and not from_elsewhere, collector=collector))
