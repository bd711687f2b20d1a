"""Storefront reads: where a typed postcode or town is (near which stores), and what of an order can
still be returned."""
import re

from django.db.models import Q

from fulfillment.models import Return, ReturnLine
from inventory.models import Location
from orders.models import Order


def place_find(*, query: str) -> tuple[float, float, str] | None:
    """A point for a typed UK postcode or town, found among our own stores' addresses (the shop runs
    offline, with no geocoding service): the same postcode district first (e.g. "M4"), then the same
    postcode area ("M"), then a town or store name. Returns (latitude, longitude, what matched)."""
    text = " ".join(query.split())
    if not text:
        return None
    stores = Location.objects.active()
    compact = text.upper().replace(" ", "")
    district = re.match(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)", compact)
    if district:
        outward = district.group(1)
        # "W1C1DA" → district "W1C"; a full postcode also tells us where the outward code ends.
        if len(compact) >= 5 and re.match(r"^[0-9][A-Z]{2}$", compact[-3:]):
            outward = compact[:-3]
        match = stores.filter(postcode__istartswith=f"{outward} ").first()
        if match:
            return match.latitude, match.longitude, f"{outward} ({match.city})"
        area = re.match(r"^[A-Z]{1,2}", compact).group(0)
        match = next((s for s in stores.exclude(postcode="")
                      if re.match(r"^[A-Z]{0,2}", s.postcode.upper()).group(0) == area), None)
        if match:
            return match.latitude, match.longitude, f"{area} postcode area ({match.city})"
    match = stores.filter(Q(city__iexact=text)).first() or stores.filter(
        Q(city__icontains=text) | Q(name__icontains=text)).first()
    if match:
        return match.latitude, match.longitude, match.city
    return None


def order_returnable_lines(*, order: Order) -> list[tuple]:
    """(order line, units that can still be asked back) for lines with anything handed over and not
    yet returned or already being returned."""
    pending: dict[int, int] = {}
    for line in ReturnLine.objects.filter(return_request__order=order, return_request__status=Return.Status.REQUESTED):
        pending[line.order_line_id] = pending.get(line.order_line_id, 0) + line.quantity
    rows = []
    for line in order.lines.all():
        can = line.quantity_fulfilled - line.quantity_returned - pending.get(line.pk, 0)
        if can > 0:
            rows.append((line, can))
    return rows
