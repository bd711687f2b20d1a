"""`manage.py load_demo_data`: a UK clothing and homeware retailer (stores, warehouses, catalog,
channel prices, stock through inventory.services). Deterministic, and a second run changes nothing.
"""
import random
import sys
import time
from dataclasses import dataclass
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Sum
from django.utils.text import slugify
from tqdm import tqdm

from catalog.models import Category, Channel, Price, Product, TaxClass, Variant
from inventory.models import Location, StockLevel, StockMovement
from inventory.services import StockLine, stock_receive_many, stock_set_safety_stock

SEED = 20250601
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

# Catalog ------------------------------------------------------------------------------------

COLOURS = {
    "Navy": "NAV", "Black": "BLK", "White": "WHT", "Ecru": "ECR", "Grey Marl": "GRM", "Charcoal": "CHR",
    "Oatmeal": "OAT", "Camel": "CML", "Khaki": "KHK", "Olive": "OLV", "Sage": "SAG", "Forest Green": "FOR",
    "Rust": "RST", "Burgundy": "BUR", "Pink": "PNK", "Blush": "BLS", "Cobalt": "COB", "Sky Blue": "SKY",
    "Mustard": "MUS", "Stone": "STN", "Chocolate": "CHO", "Light Wash": "LTW", "Mid Wash": "MDW",
    "Dark Wash": "DKW", "Natural": "NAT", "Cream": "CRM", "Duck Egg": "DKE", "Slate": "SLT", "Terracotta": "TER",
    "Ochre": "OCH", "Lilac": "LIL", "Red": "RED", "Yellow": "YEL",
}
WOMENS_COLOURS = ("Navy", "Black", "White", "Ecru", "Oatmeal", "Camel", "Khaki", "Sage", "Rust", "Burgundy",
                  "Pink", "Cobalt", "Sky Blue", "Mustard", "Stone", "Chocolate", "Lilac")
MENS_COLOURS = ("Navy", "Black", "White", "Ecru", "Grey Marl", "Charcoal", "Oatmeal", "Camel", "Khaki", "Olive",
                "Forest Green", "Rust", "Burgundy", "Sky Blue", "Stone", "Chocolate")
DENIM_COLOURS = ("Light Wash", "Mid Wash", "Dark Wash", "Black")
KIDS_COLOURS = ("Navy", "Pink", "Red", "Yellow", "Sky Blue", "Sage", "Lilac", "Grey Marl", "Ochre", "Cobalt")
HOME_COLOURS = ("White", "Natural", "Cream", "Sage", "Duck Egg", "Slate", "Charcoal", "Terracotta", "Ochre",
                "Blush", "Navy", "Forest Green")

WOMENS_LETTERS = (("XS", "XS"), ("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL"))
MENS_LETTERS = (("S", "S"), ("M", "M"), ("L", "L"), ("XL", "XL"), ("XXL", "XXL"))
WOMENS_NUMERIC = tuple((str(n), str(n)) for n in (8, 10, 12, 14, 16))
MENS_WAIST = tuple((f"{n}R", f"W{n}") for n in (30, 32, 34, 36, 38))
KIDS_AGES = (("2-3Y", "Y2"), ("4-5Y", "Y4"), ("6-7Y", "Y6"), ("8-9Y", "Y8"), ("10-11Y", "Y10"))
BABY_AGES = (("0-3M", "M0"), ("3-6M", "M3"), ("6-12M", "M6"), ("12-18M", "M12"))
BED_SIZES = (("Single", "SGL"), ("Double", "DBL"), ("King", "KNG"), ("Super King", "SKG"))
PAN_SIZES = (("20cm", "20"), ("24cm", "24"), ("28cm", "28"))
CANDLE_SIZES = (("Small", "SML"), ("Large", "LRG"))

HOUSE, ESSENTIALS, KIDS_BRAND = "Hearth & Thread", "H&T Essentials", "Little Thread"
NORDVIK, SALTMARSH, PENNINE, ASHBY, FERNHILL, COPPERLEAF = (
    "Nordvik", "Saltmarsh", "Pennine Wool Co.", "Ashby Denim", "Fernhill Linen", "Copperleaf",
)

