"""Where visitors come from. Each arrival — from another site, a campaign link, or the app opened from one —
is an "arrived" touch on the visitor's timeline (source, medium, campaign, referrer host, landing page,
channel); first- and last-touch attribution read those touches, and an order freezes them.

A visitor is a browser (a random id in its session) or an app install (the X-Visitor-Id header the app
sends with every request); the app says where it was opened from in X-Attribution, written like a query
string: utm_source=instagram&utm_medium=social&utm_campaign=spring&referrer=instagram.com&landing=/shop/x.
A visit lasts until 30 minutes pass without a request or a different campaign arrives (as web analytics
count sessions); what a visitor did as a guest joins the customer's timeline when they sign in.
"""
import uuid
from dataclasses import asdict, dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.models import Channel

from .models import Customer, Interaction

VISITOR_SESSION_KEY = "visitor"
VISITOR_HEADER = "X-Visitor-Id"
ATTRIBUTION_HEADER = "X-Attribution"
VISIT_GAP = timedelta(minutes=30)
DIRECT, NONE = "(direct)", "(none)"
IN_STORE = {"source": "(in store)", "medium": "store"}
# Referrers whose visitors come from search or social networks, by the name in their host.
SEARCH = ("google", "bing", "duckduckgo", "yahoo", "ecosia", "baidu")
SOCIAL = ("facebook", "instagram", "tiktok", "pinterest", "twitter", "t.co", "x.com", "linkedin", "youtube",
          "reddit", "snapchat", "whatsapp", "threads")
# Pages that are not the shop (staff pages, files, the API's own documents): visits are not counted there.
NOT_THE_SHOP = ("/admin/", "/static/", "/media/", "/scan/", "/till/", "/pickup/", "/api/schema/", "/api/docs/")
FIELD_LENGTH = 100


@dataclass(frozen=True)
class Touch:
    """Where one arrival came from."""

    source: str
    medium: str
    campaign: str = ""
    referrer: str = ""
    landing: str = ""

    @property
    def key(self) -> str:
        return f"{self.source}|{self.medium}|{self.campaign}"


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _medium_of(host: str) -> str:
    name = host.split(".")
    if any(engine in name for engine in SEARCH):
        return "organic"
    if any(network in name or host == network for network in SOCIAL):
        return "social"
    return "referral"


def touch_of(*, params, referrer: str, landing: str, own_host: str) -> Touch | None:
    """The touch a request makes: its UTM tags, else another site's referrer; None when it came from one of
    our own pages or says nothing about where it came from."""
    def tag(name: str) -> str:
        values = params.get(name) or [""]
        value = values if isinstance(values, str) else values[0]
        return value.strip()[:FIELD_LENGTH]

    host = _host(referrer)
    landing = landing[:300]
    if tag("utm_source"):
        return Touch(tag("utm_source").lower(), (tag("utm_medium") or "referral").lower(), tag("utm_campaign"),
                     host, landing)
    if host and host != own_host.split(":")[0].removeprefix("www."):
        return Touch(host, _medium_of(host), "", host, landing)
    return None


def visitor_of(request) -> uuid.UUID | None:
    """The visitor a request comes from: the app's header, else the browser's session (given one if new).
    None for an API client that names none."""
    header = request.headers.get(VISITOR_HEADER, "").strip()
    if header:
        try:
            return uuid.UUID(header)
        except ValueError:
            return None
    if not hasattr(request, "session") or request.path.startswith("/api/"):
        return None
    if VISITOR_SESSION_KEY not in request.session:
        request.session[VISITOR_SESSION_KEY] = str(uuid.uuid4())
    return uuid.UUID(request.session[VISITOR_SESSION_KEY])


def _customer_of(request) -> Customer | None:
    user = getattr(request, "user", None)
    return getattr(user, "customer", None) if user is not None and user.is_authenticated else None


