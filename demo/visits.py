"""Visits to the demo shop: each an "arrived" touch shaped as customers.attribution records it (source, medium,
campaign, referrer host, landing page) on the web or in the app, then the products looked at. Sources follow a
UK fashion retailer's mix (search, Instagram and TikTok campaigns, the newsletter to subscribers, texts to
those who agreed to them, people typing the address), and convert differently. Written in bulk, in time
order, just before anything that reads them (a checkout freezes the visitor's first and last touch)."""
import random
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.utils import timezone

from catalog.models import Channel
from customers.attribution import DIRECT, NONE, Touch
from customers.models import Interaction

from .people import Shopper, visitor_id


@dataclass(frozen=True)
class Source:
    source: str
    medium: str
    share: float  # of visits
    converts: float  # relative chance that a visit from here ends in an order
    referrer: str = ""
    tagged: bool = False  # arrives through a link with UTM tags (campaigns)
    audience: str = ""  # "email" or "sms": only customers who consented to it get the link


SOURCES = (
    Source(DIRECT, NONE, 22, 1.4),
    Source("google.co.uk", "organic", 25, 1.0, referrer="google.co.uk"),
    Source("google", "cpc", 7, 1.3, referrer="google.co.uk", tagged=True),
    Source("bing.com", "organic", 3, 1.0, referrer="bing.com"),
    Source("instagram", "social", 15, 0.5, referrer="instagram.com", tagged=True),
    Source("tiktok", "social", 8, 0.35, referrer="tiktok.com", tagged=True),
    Source("facebook.com", "social", 4, 0.5, referrer="facebook.com"),
    Source("pinterest.co.uk", "social", 2, 0.4, referrer="pinterest.co.uk"),
    Source("newsletter", "email", 9, 1.5, tagged=True, audience="email"),
    Source("sms", "sms", 2, 1.3, tagged=True, audience="sms"),
    Source("theguardian.com", "referral", 3, 0.8, referrer="theguardian.com"),
)
# Campaigns by month: what the social posts and paid search were pushing.
SEASON = {1: "january-sale", 2: "valentines-edit", 3: "spring-new-in", 4: "easter-weekend", 5: "summer-preview",
          6: "summer-linen", 7: "summer-sale", 8: "back-to-school", 9: "autumn-new-in", 10: "cosy-knits",
          11: "gift-guide", 12: "party-season"}
# Visits per hour of the day (local time): lunchtime and the evening sofa.
HOURLY = (1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.2, 2.6, 3, 3.2, 3.8, 3.6, 3, 3, 3.1, 3.4, 3.8, 4.5, 5, 4.6, 3.2, 1.8)
VIEWS = ((0, 1, 2, 3, 4), (25, 35, 22, 12, 6))  # products looked at in one visit
APP_VISITS = 0.5  # of visits by someone with the app
CUSTOMER_VISITS = 0.3  # of visits from no campaign, by a signed-in customer
RETURNING_GUESTS = 0.25  # of anonymous visits, by a browser that came before
GUEST_APP = 0.3  # of new anonymous visitors, in the app


@dataclass
class Visit:
    at: datetime
    channel: Channel
    visitor: uuid.UUID
    source: Source
    shopper: Shopper | None  # a signed-in customer; None for an anonymous visitor
    seen: set[str] = field(default_factory=set)  # product slugs looked at


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    return first + timedelta(days=(3 - first.weekday()) % 7 + 22)


def campaign(source: Source, day: date) -> str:
    """The utm_campaign a tagged link from `source` carries that day."""
    friday = black_friday(day.year)
    if friday - timedelta(days=7) <= day <= friday + timedelta(days=3) and source.medium != "cpc":
        return "black-friday"
    if source.audience == "email":
        return f"weekly-edit-{day:%G-w%V}"
    if source.audience == "sms":
        return f"weekend-offer-{day:%G-w%V}"
    return "brand" if source.medium == "cpc" and day.day % 3 else SEASON[day.month]


def at_local(day: date, hour: int, rng: random.Random) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60))))