CLOTHES_CARE = (
    "Machine washable at 30°C.", "Wash at 30°C inside out; do not tumble dry.", "Wash at 30°C with similar colours.",
)
HOME_CARE = ("Machine washable at 40°C.", "Wipe clean with a damp cloth.", "Dishwasher and microwave safe.")

TOP_CATEGORIES = (("women", "Women"), ("men", "Men"), ("kids", "Kids"), ("accessories", "Accessories"),
                  ("home", "Home"))


@dataclass(frozen=True)
class Range:
    """One leaf category: how many products it has and how they are named, varied and priced."""

    code: str
    parent: str
    name: str
    count: int
    styles: tuple[str, ...]
    kinds: tuple[str, ...]
    brands: tuple[str, ...]
    price: tuple[int, int]
    blurb: str
    details: tuple[str, ...]
    sizes: tuple[tuple[str, str], ...] = ()
    colours: tuple[str, ...] = ()
    colours_per_product: tuple[int, ...] = (2, 2, 3, 3, 4)
    care: tuple[str, ...] = CLOTHES_CARE
    grams: int = 300  # the smallest size's weight; each size up adds a tenth (delivery weight bands use it)
    tax_class: str = TaxClass.STANDARD  # children's clothes are zero-rated for VAT in the UK

    @property
    def slug(self) -> str:
        return slugify(f"{self.parent} {self.name}")


