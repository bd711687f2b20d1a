"""Opening days and the dates collection counts in: when a store is open, when what another location sends
it by transfer can be collected there (ship-to-store), and until when a ready order is kept (only days the
store opens count)."""
import math
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from .models import Location

EARTH_RADIUS_KM = 6371.0088
KM_PER_TRANSIT_DAY = 400  # a courier's day: about 250 miles, door to door
SAME_DAY_CUTOFF = timedelta(hours=2)  # an order placed later than this before closing is ready the next open day
PICKING_TIME = timedelta(hours=1)  # a collection window today must end at least this long from now
HORIZON = 60  # days looked ahead for an open day: a store closed longer than that is closed


def km_between(a: Location, b: Location) -> float:
    """Great-circle distance (haversine), as inventory.selectors.distance_km_expression."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    half_chord = (math.sin((lat2 - lat1) / 2) ** 2
                  + math.cos(lat1) * math.cos(lat2) * math.sin(math.radians(b.longitude - a.longitude) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(half_chord, 1.0)))


def transit_days(source: Location, destination: Location) -> int:
    """Days a transfer spends on the road: one, and one more for every 250 miles or so."""
    return 1 + int(km_between(source, destination) // KM_PER_TRANSIT_DAY)


def next_open_day(location: Location, day: date) -> date:
    """`day` if the location opens then, else the next day it does (or `day` if it never does)."""
    for ahead in range(HORIZON):
        candidate = day + timedelta(days=ahead)
        if location.open_on(candidate):
            return candidate
    return day


def after_open_days(location: Location, day: date, days: int, *, sending: bool = False) -> date:
    """The date `days` open days after `day` (with sending=True, days it also sends orders: a transfer's lead
    time)."""
    counted, candidate = 0, day
    for _ in range(HORIZON + days):
        if counted == days:
            break
        candidate += timedelta(days=1)
        if location.open_on(candidate) and (not sending or location.ships_on(candidate)):
            counted += 1
    return candidate


def ready_today_or_next(store: Location, now: datetime) -> date:
    """When an order the store holds can be collected: today, if it opens today and there are still two
    hours before closing; else its next open day."""
    local = timezone.localtime(now)
    hours = store.hours_on(local.date())
    if hours is not None and local.time() < (datetime.combine(local.date(), hours[1]) - SAME_DAY_CUTOFF).time():
        return local.date()
    return next_open_day(store, local.date() + timedelta(days=1))


def collect_from(*, store: Location, sources: Iterable[Location] = (), now: datetime | None = None) -> date:
    """The first day a pickup at `store` can be collected: what it holds, today or its next open day; what
    `sources` send it, after each one's lead time (its working days) and the days on the road, on the next
    day the store opens."""
    now = now or timezone.now()
    ready = ready_today_or_next(store, now)
    today = timezone.localdate(now)
    for source in sources:
        sent = after_open_days(source, today, source.transfer_lead_days, sending=True)
        ready = max(ready, next_open_day(store, sent + timedelta(days=transit_days(source, store))))
    return ready


def window_still_open(day: date, ends: time, now: datetime | None = None) -> bool:
    """Whether a collection window ending at `ends` on `day` leaves time to pick the order first."""
    return timezone.make_aware(datetime.combine(day, ends)) > (now or timezone.now()) + PICKING_TIME


def kept_until(store: Location, ready: datetime, days: int) -> datetime:
    """When a pickup ready at `ready` stops being kept: the closing time of the store's `days`-th open day
    after the day it was ready (days it is closed do not count)."""
    last = after_open_days(store, timezone.localtime(ready).date(), days)
    hours = store.hours_on(last)
    closes = hours[1] if hours else time(23, 59)
    return timezone.make_aware(datetime.combine(last, closes))


DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def opening_hours_week(location: Location) -> list[tuple[str, str]]:
    """[(day name, "09:00–18:00" or "Closed")] Monday first, for pages; empty when no hours are set."""
    if not location.opening_hours:
        return []
    week, monday = [], date(2024, 1, 1)
    for index, name in enumerate(DAY_NAMES):
        hours = location.hours_on(monday + timedelta(days=index))
        week.append((name, f"{hours[0]:%H:%M}–{hours[1]:%H:%M}" if hours else "Closed"))
    return week