class Visits:
    """Plans each day's visits from the seed and writes them, with their product views, once they are due."""

    def __init__(self, rng: random.Random, channels: dict[str, Channel], products: tuple[list[str], list[float]]):
        self.rng, self.channels, self.products = rng, channels, products
        self.due: deque[Visit] = deque()  # planned, in time order, not written yet
        self.rows: list[Interaction] = []
        self.viewed: set[tuple[uuid.UUID, str, date]] = set()
        self.guests: list[tuple[str, uuid.UUID]] = []  # anonymous browsers seen lately, with their channel

    def plan_day(self, day: date, count: int, customers: list[Shopper], joining: list[Shopper]) -> list[Visit]:
        """The day's visits: `count` from the sources' mix, by `customers` (signed in) or anonymous browsers,
        and the visit each customer `joining` that day registered on."""
        rng = self.rng
        subscribers = {medium: [c for c in customers if medium in c.consents] for medium in ("email", "sms")}
        sources = rng.choices(SOURCES, [s.share for s in SOURCES], k=count)
        visits = []
        for source in sources:
            at = at_local(day, rng.choices(range(24), HOURLY)[0], rng)
            if source.audience:
                shopper = rng.choice(subscribers[source.audience] or customers) if customers else None
            else:
                shopper = rng.choice(customers) if customers and rng.random() < CUSTOMER_VISITS else None
            visits.append(self._visit(at, source, shopper))
        for shopper in joining:
            source = rng.choices(SOURCES, [0 if s.audience else s.share for s in SOURCES])[0]
            visits.append(self._visit(shopper.joined, source, shopper))
        visits.sort(key=lambda v: v.at)
        self.due.extend(visits)
        return visits

    def _visit(self, at: datetime, source: Source, shopper: Shopper | None) -> Visit:
        rng = self.rng
        if shopper is not None:
            app = Channel.MOBILE in shopper.devices and rng.random() < APP_VISITS
            code = Channel.MOBILE if app else Channel.WEB
            visitor = shopper.devices[code]
        elif self.guests and rng.random() < RETURNING_GUESTS:
            code, visitor = rng.choice(self.guests)
        else:
            code, visitor = (Channel.MOBILE if rng.random() < GUEST_APP else Channel.WEB), visitor_id(rng)
            self.guests = [*self.guests[-400:], (code, visitor)]
        visit = Visit(at=at, channel=self.channels[code], visitor=visitor, source=source, shopper=shopper)
        slugs, weights = self.products
        visit.seen.update(rng.choices(slugs, weights, k=rng.choices(*VIEWS)[0]))
        return visit

    def _touch(self, visit: Visit) -> Touch:
        source, landing = visit.source, "/"
        if visit.seen:
            landing = f"/shop/{sorted(visit.seen)[0]}/"
        name = campaign(source, timezone.localdate(visit.at)) if source.tagged else ""
        if source.tagged and visit.channel.code == Channel.WEB:
            landing += "?" + urlencode({"utm_source": source.source, "utm_medium": source.medium, "utm_campaign": name})
        return Touch(source.source, source.medium, name, source.referrer, landing)

    def happened(self, until: datetime) -> None:
        """Write every visit planned up to `until` (arrival, then the products it looked at)."""
        while self.due and self.due[0].at <= until:
            visit = self.due.popleft()
            touch = self._touch(visit)
            self.rows.append(Interaction(
                customer=visit.shopper.customer if visit.shopper else None, visitor=visit.visitor,
                kind=Interaction.Kind.ARRIVED, channel=visit.channel, reference=f"source:{touch.source}"[:64],
                detail=asdict(touch), created_at=visit.at))
            self.looked_at(visit, visit.seen, visit.at)
        if self.rows:
            Interaction.objects.bulk_create(self.rows)
            self.rows = []

    def looked_at(self, visit: Visit, slugs, at: datetime) -> None:
        """Product pages seen in the visit: once a day per visitor and product, as the shop counts them."""
        day = timezone.localdate(at)
        for step, slug in enumerate(sorted(slugs), start=1):
            if (visit.visitor, slug, day) in self.viewed:
                continue
            self.viewed.add((visit.visitor, slug, day))
            self.rows.append(Interaction(
                customer=visit.shopper.customer if visit.shopper else None, visitor=visit.visitor, day=day,
                kind=Interaction.Kind.PRODUCT_VIEWED, channel=visit.channel, reference=f"product:{slug}",
                created_at=at + timedelta(minutes=step)))
