"""Storefront reads: where a typed postcode or town is (near which stores), and what of an order can
still be returned."""
import re

from django.db.models import Q

from inventory.models import Location

from .postcodes import AREAS


def place_find(*, query: str) -> tuple[float, float, str] | None:
    """A point for a typed UK postcode or town, found offline (no geocoding service): one of our stores
    in the same postcode district (e.g. "M4"), else the postcode area's main town ("M": Manchester, from
    postcodes.AREAS); for a town, one of our stores there, else a main post town, else a store whose town
    or name contains the text. Returns (latitude, longitude, what matched)."""
    text = " ".join(query.split())
    if not text:
        return None
    stores = Location.objects.active()
    compact = text.upper().replace(" ", "")
    postcode = re.match(r"^([A-Z]{1,2})([0-9][0-9A-Z]?)", compact)
    if postcode:
        outward = postcode.group(0)
        # "W1C1DA" → district "W1C"; a full postcode also tells us where the outward code ends.
        if len(compact) >= 5 and re.match(r"^[0-9][A-Z]{2}$", compact[-3:]):
            outward = compact[:-3]
        match = stores.filter(postcode__istartswith=f"{outward} ").first()
        if match:
            return match.latitude, match.longitude, f"{outward} ({match.city})"
        area = postcode.group(1)
        if area in AREAS:
            town, latitude, longitude = AREAS[area]
            return latitude, longitude, f"{area} postcode area ({town})"
    match = stores.filter(city__iexact=text).first()
    if match:
        return match.latitude, match.longitude, match.city
    town = next((place for place in AREAS.values() if place[0].lower() == text.lower()), None)
    if town:
        return town[1], town[2], town[0]
    match = stores.filter(Q(city__icontains=text) | Q(name__icontains=text)).first()
    if match:
        return match.latitude, match.longitude, match.city
    return None


