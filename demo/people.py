"""The demo's shoppers: a few hundred registered customers (UK names, a home store with an address near it, a
phone from Ofcom's drama range for some, marketing consent by email, SMS, messenger or none) and the guests
who buy with just an email. Every address is at a reserved domain (example.com, .org, .net): none reaches anyone.

Customers are written in bulk rather than through customers.services.customer_register, whose password
hashing (a quarter of a second each) would take over a minute for a few hundred; like customers first met at
the till, they have no login until they claim the account by resetting its password. Their timeline starts
as the service's would: signed up, and the consent they gave then.
"""
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain

from catalog.models import Channel
from core.phones import DRAMA_MOBILES, phone_parse
from customers.models import Address, Customer, Interaction
from inventory.models import Location

FIRST_NAMES = (
    "Oliver", "Amelia", "Jack", "Isla", "Harry", "Ava", "George", "Mia", "Noah", "Olivia", "Charlie", "Emily",
    "Jacob", "Sophie", "Thomas", "Grace", "Muhammad", "Aisha", "Priya", "Arjun", "Zara", "Ella", "Freya", "Lily",
    "James", "William", "Daniel", "Chloe", "Hannah", "Ruby", "Samuel", "Joshua", "Ellie", "Poppy", "Alfie",
    "Leo", "Oscar", "Archie", "Henry", "Florence", "Isabella", "Rosie", "Matilda", "Lucy", "Katie", "Sarah",
    "Rebecca", "Laura", "Emma", "David", "Michael", "Paul", "Andrew", "Claire", "Helen", "Joanne", "Nicola",
    "Rachel", "Gemma", "Siobhan", "Niamh", "Ciaran", "Eilidh", "Callum", "Rhys", "Seren", "Dylan", "Cerys",
    "Fatima", "Yusuf", "Amir", "Hamza", "Ananya", "Rohan", "Kwame", "Ama", "Tomasz", "Zofia", "Mei", "Kofi",
)
SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright",
    "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Patel",
    "Khan", "Lewis", "James", "Phillips", "Mason", "Mitchell", "Campbell", "MacDonald", "Stewart", "Murray",
    "Fraser", "Kelly", "O'Neill", "Murphy", "Doyle", "Hughes", "Morgan", "Griffiths", "Price", "Lloyd", "Ahmed",
    "Ali", "Hussain", "Begum", "Shah", "Singh", "Kaur", "Chowdhury", "Nowak", "Kowalski", "Okafor", "Mensah",
    "Adeyemi", "Chen", "Wong", "Nguyen", "Cooper", "Ward", "Turner", "Hill", "Moore", "Harris", "Martin", "Baker",
    "Edwards", "Bennett", "Cook", "Shaw", "Holmes", "Fletcher", "Barker", "Atkinson", "Pearson", "Dawson",
)
STREETS = ("High Street", "Station Road", "Church Lane", "Victoria Road", "Mill Lane", "Park Avenue", "Queens Road",
           "Manor Way", "King Street", "Green Lane", "The Crescent", "Albert Road", "Elm Grove", "Orchard Close",
           "Windsor Terrace", "Springfield Road", "Beech Avenue", "New Street", "York Road", "Chapel Street")
DOMAINS = ("example.com", "example.org", "example.net")  # RFC 2606: reserved, deliverable to no one
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the inward code's letters: never C, I, K, M, O or V

CUSTOMERS = 320
BEFORE_THE_HISTORY = 0.75  # registered before its first day; the rest sign up during it
PHONE_SHARE = 0.55
CONSENT_SHARES = {"email": 0.5, "sms": 0.2, "messenger": 0.12}
APP_SHARE = 0.55  # customers who also shop in the app
# Shoppers per store, relative: the flagship and the big city centres draw the most.
FOOTFALL = {"LDN-OXF": 4.0, "LDN-STR": 2.2, "LDN-KEN": 1.6, "MAN-ARN": 2.2, "BHM-BUL": 1.9, "GLA-BCH": 1.6,
            "BRS-CAB": 1.4, "LIV-ONE": 1.4, "EDI-PRS": 1.3, "LDS-BRG": 1.3, "BIC-VIL": 1.2}


