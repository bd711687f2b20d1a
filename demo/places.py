"""The demo retailer's places: 26 UK stores and 2 distribution centres, with real addresses, opening
hours and phone numbers from Ofcom's drama ranges, and collection windows at the pickup stores, created once by
code and then left as they are."""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from inventory.models import WEEKDAYS as DAYS_OF_THE_WEEK
from inventory.models import CollectionWindow, Location

EMAIL_DOMAIN = "hearthandthread.example"  # a reserved domain: demo mail can never reach anyone

# Opening hours ------------------------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def _hours(weekday: str, saturday: str, sunday: str, late_thursday: str | None = None) -> dict[str, str]:
    hours = {day: weekday for day in WEEKDAYS}
    if late_thursday:
        hours["thu"] = late_thursday
    return {**hours, "sat": saturday, "sun": sunday}


HIGH_STREET = _hours("09:00-18:00", "09:00-18:00", "11:00-17:00", late_thursday="09:00-19:00")
SHOPPING_CENTRE = _hours("09:30-20:00", "09:00-19:00", "11:00-17:00")
WEST_END = _hours("10:00-21:00", "09:30-21:00", "12:00-18:00")
SCOTLAND = _hours("09:00-18:00", "09:00-18:00", "11:00-17:30", late_thursday="09:00-20:00")
OUTLET = _hours("10:00-20:00", "09:00-20:00", "10:00-17:00")
GOODS_IN = _hours("06:00-22:00", "07:00-15:00", "08:00-14:00")


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    address_line: str
    city: str
    postcode: str
    latitude: float
    longitude: float
    phone: str
    opening_hours: dict[str, str]
    country: str = "GB"
    ships_orders: bool = False
    offers_pickup: bool = True
    accepts_returns: bool = True


