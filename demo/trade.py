"""The demo's trade, one event at a time, through the services the shop, the app, the stores and the tills
use, so stock moves through the ledger and money through the Stripe double as in real life: a checkout on
the web or in the app (the visitor's arrivals frozen on the order), a sale at a till, a pickup picked, made
ready, put on a shelf, collected (the shopper often saying "I'm here" first; late after a reminder, or never
and expired by the morning job), a ship-to-store pickup whose units a warehouse or another store sends on a
transfer (sent after its lead days, received after the road, ready by itself), a parcel picked, packed with a
tracking number, shipped and mostly delivered, a return asked for online and received at a store or by post,
or brought to a store's desk. Each event plans the next ones of its order; what falls after the load's moment
is left for the stores to do. The clock then moves what the event wrote to its moment."""
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_UP, Decimal

from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from catalog.models import Channel
from core.exceptions import DomainError
from customers.models import Cart
from customers.services import (
    cart_add_line,
    cart_choose_delivery,
    cart_choose_pickup,
    cart_create_guest,
    cart_open_for_customer,
)
from fulfillment.collection import pickup_arrived
from fulfillment.exceptions import PickupRefused
from fulfillment.models import Fulfillment, Return, ReturnLine
from fulfillment.selectors import returnable_units
from fulfillment.services import (
    ReceivedUnits,
    fulfillment_mark_delivered,
    fulfillment_mark_ready,
    fulfillment_pack,
    fulfillment_shelve,
    fulfillment_ship,
    fulfillment_start_picking,
    pickup_collect,
    pickups_expire,
    pickups_remind,
    return_receive,
    return_request,
    reviews_request,
)
from inventory.hours import after_open_days, collect_from, next_open_day, transit_days
from inventory.models import Location, Transfer
from inventory.services import transfer_receive, transfer_ship
from orders.models import Order, Payment
from orders.selectors import collection_windows_offered
from orders.services import (
    CheckoutChoice,
    ShipTo,
    order_charge_before_lapse,
    order_place,
    till_quote,
    till_sale,
)

from .baskets import Shelves
from .clock import Clock
from .people import People, Shopper
from .visits import Visit, Visits

KEY_PREFIX = "demo:history:"  # the history's checkouts' idempotency keys: finding one means it is loaded
CARD = "pm_card_visa"  # Stripe's test card, which the local double knows too
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PICKUP_SHARE = 0.4
GUESTS_GIVING_A_PHONE = 0.4
PAY_AT_PICKUP = 0.25
EXPRESS = 0.25  # of one-item deliveries
PICKUP_FATES = (("prompt", "late", "never"), (64, 24, 12))  # late: after the reminder; never: expires
SHIP_TO_STORE = 0.15  # of pickups: the shopper wants what their store does not stock, and another location sends it
SAYS_HERE = 0.6  # of shoppers collecting: they say "I'm here" first, from the car park or the door
BAYS = ("1", "2", "3", "4", "5", "6")
CARS = ("Blue Fiat 500", "Silver Golf", "Red Corsa", "White Transit van", "Black Qashqai", "Green Mini",
        "On foot, by the door", "Grey Yaris")
SHELVES = "ABCDEF"
DELIVERED = 0.85  # parcels the carrier reports delivered; the rest stay shipped
RETURNED = 0.22  # of online orders received (fashion online: about one in four); of those, asked for online
ASKED_ONLINE = 0.7  # first (the rest are brought to a store's desk)
BY_POST = 0.4  # of returns asked for online: the rest come back to a store
TILL_RETURNED = 0.05
DAMAGED = 0.2
CASH = 0.28
NAMED_AT_TILL = 0.2  # till sales to a customer who gives their email
CARRIERS = ("Royal Mail", "DPD", "Evri")
RESELLABLE_REASONS = ("Too small", "Too big", "Changed my mind", "Not as pictured", "Colour not as expected",
                      "Ordered two sizes")