RANGES = [
    Range("WTP", "women", "Tops", 24,
          ("Organic Cotton", "Linen Blend", "Relaxed", "Fitted", "Striped", "Cropped", "Oversized", "Textured"),
          ("Crew Neck T-Shirt", "V-Neck T-Shirt", "Long Sleeve Top", "Blouse", "Shirt", "Vest Top", "Wrap Top"),
          (HOUSE, ESSENTIALS), (12, 39), "An easy everyday top that works on its own or under a jacket.",
          ("Soft, breathable fabric that keeps its shape wash after wash.", "True to size; size down for a closer fit.",
           "Dropped shoulders and a straight hem.", "Made with responsibly sourced cotton."),
          sizes=WOMENS_LETTERS, colours=WOMENS_COLOURS, grams=200),
    Range("WDR", "women", "Dresses", 18,
          ("Linen", "Jersey", "Floral Print", "Tiered", "Satin", "Broderie", "Pleated", "Spot Print"),
          ("Midi Dress", "Maxi Dress", "Shirt Dress", "Slip Dress", "Wrap Dress", "Smock Dress"),
          (HOUSE,), (29, 89), "A dress that goes from the office to the weekend.",
          ("Fully lined with hidden side pockets.", "Adjustable tie waist for a shaped fit.",
           "Falls to mid-calf on a 5'7\" frame.", "Lightweight and easy to pack."),
          sizes=WOMENS_NUMERIC, colours=WOMENS_COLOURS, colours_per_product=(2, 2, 3), grams=350),
    Range("WKN", "women", "Knitwear", 14,
          ("Merino", "Cashmere Blend", "Cable Knit", "Chunky", "Ribbed", "Lambswool"),
          ("Crew Neck Jumper", "V-Neck Jumper", "Cardigan", "Roll Neck Jumper", "Tank"),
          (HOUSE, NORDVIK, PENNINE), (29, 99), "A warm knit for layering through the colder months.",
          ("Spun from soft, non-itchy yarn.", "Relaxed fit with ribbed cuffs and hem.",
           "Knitted in a family-run mill.", "Naturally temperature-regulating wool."),
          sizes=WOMENS_LETTERS, colours=WOMENS_COLOURS, care=("Cool hand wash or dry clean.",), grams=450),
    Range("WJN", "women", "Jeans", 8,
          ("Straight Leg", "Wide Leg", "Slim", "Barrel Leg", "Mom", "Bootcut", "Skinny", "Cropped Flare"), ("Jeans",),
          (ASHBY, HOUSE), (29, 69), "Denim cut to sit right and move with you.",
          ("Rigid cotton that softens with wear.", "A touch of stretch for all-day comfort.",
           "Inside leg 30\" on every size.", "Made with recycled cotton."),
          sizes=WOMENS_NUMERIC, colours=DENIM_COLOURS, colours_per_product=(2, 2, 3), grams=650),
    Range("WTR", "women", "Trousers", 10,
          ("Wide Leg", "Slim", "Straight Leg", "Cropped", "High Rise", "Pleated"),
          ("Chinos", "Tailored Trousers", "Linen Trousers", "Cargo Trousers"),
          (HOUSE,), (25, 59), "Trousers that look sharp and feel like joggers.",
          ("Belt loops and deep front pockets.", "Elasticated back waist.", "Pressed front crease.",
           "Inside leg 30\" on every size."),
          sizes=WOMENS_NUMERIC, colours=("Stone", "Khaki", "Navy", "Black", "Camel", "Olive", "Ecru"),
          colours_per_product=(2, 2, 3), grams=500),
    Range("WCT", "women", "Coats & Jackets", 10,
          ("Wool Blend", "Quilted", "Waxed", "Longline", "Borg-Lined", "Showerproof"),
          ("Coat", "Jacket", "Trench Coat", "Gilet", "Parka"),
          (HOUSE, SALTMARSH), (59, 120), "Outerwear built for the British weather.",
          ("Water-repellent finish.", "Two-way zip and press-stud storm flap.", "Warm but light enough to layer.",
           "Recycled polyester padding."),
          sizes=WOMENS_LETTERS, colours=("Navy", "Black", "Camel", "Khaki", "Olive", "Stone", "Chocolate"),
          colours_per_product=(2, 2, 3), grams=1200),
    Range("MSH", "men", "Shirts", 16,
          ("Oxford", "Linen", "Brushed Cotton", "Poplin", "Chambray", "Flannel Check"),
          ("Shirt", "Overshirt", "Short Sleeve Shirt", "Button-Down Shirt"),
          (HOUSE, ESSENTIALS), (22, 55), "A smart-casual shirt that looks right with or without a tie.",
          ("Regular fit with a curved hem.", "Easy-iron finish.", "Mother-of-pearl effect buttons.",
           "Garment-washed for a lived-in feel."),
          sizes=MENS_LETTERS, colours=MENS_COLOURS, grams=300),
    Range("MTS", "men", "T-Shirts & Polos", 16,
          ("Heavyweight", "Organic Cotton", "Pique", "Striped", "Pocket", "Slub"),
          ("T-Shirt", "Polo Shirt", "Long Sleeve T-Shirt", "Henley"),
          (ESSENTIALS, HOUSE), (10, 29), "An everyday staple that earns its place in the drawer.",
          ("Pre-shrunk so the fit stays true.", "Ribbed collar that keeps its shape.",
           "Made with organic cotton.", "Slightly longer in the back."),
          sizes=MENS_LETTERS, colours=MENS_COLOURS, grams=220),
    Range("MKN", "men", "Knitwear", 12,
          ("Merino", "Lambswool", "Cotton", "Fisherman", "Donegal", "Shetland"),
          ("Crew Neck Jumper", "V-Neck Jumper", "Cardigan", "Roll Neck Jumper"),
          (HOUSE, NORDVIK, PENNINE), (29, 99), "A knit for cold mornings and long walks.",
          ("Fully fashioned shoulders.", "Soft enough to wear next to the skin.", "Knitted in a family-run mill.",
           "Classic fit with ribbed trims."),
          sizes=MENS_LETTERS, colours=MENS_COLOURS, care=("Cool hand wash or dry clean.",), grams=500),
    Range("MJN", "men", "Jeans", 6,
          ("Slim", "Straight", "Relaxed", "Tapered", "Loose", "Bootcut"), ("Jeans",),
          (ASHBY, HOUSE), (29, 69), "Denim cut for real life: sitting, cycling, standing at the bar.",
          ("Rigid cotton that softens with wear.", "A touch of stretch for all-day comfort.",
           "Regular leg length 32\".", "Reinforced pocket bags."),
          sizes=MENS_WAIST, colours=DENIM_COLOURS, colours_per_product=(2, 2, 3), grams=700),
    Range("MTR", "men", "Trousers", 8,
          ("Slim", "Straight", "Relaxed", "Tapered", "Stretch"),
          ("Chinos", "Cord Trousers", "Cargo Trousers", "Tailored Trousers"),
          (HOUSE,), (25, 59), "Trousers that work at the desk and at the pub.",
          ("Belt loops and a hidden coin pocket.", "A touch of stretch for all-day comfort.",
           "Regular leg length 32\".", "Garment-dyed for a soft handle."),
          sizes=MENS_WAIST, colours=("Stone", "Navy", "Olive", "Khaki", "Charcoal", "Chocolate"),
          colours_per_product=(2, 2, 3), grams=550),
    Range("MCT", "men", "Coats & Jackets", 8,
          ("Wool Blend", "Quilted", "Waxed", "Harrington", "Padded", "Showerproof"),
          ("Coat", "Jacket", "Overcoat", "Gilet", "Parka"),
          (HOUSE, SALTMARSH), (59, 120), "Outerwear built for the British weather.",
          ("Water-repellent finish.", "Inside zip pocket for your phone.", "Warm but light enough to layer.",
           "Recycled polyester padding."),
          sizes=MENS_LETTERS, colours=("Navy", "Black", "Camel", "Khaki", "Olive", "Charcoal"),
          colours_per_product=(2, 2, 3), grams=1400),
    Range("KGL", "kids", "Girls", 10,
          ("Frill", "Floral", "Rainbow", "Striped", "Heart Print"),
          ("Dress", "T-Shirt", "Leggings", "Pinafore", "Hoodie"),
          (KIDS_BRAND,), (8, 24), "Made for playgrounds, puddles and parties.",
          ("Soft cotton that stands up to the wash.", "Easy to put on without help.",
           "Room to grow with adjustable waist."),
          sizes=KIDS_AGES, colours=KIDS_COLOURS, grams=150, tax_class=TaxClass.ZERO),
    Range("KBY", "kids", "Boys", 10,
          ("Dinosaur", "Striped", "Jersey", "Space Print", "Camo Print"),
          ("T-Shirt", "Joggers", "Hoodie", "Shorts", "Shirt"),
          (KIDS_BRAND,), (8, 24), "Made for climbing, kicking and running about.",
          ("Reinforced knees.", "Soft cotton that stands up to the wash.", "Room to grow with adjustable waist."),
          sizes=KIDS_AGES, colours=KIDS_COLOURS, grams=150, tax_class=TaxClass.ZERO),
    Range("KBB", "kids", "Baby", 10,
          ("Organic Cotton", "Ribbed", "Bunny", "Spot Print", "Knitted"),
          ("Sleepsuit", "Bodysuit", "Dungarees", "Cardigan", "Romper"),
          (KIDS_BRAND,), (8, 20), "Gentle on new skin and quick to change.",
          ("Popper fastenings all the way down.", "Organic cotton, no scratchy labels.", "Fold-over mitten cuffs."),
          sizes=BABY_AGES, colours=("White", "Cream", "Sage", "Lilac", "Sky Blue", "Yellow"),
          colours_per_product=(2, 2, 3), grams=90, tax_class=TaxClass.ZERO),
    Range("ASH", "accessories", "Scarves & Hats", 20,
          ("Lambswool", "Cable Knit", "Check", "Ribbed", "Cashmere Blend", "Fleece-Lined"),
          ("Scarf", "Beanie", "Gloves", "Bucket Hat", "Snood"),
          (HOUSE, NORDVIK, PENNINE), (12, 39), "The finishing touch for cold, bright days.",
          ("One size fits most.", "Brushed for extra softness.", "Gift-boxed on request in store."),
          colours=WOMENS_COLOURS + ("Charcoal", "Grey Marl"), colours_per_product=(2, 3, 3, 4),
          care=("Cool hand wash.",), grams=150),
    Range("ABG", "accessories", "Bags", 16,
          ("Leather", "Canvas", "Recycled Nylon", "Suede", "Woven"),
          ("Tote Bag", "Crossbody Bag", "Backpack", "Weekender", "Purse"),
          (HOUSE, SALTMARSH), (19, 89), "A bag that carries a day's worth and then some.",
          ("Interior zip pocket and key clip.", "Adjustable strap.", "Water-resistant base.",
           "Fits a 13\" laptop."),
          colours=("Black", "Chocolate", "Camel", "Navy", "Olive", "Stone"), colours_per_product=(2, 3),
          care=("Wipe clean with a damp cloth.",), grams=700),
    Range("HBD", "home", "Bedding", 24,
          ("Washed Linen", "Percale", "Brushed Cotton", "Seersucker", "Sateen", "Waffle", "Striped", "Jacquard"),
          ("Duvet Cover Set", "Fitted Sheet", "Flat Sheet", "Bedspread", "Pillowcase Pair"),
          (HOUSE, FERNHILL), (25, 110), "Bedding that gets softer every time you wash it.",
          ("400 thread count cotton.", "Envelope-style pillowcases.", "Deep fitted sheets for mattresses up to 35cm.",
           "OEKO-TEX certified."),
          sizes=BED_SIZES, care=HOME_CARE[:1], grams=1500),
    Range("HBT", "home", "Bath", 20,
          ("Egyptian Cotton", "Waffle", "Ribbed", "Turkish Cotton", "Quick-Dry"),
          ("Hand Towel", "Bath Towel", "Bath Sheet", "Bath Mat", "Robe"),
          (HOUSE, FERNHILL), (8, 45), "Thick, absorbent towels with a hotel feel.",
          ("650gsm loops.", "Hanging loop on every towel.", "Gets fluffier with every wash."),
          colours=HOME_COLOURS, colours_per_product=(2, 3, 4), care=HOME_CARE[:1], grams=600),
    Range("HKT", "home", "Kitchen", 24,
          ("Stoneware", "Enamel", "Glass", "Speckled", "Ceramic", "Recycled Glass"),
          ("Mug", "Teapot", "Storage Jar", "Mixing Bowl", "Utensil Pot", "Butter Dish"),
          (HOUSE, COPPERLEAF), (8, 40), "Kitchen pieces for everyday cooking and baking.",
          ("Hand-glazed, so every piece is slightly different.", "Stacks neatly in the cupboard.",
           "Airtight bamboo lid."),
          colours=HOME_COLOURS, colours_per_product=(2, 3, 4), care=HOME_CARE[2:], grams=800),
    Range("HCK", "home", "Cookware", 12,
          ("Cast Iron", "Stainless Steel", "Non-Stick", "Copper-Base", "Carbon Steel"),
          ("Frying Pan", "Saucepan", "Sauté Pan", "Casserole Dish"),
          (COPPERLEAF,), (29, 99), "Pans that heat evenly and last for years.",
          ("Suitable for all hobs, including induction.", "Oven safe to 220°C.", "Lifetime guarantee."),
          sizes=PAN_SIZES, care=("Hand wash and dry straight away.",), grams=2200),
    Range("HDN", "home", "Dining", 20,
          ("Stoneware", "Porcelain", "Reactive Glaze", "Speckled", "Hand-Painted"),
          ("Dinner Plate", "Side Plate", "Pasta Bowl", "Cereal Bowl", "Serving Platter", "Jug"),
          (HOUSE, COPPERLEAF), (8, 45), "For long lunches and weeknight suppers alike.",
          ("Sold individually so you can mix and match.", "Chip-resistant glaze.", "Made in Stoke-on-Trent."),
          colours=HOME_COLOURS, colours_per_product=(2, 3, 4), care=HOME_CARE[2:], grams=650),
    Range("HLV", "home", "Living", 24,
          ("Bouclé", "Velvet", "Wool", "Chunky Knit", "Herringbone", "Embroidered", "Linen"),
          ("Cushion", "Throw", "Footstool", "Pouffe"),
          (HOUSE, PENNINE), (15, 99), "Soft furnishings that make a room feel finished.",
          ("Feather-filled pad included.", "Zip closure, removable cover.", "Woven in Yorkshire."),
          colours=HOME_COLOURS, colours_per_product=(2, 3, 4), care=HOME_CARE[:1], grams=1200),
    Range("HCN", "home", "Candles & Fragrance", 12,
          ("Fig & Cedar", "Sea Salt", "Wild Mint", "Amber & Oud", "English Pear", "Fresh Linen"),
          ("Scented Candle", "Reed Diffuser", "Room Spray"),
          (HOUSE,), (9, 35), "Fragrance for the home, blended in England.",
          ("Natural soy wax with a cotton wick.", "Up to 40 hours' burn time.", "Vegan and cruelty free."),
          sizes=CANDLE_SIZES, care=("Never leave a burning candle unattended.",), grams=450),
]