# UK phone numbers are from Ofcom's ranges reserved for drama, so none of them rings anyone.
STORES = [
    Site("LDN-OXF", "London Oxford Street", "214 Oxford Street", "London", "W1C 1DA", 51.5154, -0.1410,
         "020 7946 0118", WEST_END, ships_orders=True),
    Site("LDN-KEN", "London Kensington High Street", "98 Kensington High Street", "London", "W8 4SG", 51.5010, -0.1925,
         "020 7946 0342", HIGH_STREET),
    Site("LDN-STR", "London Westfield Stratford City", "Unit SU2041, Westfield Stratford City", "London", "E20 1EJ",
         51.5432, -0.0063, "020 7946 0577", SHOPPING_CENTRE, ships_orders=True),
    Site("MAN-ARN", "Manchester Arndale", "Unit 48, Manchester Arndale, Market Street", "Manchester", "M4 3AQ",
         53.4831, -2.2399, "0161 496 0234", SHOPPING_CENTRE, ships_orders=True),
    Site("BHM-BUL", "Birmingham Bullring", "Unit SU112, Bullring, St Martin's Circus", "Birmingham", "B5 4BU",
         52.4778, -1.8937, "0121 496 0519", SHOPPING_CENTRE, ships_orders=True),
    Site("LDS-BRG", "Leeds Briggate", "62 Briggate", "Leeds", "LS1 6HD", 53.7973, -1.5417,
         "0113 496 0655", HIGH_STREET),
    Site("GLA-BCH", "Glasgow Buchanan Street", "145 Buchanan Street", "Glasgow", "G1 2JX", 55.8611, -4.2526,
         "0141 496 0783", SCOTLAND, ships_orders=True),
    Site("EDI-PRS", "Edinburgh Princes Street", "104 Princes Street", "Edinburgh", "EH2 3AA", 55.9521, -3.1965,
         "0131 496 0412", SCOTLAND),
    Site("ABZ-UNI", "Aberdeen Union Street", "210 Union Street", "Aberdeen", "AB10 1TL", 57.1454, -2.1027,
         "01632 960 184", SCOTLAND),
    Site("BRS-CAB", "Bristol Cabot Circus", "Unit SU36, Cabot Circus, Glass House", "Bristol", "BS1 3BX",
         51.4584, -2.5847, "0117 496 0321", SHOPPING_CENTRE, ships_orders=True),
    Site("LIV-ONE", "Liverpool ONE", "17 Paradise Street, Liverpool ONE", "Liverpool", "L1 8JQ", 53.4033, -2.9873,
         "0151 496 0847", SHOPPING_CENTRE),
    Site("NCL-NTH", "Newcastle Northumberland Street", "47 Northumberland Street", "Newcastle upon Tyne", "NE1 7DE",
         54.9765, -1.6117, "0191 498 0266", HIGH_STREET),
    Site("SHF-FGT", "Sheffield Fargate", "31 Fargate", "Sheffield", "S1 2HD", 53.3811, -1.4701,
         "0114 496 0973", HIGH_STREET),
    Site("NOT-VIC", "Nottingham Victoria Centre", "Unit 14, Victoria Centre, Milton Street", "Nottingham", "NG1 3QN",
         52.9568, -1.1487, "0115 496 0135", SHOPPING_CENTRE),
    Site("LEI-HCX", "Leicester Highcross", "Unit SU58, Highcross, Shires Lane", "Leicester", "LE1 4FQ",
         52.6375, -1.1393, "0116 496 0720", SHOPPING_CENTRE),
    Site("CDF-QST", "Cardiff Queen Street", "68 Queen Street", "Cardiff", "CF10 2GR", 51.4826, -3.1745,
         "029 2018 0456", HIGH_STREET),
    Site("BFS-DON", "Belfast Donegall Place", "22 Donegall Place", "Belfast", "BT1 5BA", 54.5985, -5.9302,
         "028 9649 6310", HIGH_STREET),
    Site("CAM-GAR", "Cambridge Grand Arcade", "Unit 21, Grand Arcade, St Andrew's Street", "Cambridge", "CB2 3BJ",
         52.2037, 0.1211, "01632 960 512", SHOPPING_CENTRE),
    Site("OXF-WGT", "Oxford Westgate", "Unit L1-23, Westgate, Queen Street", "Oxford", "OX1 1PE", 51.7507, -1.2600,
         "01632 960 377", SHOPPING_CENTRE),
    Site("BTN-CHU", "Brighton Churchill Square", "Unit 44, Churchill Square, Western Road", "Brighton", "BN1 2RG",
         50.8232, -0.1449, "01632 960 645", SHOPPING_CENTRE),
    Site("SOU-WQY", "Southampton WestQuay", "Unit MSU4, WestQuay, Portland Terrace", "Southampton", "SO15 1QE",
         50.9022, -1.4063, "01632 960 908", SHOPPING_CENTRE),
    Site("NRW-CHP", "Norwich Chapelfield", "Unit 32, Chapelfield, St Stephens Street", "Norwich", "NR2 1SH",
         52.6266, 1.2920, "01632 960 233", SHOPPING_CENTRE),
    Site("EXE-PRH", "Exeter Princesshay", "9 Princesshay", "Exeter", "EX1 1GE", 50.7247, -3.5297,
         "01632 960 781", HIGH_STREET),
    Site("YRK-CNY", "York Coney Street", "24 Coney Street", "York", "YO1 9ND", 53.9590, -1.0834,
         "01632 960 469", HIGH_STREET, offers_pickup=False),
    Site("BTH-SGT", "Bath SouthGate", "12 SouthGate Street", "Bath", "BA1 1AQ", 51.3785, -2.3590,
         "01632 960 856", HIGH_STREET, offers_pickup=False),
    Site("BIC-VIL", "Bicester Village Outlet", "Unit 71, Bicester Village, 50 Pingle Drive", "Bicester", "OX26 6WD",
         51.8920, -1.1473, "01632 960 127", OUTLET, offers_pickup=False, accepts_returns=False),
]