@dataclass
class Shopper:
    """Someone who shops: a customer (signed in on each of their devices) or a guest (one device, and the
    email, name and phone they type at checkout)."""

    email: str
    first_name: str
    last_name: str
    phone: str
    home: Location
    devices: dict[str, uuid.UUID]  # channel code -> visitor id
    joined: datetime | None = None  # when a customer registered; None for a guest
    customer: Customer | None = None
    address: Address | None = None
    consents: frozenset[str] = field(default_factory=frozenset)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def visitor_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class People:
    """Draws shoppers from the seed: names, emails unique across everyone, homes weighted by footfall."""

    def __init__(self, rng: random.Random, stores: list[Location]):
        self.rng = rng
        self.stores = stores
        self.weights = [FOOTFALL.get(s.code, 1.0) for s in stores]
        self.emails: set[str] = set()
        self.phones = iter(rng.sample(range(1000), 1000))

    def _email(self, first: str, last: str) -> str:
        rng, local = self.rng, f"{first}.{last}".lower().replace("'", "")
        spellings = (local, f"{first[0]}{last}".lower().replace("'", ""), f"{local}{rng.randint(1, 99)}")
        for spelling in chain(spellings, (f"{local}{n}" for n in range(100, 1000))):
            email = f"{spelling}@{rng.choice(DOMAINS)}"
            if email not in self.emails:
                self.emails.add(email)
                return email
        raise RuntimeError("ran out of demo email addresses")

    def shopper(self, *, channels: tuple[str, ...], phone_share: float = PHONE_SHARE) -> Shopper:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        phone = phone_parse(f"{DRAMA_MOBILES}{next(self.phones):03d}") if rng.random() < phone_share else ""
        home = rng.choices(self.stores, self.weights)[0]
        return Shopper(email=self._email(first, last), first_name=first, last_name=last, phone=phone, home=home,
                       devices={code: visitor_id(rng) for code in channels})

    def address_near(self, shopper: Shopper, *, store: Location | None = None) -> Address:
        """A home a few miles from the shopper's store (or a mile from `store`), in its postcode district."""
        rng, spread = self.rng, 1 if store is None else 0.2
        store = store or shopper.home
        inward = f"{rng.randint(1, 9)}{''.join(rng.sample(POSTCODE_LETTERS, 2))}"
        return Address(
            label="Home", recipient=shopper.full_name, line1=f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
            city=store.city, country="GB", postcode=f"{store.postcode.split()[0]} {inward}", phone=shopper.phone,
            latitude=round(store.latitude + spread * rng.uniform(-0.04, 0.04), 5), is_default=True,
            longitude=round(store.longitude + spread * rng.uniform(-0.06, 0.06), 5),
        )


def customers_create(people: People, *, first_day: datetime, last_day: datetime) -> list[Shopper]:
    """Register the demo's customers with their home address, consent and the start of their timeline."""
    rng, web = people.rng, Channel.objects.get(code=Channel.WEB)
    shoppers = []
    for _ in range(CUSTOMERS):
        app = rng.random() < APP_SHARE
        shopper = people.shopper(channels=(Channel.WEB, Channel.MOBILE) if app else (Channel.WEB,))
        if rng.random() < BEFORE_THE_HISTORY:
            shopper.joined = first_day - timedelta(days=rng.randint(14, 900), minutes=rng.randint(0, 24 * 60))
        else:
            shopper.joined = first_day + rng.random() * (last_day - first_day)
        shopper.consents = frozenset(medium for medium, share in CONSENT_SHARES.items()
                                     if rng.random() < share and (medium == "email" or shopper.phone))
        shoppers.append(shopper)
    taken = set(Customer.objects.filter(email__in=[s.email for s in shoppers]).values_list("email", flat=True))
    shoppers = [s for s in shoppers if s.email not in taken]
    customers = Customer.objects.bulk_create(Customer(
        email=s.email, phone=s.phone, first_name=s.first_name, last_name=s.last_name, created_at=s.joined,
        preferred_store=s.home if s.home.offers_pickup else None,
        **{f"{medium}_consent_at": s.joined for medium in s.consents},
    ) for s in shoppers)
    for shopper, customer in zip(shoppers, customers, strict=True):
        shopper.customer = customer
        shopper.address = people.address_near(shopper)
        shopper.address.customer = customer
    Address.objects.bulk_create([s.address for s in shoppers])
    Interaction.objects.bulk_create([
        touch for s in shoppers for touch in (
            Interaction(customer=s.customer, kind=Interaction.Kind.SIGNED_UP, channel=web, created_at=s.joined),
            *([Interaction(customer=s.customer, kind=Interaction.Kind.CONSENT_CHANGED, channel=web,
                           created_at=s.joined, detail=dict.fromkeys(sorted(s.consents), True))] if s.consents else []),
        )
    ])
    return shoppers