def arrival_record(request, *, channel_code: str) -> Interaction | None:
    """Count the request's visit: a new arrival when it carries a touch other than the visit's, or when the
    visitor has been away VISIT_GAP (then "(direct)" unless it says otherwise). Remembered in the shared
    cache, so a request in a visit costs no query and every worker agrees."""
    visitor = visitor_of(request)
    if visitor is None:
        return None
    if request.headers.get(ATTRIBUTION_HEADER):
        told = parse_qs(request.headers[ATTRIBUTION_HEADER])
        touch = touch_of(params=told, referrer="https://" + (told.get("referrer") or [""])[0].strip(),
                         landing=(told.get("landing") or [request.path])[0], own_host=request.get_host())
    else:
        touch = touch_of(params=request.GET, referrer=request.headers.get("Referer", ""),
                         landing=request.get_full_path(), own_host=request.get_host())
    seen_key = f"visit:{visitor}"
    current = cache.get(seen_key)
    cache.set(seen_key, touch.key if touch else (current or DIRECT), VISIT_GAP.total_seconds())
    if current is not None and (touch is None or touch.key == current):
        return None
    touch = touch or Touch(DIRECT, NONE, landing=request.get_full_path()[:300])
    channel = Channel.objects.filter(code=channel_code).first()
    return Interaction.objects.create(customer=_customer_of(request), visitor=visitor, kind=Interaction.Kind.ARRIVED,
                                      channel=channel, reference=f"source:{touch.source}"[:64], detail=asdict(touch))


class AttributionMiddleware:
    """Counts visits to the shop's pages (web) and to the API from an app that names its install."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET" and not request.path.startswith(NOT_THE_SHOP):
            if request.path.startswith("/api/"):
                if request.headers.get(VISITOR_HEADER):
                    arrival_record(request, channel_code=Channel.MOBILE)
            else:
                arrival_record(request, channel_code=Channel.WEB)
        return self.get_response(request)


def view_record(*, request, kind: str, reference: str, channel: Channel) -> None:
    """A touch counted once a day per visitor (a product page seen): on the customer's timeline when they
    are signed in, else on the visitor's until they are."""
    visitor, customer = visitor_of(request), _customer_of(request)
    if visitor is None and customer is None:
        return
    today = timezone.localdate()
    if visitor is None:  # an app that names no install: once a day per customer
        if not Interaction.objects.filter(customer=customer, kind=kind, reference=reference, day=today).exists():
            Interaction.objects.create(customer=customer, kind=kind, reference=reference, channel=channel, day=today)
        return
    try:
        with transaction.atomic():
            Interaction.objects.create(customer=customer, visitor=visitor, kind=kind, reference=reference,
                                       channel=channel, day=today)
    except IntegrityError:  # already seen today: the visitor's unique (visitor, kind, reference, day)
        pass


def arrivals_of(*, customer: Customer | None, visitor: uuid.UUID | None) -> QuerySet[Interaction]:
    """A shopper's arrivals, oldest first: the customer's (every device they signed in on) and the visitor's."""
    who = Q(pk__in=[])
    if customer is not None:
        who |= Q(customer=customer)
    if visitor is not None:
        who |= Q(visitor=visitor)
    return Interaction.objects.filter(who, kind=Interaction.Kind.ARRIVED).order_by("created_at", "id")


def attribution_for(*, customer: Customer | None, visitor: uuid.UUID | None, channel: Channel) -> dict:
    """What an order freezes: its first and last touch, each with the channel and time it arrived. A till
    sale came in store; an order with no arrival on record came direct."""
    if not channel.is_online:
        return {"first": IN_STORE, "last": IN_STORE}
    first = last = None  # a guest whose app names no install has nothing on record to read
    if customer is not None or visitor is not None:
        arrivals = arrivals_of(customer=customer, visitor=visitor).select_related("channel")
        first, last = arrivals.first(), arrivals.last()

    def frozen(touch: Interaction | None) -> dict:
        if touch is None:
            return {"source": DIRECT, "medium": NONE}
        return {**touch.detail, "channel": touch.channel.code if touch.channel else "",
                "at": touch.created_at.isoformat()}

    return {"first": frozen(first), "last": frozen(last)}


def campaign_link(url: str, *, source: str, medium: str, campaign: str) -> str:
    """A link in a message, tagged so that the visit it brings (on the web, or the app it opens) is
    attributed to the message: utm_source, utm_medium and utm_campaign added to its query."""
    tags = urlencode({"utm_source": source, "utm_medium": medium, "utm_campaign": campaign})
    return f"{url}{'&' if urlsplit(url).query else '?'}{tags}"