WAREHOUSES = [
    Site("DC-DAV", "Daventry distribution centre", "Unit 4, DIRFT, Danes Way, Crick", "Daventry", "NN6 7GX",
         52.3470, -1.1620, "01632 960 010", GOODS_IN),
    Site("DC-WKF", "Wakefield distribution centre", "Unit 2, Wakefield Europort, Normanton", "Wakefield", "WF10 5QH",
         53.7010, -1.3950, "01632 960 020", GOODS_IN),
]

STORE_SHIP_CAPACITY = 25
STORE_SHIP_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat"]
# Working days to send a transfer to a store (ship-to-store): a warehouse picks it the next day, a store's
# stockroom fits it in beside its own orders.
WAREHOUSE_TRANSFER_DAYS, STORE_TRANSFER_DAYS = 1, 2
# Two-hour collection windows through the day, each clipped to the store's hours that day; the orders one takes.
COLLECTION_WINDOWS = ((time(10), time(12)), (time(12), time(14)), (time(14), time(16)), (time(16), time(18)))
COLLECTION_WINDOW_CAPACITY = 6


def upsert_locations() -> list[Location]:
    """Create the stores and warehouses that are missing; existing ones (by code) are left as they are."""
    locations = []
    for kind, sites in ((Location.Kind.STORE, STORES), (Location.Kind.WAREHOUSE, WAREHOUSES)):
        is_store = kind == Location.Kind.STORE
        for site in sites:
            location, _ = Location.objects.get_or_create(
                code=site.code,
                defaults={
                    "name": site.name, "kind": kind, "address_line": site.address_line, "city": site.city,
                    "postcode": site.postcode, "country": site.country, "latitude": site.latitude,
                    "longitude": site.longitude, "opening_hours": site.opening_hours, "phone": site.phone,
                    "email": f"{site.code.lower()}@{EMAIL_DOMAIN}", "sells_in_store": is_store,
                    "ships_orders": site.ships_orders or not is_store,
                    "offers_pickup": site.offers_pickup and is_store, "accepts_returns": site.accepts_returns,
                    "pickup_hold_days": 7,
                    # A store sends what its stockroom team can pack beside the shop floor, six days a week;
                    # the warehouses send without limit and come first when operations rank locations.
                    **({"daily_ship_capacity": STORE_SHIP_CAPACITY, "ship_days": STORE_SHIP_DAYS}
                       if is_store and site.ships_orders else {}),
                    "routing_rank": 100 if is_store else 10,
                    "transfer_lead_days": STORE_TRANSFER_DAYS if is_store else WAREHOUSE_TRANSFER_DAYS,
                },
            )
            locations.append(location)
    collection_windows_create(locations)
    return locations


def collection_windows_create(locations: list[Location]) -> None:
    """Give each pickup store without collection windows the day's two-hour windows on every day it opens, cut
    to its hours (one that would last under an hour is left out); a store with windows keeps its own."""
    a_monday = date(2024, 1, 1)
    pickup_stores = [place for place in locations if place.offers_pickup]
    have = set(CollectionWindow.objects.filter(location__in=pickup_stores).values_list("location", flat=True))
    windows = []
    for store in pickup_stores:
        if store.pk in have:
            continue
        for index, day in enumerate(DAYS_OF_THE_WEEK):
            hours = store.hours_on(a_monday + timedelta(days=index))
            if hours is None:
                continue
            for starts, ends in COLLECTION_WINDOWS:
                starts, ends = max(starts, hours[0]), min(ends, hours[1])
                if datetime.combine(a_monday, ends) - datetime.combine(a_monday, starts) >= timedelta(hours=1):
                    windows.append(CollectionWindow(location=store, weekday=day, starts=starts, ends=ends,
                                                    capacity=COLLECTION_WINDOW_CAPACITY))
    CollectionWindow.objects.bulk_create(windows)