EAN_PREFIX = "5069421"  # UK GS1 range ("50"); seven digits, leaving five for the item reference
CHANNELS = (Channel.WEB, Channel.MOBILE, Channel.TILL)
ONLINE_DISCOUNT_SHARE = 0.08
STORE_RANGE_SHARE = 0.6
SAFETY_STOCK_SHARE = 0.1


def ean13(first_twelve: str) -> str:
    """The twelve digits followed by their GS1 check digit."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first_twelve))
    return first_twelve + str((10 - total % 10) % 10)


@dataclass
class Catalog:
    """Everything the loader writes, generated in memory from the seed before touching the database."""

    products: list[Product]
    category_of: dict[str, str]  # product slug -> category slug
    variants: list[Variant]
    product_of: dict[str, str]  # sku -> product slug
    prices: dict[str, dict[str, Decimal]]  # sku -> channel code -> amount


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low, high - 1)) + rng.choice((Decimal("0.00"), Decimal("0.50"), Decimal("0.99")))


def build_catalog() -> Catalog:
    rng = random.Random(SEED)
    catalog = Catalog([], {}, [], {}, {})
    for r in RANGES:
        names = rng.sample([f"{style} {kind}" for style in r.styles for kind in r.kinds], r.count)
        for number, name in enumerate(names, start=1):
            stem = f"{r.code}-{number:04d}"
            brand = rng.choice(r.brands)
            details = " ".join(rng.sample(r.details, 2))
            product = Product(
                name=name, slug=slugify(f"{name} {stem}"), brand=brand,
                description=f"{r.blurb} {details} {rng.choice(r.care)}", tax_class=r.tax_class,
            )
            catalog.products.append(product)
            catalog.category_of[product.slug] = r.slug
            base = _price(rng, *r.price)
            online = base
            if rng.random() < ONLINE_DISCOUNT_SHARE:
                online = Decimal(int(base * Decimal("0.8"))) - Decimal("0.01")
            colours = rng.sample(r.colours, rng.choice(r.colours_per_product)) if r.colours else [None]
            for colour in colours:
                for step, size in enumerate(r.sizes or [None]):
                    options, parts = {}, [stem]
                    if colour:
                        options["colour"] = colour
                        parts.append(COLOURS[colour])
                    if size:
                        options["size"] = size[0]
                        parts.append(size[1])
                    sku = "-".join(parts)
                    barcode = ean13(f"{EAN_PREFIX}{len(catalog.variants) + 1:05d}")
                    grams = r.grams + r.grams * step // 10
                    catalog.variants.append(Variant(sku=sku, barcode=barcode, options=options, weight_grams=grams))
                    catalog.product_of[sku] = product.slug
                    catalog.prices[sku] = {Channel.WEB: online, Channel.MOBILE: online, Channel.TILL: base}
    return catalog


# Writing ------------------------------------------------------------------------------------


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
                },
            )
            locations.append(location)
    return locations


def upsert_categories() -> dict[str, Category]:
    by_slug = {}
    for slug, name in TOP_CATEGORIES:
        by_slug[slug], _ = Category.objects.get_or_create(slug=slug, defaults={"name": name})
    for r in RANGES:
        by_slug[r.slug], _ = Category.objects.get_or_create(
            slug=r.slug, defaults={"name": r.name, "parent": by_slug[r.parent]}
        )
    return by_slug


def upsert_products(catalog: Catalog, categories: dict[str, Category]) -> dict[str, int]:
    """Create the missing products (by slug); return product ids by slug."""
    slugs = [p.slug for p in catalog.products]
    existing = set(Product.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    missing = [p for p in catalog.products if p.slug not in existing]
    for product in missing:
        product.category = categories[catalog.category_of[product.slug]]
    Product.objects.bulk_create(missing)
    return dict(Product.objects.filter(slug__in=slugs).values_list("slug", "pk"))


def upsert_variants(catalog: Catalog, product_ids: dict[str, int]) -> dict[str, Variant]:
    """Create the missing variants (by SKU); return every demo variant by SKU."""
    skus = [v.sku for v in catalog.variants]
    existing = set(Variant.objects.filter(sku__in=skus).values_list("sku", flat=True))
    missing = [v for v in catalog.variants if v.sku not in existing]
    for variant in missing:
        variant.product_id = product_ids[catalog.product_of[variant.sku]]
    Variant.objects.bulk_create(missing)
    return {v.sku: v for v in Variant.objects.filter(sku__in=skus).only("pk", "sku")}


def upsert_prices(catalog: Catalog, variants: dict[str, Variant]) -> None:
    """Give every demo variant a price on each channel unless it already has one there."""
    channels = {c.code: c for c in Channel.objects.filter(code__in=CHANNELS)}
    priced = set(
        Price.objects.filter(variant__in=variants.values(), channel__in=channels.values())
        .values_list("variant_id", "channel_id")
    )
    Price.objects.bulk_create(
        Price(variant=variant, channel=channels[code], amount=amount, currency="GBP")
        for sku, variant in variants.items()
        for code, amount in catalog.prices[sku].items()
        if (variant.pk, channels[code].pk) not in priced
    )


def stock_location(location: Location, variants: list[Variant]) -> None:
    """Receive the location's opening stock once (by idempotency key) and set its safety stock with it."""
    rng = random.Random(f"{SEED}:{location.code}")
    lines, safety = [], []
    for variant in variants:
        if location.kind == Location.Kind.WAREHOUSE:
            lines.append(StockLine(location, variant, rng.randint(20, 240)))
        elif rng.random() < STORE_RANGE_SHARE:
            quantity = rng.randint(0, 12)
            if quantity:
                lines.append(StockLine(location, variant, quantity))
                if rng.random() < SAFETY_STOCK_SHARE:
                    safety.append(variant)
    key = f"demo:receipt:{location.code}"
    with transaction.atomic():
        already_received = StockMovement.objects.filter(idempotency_key=key).exists()
        stock_receive_many(lines=lines, reference="demo", idempotency_key=key)
        if not already_received:
            for variant in safety:
                stock_set_safety_stock(location=location, variant=variant, quantity=1)