DAMAGED_REASONS = ("Faulty zip", "Seam came apart", "Arrived damaged", "Marked on arrival", "Broken in transit")


@dataclass(frozen=True)
class Intent:
    """What an online shopper means to do: pick up at a store or have it delivered (a parcel from `store`'s
    shelves when one is named), and what becomes of it (prompt, late or never collected, or here: waiting at
    the store when the demo is loaded; delivered or not). A pickup may be of what the store lacks (another
    location sends it: ship-to-store), booked into a collection window, or collected by someone else."""

    fulfilment: str
    store: Location | None
    fate: str
    home: Location  # the shopper's store, where a return is brought
    from_elsewhere: bool = False
    book_window: bool = False
    collector: str = ""


def minutes(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(minutes=rng.uniform(low, high))


def opening(location: Location, day: date) -> tuple[datetime, datetime] | None:
    """When the location opens and closes that day; None when it stays closed."""
    hours = location.opening_hours.get(WEEKDAYS[day.weekday()])
    if not hours:
        return None
    opens, closes = (time.fromisoformat(part) for part in hours.split("-"))
    return (timezone.make_aware(datetime.combine(day, opens)), timezone.make_aware(datetime.combine(day, closes)))


def open_at(location: Location, moment: datetime, rng: random.Random) -> datetime:
    """`moment`, or soon after the location next opens when it is closed then."""
    start = timezone.localdate(moment)
    for offset in range(8):
        hours = opening(location, start + timedelta(days=offset))
        if hours is None:
            continue
        opens, closes = hours
        if opens <= moment < closes:
            return moment
        if moment < opens:
            return opens + minutes(rng, 5, 50)
    return moment


class Trade:
    def __init__(self, *, rng: random.Random, clock: Clock, visits: Visits, shelves: Shelves, people: People,
                 channels: dict[str, Channel], stores: list[Location], schedule: Callable):
        self.rng, self.clock, self.visits, self.shelves, self.people = rng, clock, visits, shelves, people
        self.channels, self.schedule = channels, schedule
        self.channel_of = {c.pk: c for c in channels.values()}
        self.guests: dict[uuid.UUID, Shopper] = {}  # the guest shopping on each anonymous visitor who checked out
        self.desks = {s.pk: _nearest(s, [d for d in stores if d.accepts_returns]) for s in stores}
        self.counters = {s.pk: _nearest(s, [p for p in stores if p.offers_pickup]) for s in stores}
        self.post_room = Location.objects.filter(kind=Location.Kind.WAREHOUSE, accepts_returns=True).order_by(
            "code").first()

    # Online -------------------------------------------------------------------------------------

    def intent(self, shopper: Shopper) -> Intent:
        rng = self.rng
        if rng.random() < PICKUP_SHARE:
            return Intent(Order.Fulfilment.PICKUP, self.counters[shopper.home.pk], rng.choices(*PICKUP_FATES)[0],
                          shopper.home, from_elsewhere=rng.random() < SHIP_TO_STORE)
        return Intent(Order.Fulfilment.DELIVERY, None, "delivered" if rng.random() < DELIVERED else "shipped",
                      shopper.home)

    def online_order(self, visit: Visit, intent: Intent | None, at: datetime) -> None:
        """The visit ends in a checkout: a basket from what can be supplied, paid by card (or at pickup)."""
        rng = self.rng
        shopper = visit.shopper or self._guest(visit)
        intent = intent or self.intent(shopper)
        basket = self.shelves.basket(channel=visit.channel, store=intent.store, lacking=intent.from_elsewhere)
        if not basket:
            return
        self.visits.looked_at(visit, {variant.product.slug for variant, _ in basket}, visit.at)
        self.visits.happened(until=at)
        pickup = intent.fulfilment == Order.Fulfilment.PICKUP
        ship_to = None
        if not pickup:
            if intent.store is not None:  # a parcel from that store's shelves: it lives round the corner
                ship_to = ShipTo.from_address(self.people.address_near(shopper, store=intent.store))
            else:
                shopper.address = shopper.address or self.people.address_near(shopper)
                ship_to = ShipTo.from_address(shopper.address)
        card = not pickup or rng.random() >= PAY_AT_PICKUP
        choice = CheckoutChoice(
            channel=visit.channel, fulfilment=intent.fulfilment, email=shopper.email, phone=shopper.phone,
            payment_method=Payment.Method.CARD if card else Payment.Method.PAY_AT_PICKUP, card=CARD if card else "",
            pickup_store=intent.store if pickup else None, ship_to=ship_to,
            delivery_method="" if pickup else "express" if len(basket) == 1 and rng.random() < EXPRESS else "standard",
            visitor=visit.visitor, collector_name=intent.collector if pickup else "",
            **(self._window(intent.store) if pickup and intent.book_window else {}),
        )
        key = f"{KEY_PREFIX}{at:%Y%m%d%H%M%S}:{visit.visitor}"
        try:
            with transaction.atomic():  # a checkout refused leaves no cart behind, as a shopper who gives up
                if shopper.customer is not None:
                    cart = cart_open_for_customer(customer=shopper.customer, channel=visit.channel)
                else:
                    cart = cart_create_guest(channel=visit.channel)
                # What the store lacks goes in the basket before the store is chosen, as a shopper finds it
                # online first; the checkout then offers it there from a later day (ship-to-store).
                if pickup and not intent.from_elsewhere:
                    cart_choose_pickup(cart=cart, store=intent.store, channel=visit.channel)
                elif cart.fulfilment == Cart.Fulfilment.PICKUP:
                    cart_choose_delivery(cart=cart, address=None, channel=visit.channel)
                for variant, quantity in basket:
                    cart_add_line(cart=cart, variant=variant, quantity=quantity, channel=visit.channel)
                if pickup and intent.from_elsewhere:
                    cart_choose_pickup(cart=cart, store=intent.store, channel=visit.channel)
                self.clock.cart_filled(cart, at - minutes(rng, 1, 5))  # after the product pages
                order = order_place(cart=cart, choice=choice, idempotency_key=key, fingerprint=key)
                self.clock.order_placed(order, at, cart=cart)
        except (DomainError, ValidationError):
            return
        for fulfillment in order.fulfillments.select_related("order", "location"):
            self.schedule(open_at(fulfillment.location, at + minutes(rng, 20, 180), rng), self.pick, fulfillment,
                          intent)
            for transfer in fulfillment.transfers.select_related("source", "destination"):
                sent = after_open_days(transfer.source, timezone.localdate(at), transfer.source.transfer_lead_days,
                                       sending=True)
                self.schedule(self._during_hours(transfer.source, sent), self.send, transfer, fulfillment, intent)

    def _window(self, store: Location) -> dict:
        """The first collection window the store still offers from when the order can be collected (checkout
        offers them so), or none."""
        offers = collection_windows_offered(store=store, ready_from=collect_from(store=store))
        return {"collect_window": offers[0].window, "collect_on": offers[0].day} if offers else {}

    def _during_hours(self, location: Location, day: date) -> datetime:
        """A moment in the first half of the location's working day."""
        hours = opening(location, day)
        if hours is None:
            return timezone.make_aware(datetime.combine(day, time(10))) + minutes(self.rng, 0, 240)
        opens, closes = hours
        return opens + (closes - opens) * self.rng.uniform(0.05, 0.5)

    def _guest(self, visit: Visit) -> Shopper:
        """Who is shopping on an anonymous visitor: the same guest each time that browser checks out."""
        if visit.visitor not in self.guests:
            self.guests[visit.visitor] = self.people.shopper(channels=(), phone_share=GUESTS_GIVING_A_PHONE)
        return self.guests[visit.visitor]

    # Stores' steps ------------------------------------------------------------------------------

    @staticmethod
    def _status(fulfillment: Fulfillment) -> str:
        return Fulfillment.objects.filter(pk=fulfillment.pk).values_list("status", flat=True).get()

    def pick(self, fulfillment: Fulfillment, intent: Intent, at: datetime) -> None:
        if self._status(fulfillment) != Fulfillment.Status.NEW:
            return  # a ship-to-store pickup the transfer readied before the store came to it
        fulfillment_start_picking(fulfillment=fulfillment)
        self.clock.fulfillment_moved(fulfillment, at)
        then = at + minutes(self.rng, 10, 90)
        step = self.ready if fulfillment.method == Fulfillment.Method.PICKUP else self.pack
        self.schedule(open_at(fulfillment.location, then, self.rng), step, fulfillment, intent)

    def ready(self, fulfillment: Fulfillment, intent: Intent, at: datetime) -> None:
        if self._status(fulfillment) == Fulfillment.Status.READY:
            return  # a ship-to-store pickup with nothing of the store's own: its transfer readied it
        try:
            fulfillment_mark_ready(fulfillment=fulfillment)
        except PickupRefused as refused:  # ship-to-store: picked, ready by itself when the transfers are in
            if refused.detail.get("reason") != "awaiting_transfer":
                raise
            self.clock.fulfillment_moved(fulfillment, at, picked=True)
            return
        self._waiting(fulfillment, intent, at)

    def _waiting(self, fulfillment: Fulfillment, intent: Intent, at: datetime) -> None:
        """Ready: on a shelf, the shopper told; they come for it as their intent says."""
        fulfillment_shelve(fulfillment=fulfillment, shelf=f"{self.rng.choice(SHELVES)}{self.rng.randint(1, 12)}")
        self.clock.fulfillment_moved(fulfillment, at, ready=True)
        self.clock.order_changed(fulfillment.order, at)  # a card that could lapse while it waits is charged now
        wait = {"prompt": minutes(self.rng, 90, 60 * 60), "late": timedelta(days=self.rng.uniform(4, 6.5))}
        if intent.fate in wait:
            self.schedule(open_at(fulfillment.location, at + wait[intent.fate], self.rng), self.collect, fulfillment,
                          intent)
        elif intent.fate == "here":  # arrives shortly before the demo is loaded, and waits at the counter
            self.schedule(max(self.clock.started - minutes(self.rng, 4, 14), at + timedelta(minutes=1)),
                          self.arrive, fulfillment)

    def _says_here(self, fulfillment: Fulfillment) -> None:
        rng = self.rng
        bay = rng.choice(BAYS) if rng.random() < 0.6 else ""
        pickup_arrived(fulfillment=fulfillment, bay=bay, note=rng.choice(CARS) if bay else "",
                       channel=self.channel_of[fulfillment.order.channel_id])

    def arrive(self, fulfillment: Fulfillment, at: datetime) -> None:
        self._says_here(fulfillment)
        self.clock.fulfillment_moved(fulfillment, at, arrived=True)

    def collect(self, fulfillment: Fulfillment, intent: Intent, at: datetime) -> None:
        fulfillment = Fulfillment.objects.select_related("order", "location").get(pk=fulfillment.pk)
        try:
            if self.rng.random() < SAYS_HERE:
                self._says_here(fulfillment)
                self.clock.fulfillment_moved(fulfillment, at - minutes(self.rng, 1, 12), arrived=True)
            pickup_collect(fulfillment=fulfillment, code=fulfillment.pickup_code)
        except DomainError:  # came after the hold ran out: the morning job had cancelled it
            return
        self.clock.fulfillment_moved(fulfillment, at, done=True)
        self.clock.order_changed(fulfillment.order, at)
        self._perhaps_returned(fulfillment.order, intent.home, at)

    # Ship-to-store ------------------------------------------------------------------------------

    def send(self, transfer: Transfer, pickup: Fulfillment, intent: Intent, at: datetime) -> None:
        """The sending location ships the transfer after its lead days; it reaches the store after the road."""
        try:
            transfer_ship(transfer=transfer)
        except DomainError:  # cancelled with its order meanwhile
            return
        self.clock.transfer_moved(transfer, at)
        arrives = next_open_day(transfer.destination, timezone.localdate(at) + timedelta(
            days=transit_days(transfer.source, transfer.destination)))
        self.schedule(self._during_hours(transfer.destination, arrives), self.receive_transfer, transfer, pickup,
                      intent)

    def receive_transfer(self, transfer: Transfer, pickup: Fulfillment, intent: Intent, at: datetime) -> None:
        """The store receives it: the pickup is ready by itself once everything is in and its own part picked."""
        transfer_receive(transfer=transfer)
        self.clock.transfer_moved(transfer, at)
        pickup = Fulfillment.objects.select_related("order", "location").get(pk=pickup.pk)
        self.clock.fulfillment_moved(pickup, at)
        if pickup.status == Fulfillment.Status.READY:
            # Charged now, as a pickup marked ready by hand is: the load's one transaction would leave it till the end.
            order_charge_before_lapse(order=pickup.order, needed_until=pickup.expires_at)
            self._waiting(pickup, intent, at)

    def pack(self, fulfillment: Fulfillment, intent: Intent, at: datetime) -> None:
        rng = self.rng
        carrier = rng.choice(CARRIERS)
        tracking = {"Royal Mail": f"RM{rng.randrange(10**8, 10**9)}GB", "DPD": f"{rng.randrange(10**13, 10**14)}",
                    "Evri": f"H{rng.randrange(10**14, 10**15)}"}[carrier]
        grams = sum(line.quantity * line.order_line.variant.weight_grams
                    for line in fulfillment.lines.select_related("order_line__variant"))
        fulfillment_pack(fulfillment=fulfillment, carrier=carrier, tracking_number=tracking, weight_grams=grams + 150)
        self.clock.fulfillment_moved(fulfillment, at)
        self.schedule(open_at(fulfillment.location, at + minutes(rng, 30, 240), rng), self.ship, fulfillment, intent)

    def ship(self, fulfillment: Fulfillment, intent: Intent, at: datetime) -> None:
        fulfillment_ship(fulfillment=fulfillment)
        self.clock.fulfillment_moved(fulfillment, at, done=True)
        self.clock.order_changed(fulfillment.order, at)
        if intent.fate == "delivered":
            day = timezone.localdate(at) + timedelta(days=self.rng.choice((1, 1, 2, 2, 3)))
            delivered = timezone.make_aware(datetime.combine(day, time(8))) + minutes(self.rng, 0, 600)
            self.schedule(delivered, self.deliver, fulfillment, intent)

    def deliver(self, fulfillment: Fulfillment, intent: Intent, at: datetime) -> None:
        fulfillment_mark_delivered(fulfillment=fulfillment)
        self.clock.fulfillment_moved(fulfillment, at, done=True)
        self._perhaps_returned(fulfillment.order, intent.home, at)

    def morning(self, at: datetime) -> None:
        """The scheduled jobs before the stores open: uncollected pickups expire (stock back, money back,
        shopper told), reminders a day before, review requests to those who agreed to marketing."""
        self.expire_pickups(at)
        pickups_remind(now=at)
        reviews_request(now=at)
        self.clock.touches(at)

    def expire_pickups(self, at: datetime) -> None:
        """The hourly job: pickups whose hold has ended expire (stock back, money back, shopper told). The
        history runs it each morning and once more at the load's moment, as the schedule would have by then."""
        due = list(Fulfillment.objects.filter(status=Fulfillment.Status.READY, expires_at__lte=at)
                   .select_related("order", "location"))
        pickups_expire(now=at)
        for fulfillment in due:
            self.clock.fulfillment_moved(fulfillment, at)
            self.clock.order_changed(fulfillment.order, at, refunded=True)

    # The tills ----------------------------------------------------------------------------------

    def till_sale(self, store: Location, regulars: list[Shopper], at: datetime) -> None:
        rng, till = self.rng, self.channels[Channel.TILL]
        lines = self.shelves.basket(channel=till, store=store)
        if not lines:
            return
        known = [s for s in regulars if s.joined <= at]
        shopper = rng.choice(known) if known and rng.random() < NAMED_AT_TILL else None
        cash = rng.random() < CASH
        tendered = None
        if cash:
            total = till_quote(store=store, lines=lines).total
            note = rng.choice((Decimal("1"), Decimal("5"), Decimal("10"), Decimal("20")))
            tendered = (total / note).quantize(Decimal("1"), rounding=ROUND_UP) * note
        order = till_sale(store=store, lines=lines, staff=None, customer=shopper.customer if shopper else None,
                          payment_method=Payment.Method.CASH if cash else Payment.Method.CARD_PRESENT,
                          cash_tendered=tendered)
        self.clock.order_placed(order, at)
        if rng.random() < TILL_RETURNED:
            desk = self.desks[store.pk]
            self.schedule(open_at(desk, at + timedelta(days=rng.uniform(1, 14)), rng), self.walk_in, order, desk)

    # Returns ------------------------------------------------------------------------------------

    def _perhaps_returned(self, order: Order, home: Location, at: datetime) -> None:
        rng = self.rng
        if rng.random() >= RETURNED:
            return
        if rng.random() < ASKED_ONLINE:
            asked = timezone.make_aware(datetime.combine(timezone.localdate(at), time(18))) + timedelta(
                days=rng.randint(1, 9), minutes=rng.uniform(0, 240))
            self.schedule(asked, self.ask_return, order, self.desks[home.pk])
        else:
            desk = self.desks[home.pk]
            self.schedule(open_at(desk, at + timedelta(days=rng.uniform(2, 14)), rng), self.walk_in, order, desk)

    def _coming_back(self, order: Order) -> list[ReceivedUnits]:
        """One line of the order, one unit or all of them, each resellable or damaged, with the shopper's reason."""
        rng = self.rng
        lines = [(line, units) for line, units in returnable_units(order=order).items() if units > 0]
        if not lines:
            return []
        line, units = rng.choice(sorted(lines, key=lambda pair: pair[0].pk))
        entries = []
        for _ in range(units if rng.random() < 0.5 else 1):
            damaged = rng.random() < DAMAGED
            entries.append(ReceivedUnits(
                line_id=line.pk, quantity=1, reason=rng.choice(DAMAGED_REASONS if damaged else RESELLABLE_REASONS),
                condition=ReturnLine.Condition.DAMAGED if damaged else ReturnLine.Condition.RESELLABLE))
        return entries

    def ask_return(self, order: Order, desk: Location, at: datetime) -> None:
        entries = self._coming_back(order)
        if not entries:
            return
        asked = {}
        for entry in entries:
            units, _ = asked.get(entry.line_id, (0, ""))
            asked[entry.line_id] = (units + entry.quantity, entry.reason)
        request = return_request(order=order, lines=asked, channel=self.channel_of[order.channel_id])
        self.clock.return_moved(request, at)
        where = self.post_room if self.rng.random() < BY_POST and self.post_room else desk
        self.schedule(open_at(where, at + timedelta(days=self.rng.uniform(2, 7)), self.rng), self.receive, request,
                      entries, where)

    def receive(self, request: Return, entries: list[ReceivedUnits], location: Location, at: datetime) -> None:
        received = return_receive(order=request.order, location=location, received=entries, return_request=request)
        self.clock.return_moved(received, at)

    def walk_in(self, order: Order, desk: Location, at: datetime) -> None:
        entries = self._coming_back(order)
        if entries:
            received = return_receive(order=order, location=desk, received=entries,
                                      idempotency_key=f"{KEY_PREFIX}desk:{order.number}")
            self.clock.return_moved(received, at)


def _nearest(place: Location, among: list[Location]) -> Location:
    if place in among:
        return place
    return min(among, key=lambda other: (other.latitude - place.latitude) ** 2 + (other.longitude - place.longitude) ** 2)