class Command(BaseCommand):
    help = (
        "Load a demo UK clothing and homeware retailer: stores, warehouses, catalog, prices and stock. "
        "Deterministic and safe to run twice."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        progress = tqdm(
            total=4 + len(STORES) + len(WAREHOUSES), unit="step", file=options.get("stderr") or sys.stderr,
            disable=options["verbosity"] < 1, bar_format="{desc:<28}{bar}| {n_fmt}/{total_fmt} [{elapsed}]",
        )
        with progress:
            progress.set_description("stores and warehouses")
            with transaction.atomic():
                locations = upsert_locations()
            progress.update()

            progress.set_description("categories")
            with transaction.atomic():
                categories = upsert_categories()
            progress.update()

            progress.set_description("products and variants")
            catalog = build_catalog()
            with transaction.atomic():
                variants = upsert_variants(catalog, upsert_products(catalog, categories))
            progress.update()

            progress.set_description("prices")
            with transaction.atomic():
                upsert_prices(catalog, variants)
            progress.update()

            in_catalog_order = [variants[v.sku] for v in catalog.variants]
            for location in locations:
                progress.set_description(f"stock {location.code}")
                stock_location(location, in_catalog_order)
                progress.update()

        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(self._summary(time.monotonic() - started)))

    def _summary(self, seconds: float) -> str:
        stores = Location.objects.stores().count()
        warehouses = Location.objects.filter(kind=Location.Kind.WAREHOUSE).count()
        units = StockLevel.objects.aggregate(units=Sum("on_hand"))["units"] or 0
        return (
            f"Demo data in place: {stores} stores, {warehouses} warehouses, {Product.objects.count():,} products, "
            f"{Variant.objects.count():,} variants, {StockLevel.objects.count():,} stock rows, "
            f"{units:,} units on hand ({seconds:.1f} s)."
        )
