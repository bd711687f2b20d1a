"""What the demo retailer sells: one plan per leaf category (how many products, their names, brands,
sizes, colours, prices, weights and VAT class). Plain data; demo.catalog turns it into records."""
from dataclasses import dataclass

from django.utils.text import slugify

from catalog.models import TaxClass

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
class CategoryPlan:
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


CATEGORY_PLANS = [
    CategoryPlan("WTP", "women", "Tops", 24,
          ("Organic Cotton", "Linen Blend", "Relaxed", "Fitted", "Striped", "Cropped", "Oversized", "Textured"),
          ("Crew Neck T-Shirt", "V-Neck T-Shirt", "Long Sleeve Top", "Blouse", "Shirt", "Vest Top", "Wrap Top"),
          (HOUSE, ESSENTIALS), (12, 39), "An easy everyday top that works on its own or under a jacket.",
          ("Soft, breathable fabric that keeps its shape wash after wash.", "True to size; size down for a closer fit.",
           "Dropped shoulders and a straight hem.", "Made with responsibly sourced cotton."),
          sizes=WOMENS_LETTERS, colours=WOMENS_COLOURS, grams=200),
    CategoryPlan("WDR", "women", "Dresses", 18,
          ("Linen", "Jersey", "Floral Print", "Tiered", "Satin", "Broderie", "Pleated", "Spot Print"),
          ("Midi Dress", "Maxi Dress", "Shirt Dress", "Slip Dress", "Wrap Dress", "Smock Dress"),
          (HOUSE,), (29, 89), "A dress that goes from the office to the weekend.",
          ("Fully lined with hidden side pockets.", "Adjustable tie waist for a shaped fit.",
           "Falls to mid-calf on a 5'7\" frame.", "Lightweight and easy to pack."),
          sizes=WOMENS_NUMERIC, colours=WOMENS_COLOURS, colours_per_product=(2, 2, 3), grams=350),
    CategoryPlan("WKN", "women", "Knitwear", 14,
          ("Merino", "Cashmere Blend", "Cable Knit", "Chunky", "Ribbed", "Lambswool"),
          ("Crew Neck Jumper", "V-Neck Jumper", "Cardigan", "Roll Neck Jumper", "Tank"),
          (HOUSE, NORDVIK, PENNINE), (29, 99), "A warm knit for layering through the colder months.",
          ("Spun from soft, non-itchy yarn.", "Relaxed fit with ribbed cuffs and hem.",
           "Knitted in a family-run mill.", "Naturally temperature-regulating wool."),
          sizes=WOMENS_LETTERS, colours=WOMENS_COLOURS, care=("Cool hand wash or dry clean.",), grams=450),
    CategoryPlan("WJN", "women", "Jeans", 8,
          ("Straight Leg", "Wide Leg", "Slim", "Barrel Leg", "Mom", "Bootcut", "Skinny", "Cropped Flare"), ("Jeans",),
          (ASHBY, HOUSE), (29, 69), "Denim cut to sit right and move with you.",
          ("Rigid cotton that softens with wear.", "A touch of stretch for all-day comfort.",
           "Inside leg 30\" on every size.", "Made with recycled cotton."),
          sizes=WOMENS_NUMERIC, colours=DENIM_COLOURS, colours_per_product=(2, 2, 3), grams=650),
    CategoryPlan("WTR", "women", "Trousers", 10,
          ("Wide Leg", "Slim", "Straight Leg", "Cropped", "High Rise", "Pleated"),
          ("Chinos", "Tailored Trousers", "Linen Trousers", "Cargo Trousers"),
          (HOUSE,), (25, 59), "Trousers that look sharp and feel like joggers.",
          ("Belt loops and deep front pockets.", "Elasticated back waist.", "Pressed front crease.",
           "Inside leg 30\" on every size."),
          sizes=WOMENS_NUMERIC, colours=("Stone", "Khaki", "Navy", "Black", "Camel", "Olive", "Ecru"),
          colours_per_product=(2, 2, 3), grams=500),
    CategoryPlan("WCT", "women", "Coats & Jackets", 10,
          ("Wool Blend", "Quilted", "Waxed", "Longline", "Borg-Lined", "Showerproof"),
          ("Coat", "Jacket", "Trench Coat", "Gilet", "Parka"),
          (HOUSE, SALTMARSH), (59, 120), "Outerwear built for the British weather.",
          ("Water-repellent finish.", "Two-way zip and press-stud storm flap.", "Warm but light enough to layer.",
           "Recycled polyester padding."),
          sizes=WOMENS_LETTERS, colours=("Navy", "Black", "Camel", "Khaki", "Olive", "Stone", "Chocolate"),
          colours_per_product=(2, 2, 3), grams=1200),
    CategoryPlan("MSH", "men", "Shirts", 16,
          ("Oxford", "Linen", "Brushed Cotton", "Poplin", "Chambray", "Flannel Check"),
          ("Shirt", "Overshirt", "Short Sleeve Shirt", "Button-Down Shirt"),
          (HOUSE, ESSENTIALS), (22, 55), "A smart-casual shirt that looks right with or without a tie.",
          ("Regular fit with a curved hem.", "Easy-iron finish.", "Mother-of-pearl effect buttons.",
           "Garment-washed for a lived-in feel."),
          sizes=MENS_LETTERS, colours=MENS_COLOURS, grams=300),
    CategoryPlan("MTS", "men", "T-Shirts & Polos", 16,
          ("Heavyweight", "Organic Cotton", "Pique", "Striped", "Pocket", "Slub"),
          ("T-Shirt", "Polo Shirt", "Long Sleeve T-Shirt", "Henley"),
          (ESSENTIALS, HOUSE), (10, 29), "An everyday staple that earns its place in the drawer.",
          ("Pre-shrunk so the fit stays true.", "Ribbed collar that keeps its shape.",
           "Made with organic cotton.", "Slightly longer in the back."),
          sizes=MENS_LETTERS, colours=MENS_COLOURS, grams=220),
    CategoryPlan("MKN", "men", "Knitwear", 12,
          ("Merino", "Lambswool", "Cotton", "Fisherman", "Donegal", "Shetland"),
          ("Crew Neck Jumper", "V-Neck Jumper", "Cardigan", "Roll Neck Jumper"),
          (HOUSE, NORDVIK, PENNINE), (29, 99), "A knit for cold mornings and long walks.",
          ("Fully fashioned shoulders.", "Soft enough to wear next to the skin.", "Knitted in a family-run mill.",
           "Classic fit with ribbed trims."),
          sizes=MENS_LETTERS, colours=MENS_COLOURS, care=("Cool hand wash or dry clean.",), grams=500),
    CategoryPlan("MJN", "men", "Jeans", 6,
          ("Slim", "Straight", "Relaxed", "Tapered", "Loose", "Bootcut"), ("Jeans",),
          (ASHBY, HOUSE), (29, 69), "Denim cut for real life: sitting, cycling, standing at the bar.",
          ("Rigid cotton that softens with wear.", "A touch of stretch for all-day comfort.",
           "Regular leg length 32\".", "Reinforced pocket bags."),
          sizes=MENS_WAIST, colours=DENIM_COLOURS, colours_per_product=(2, 2, 3), grams=700),
    CategoryPlan("MTR", "men", "Trousers", 8,
          ("Slim", "Straight", "Relaxed", "Tapered", "Stretch"),
          ("Chinos", "Cord Trousers", "Cargo Trousers", "Tailored Trousers"),
          (HOUSE,), (25, 59), "Trousers that work at the desk and at the pub.",
          ("Belt loops and a hidden coin pocket.", "A touch of stretch for all-day comfort.",
           "Regular leg length 32\".", "Garment-dyed for a soft handle."),
          sizes=MENS_WAIST, colours=("Stone", "Navy", "Olive", "Khaki", "Charcoal", "Chocolate"),
          colours_per_product=(2, 2, 3), grams=550),
    CategoryPlan("MCT", "men", "Coats & Jackets", 8,
          ("Wool Blend", "Quilted", "Waxed", "Harrington", "Padded", "Showerproof"),
          ("Coat", "Jacket", "Overcoat", "Gilet", "Parka"),
          (HOUSE, SALTMARSH), (59, 120), "Outerwear built for the British weather.",
          ("Water-repellent finish.", "Inside zip pocket for your phone.", "Warm but light enough to layer.",
           "Recycled polyester padding."),
          sizes=MENS_LETTERS, colours=("Navy", "Black", "Camel", "Khaki", "Olive", "Charcoal"),
          colours_per_product=(2, 2, 3), grams=1400),
    CategoryPlan("KGL", "kids", "Girls", 10,
          ("Frill", "Floral", "Rainbow", "Striped", "Heart Print"),
          ("Dress", "T-Shirt", "Leggings", "Pinafore", "Hoodie"),
          (KIDS_BRAND,), (8, 24), "Made for playgrounds, puddles and parties.",
          ("Soft cotton that stands up to the wash.", "Easy to put on without help.",
           "Room to grow with adjustable waist."),
          sizes=KIDS_AGES, colours=KIDS_COLOURS, grams=150, tax_class=TaxClass.ZERO),
    CategoryPlan("KBY", "kids", "Boys", 10,
          ("Dinosaur", "Striped", "Jersey", "Space Print", "Camo Print"),
          ("T-Shirt", "Joggers", "Hoodie", "Shorts", "Shirt"),
          (KIDS_BRAND,), (8, 24), "Made for climbing, kicking and running about.",
          ("Reinforced knees.", "Soft cotton that stands up to the wash.", "Room to grow with adjustable waist."),
          sizes=KIDS_AGES, colours=KIDS_COLOURS, grams=150, tax_class=TaxClass.ZERO),
    CategoryPlan("KBB", "kids", "Baby", 10,
          ("Organic Cotton", "Ribbed", "Bunny", "Spot Print", "Knitted"),
          ("Sleepsuit", "Bodysuit", "Dungarees", "Cardigan", "Romper"),
          (KIDS_BRAND,), (8, 20), "Gentle on new skin and quick to change.",
          ("Popper fastenings all the way down.", "Organic cotton, no scratchy labels.", "Fold-over mitten cuffs."),
          sizes=BABY_AGES, colours=("White", "Cream", "Sage", "Lilac", "Sky Blue", "Yellow"),
          colours_per_product=(2, 2, 3), grams=90, tax_class=TaxClass.ZERO),
    CategoryPlan("ASH", "accessories", "Scarves & Hats", 20,
          ("Lambswool", "Cable Knit", "Check", "Ribbed", "Cashmere Blend", "Fleece-Lined"),
          ("Scarf", "Beanie", "Gloves", "Bucket Hat", "Snood"),
          (HOUSE, NORDVIK, PENNINE), (12, 39), "The finishing touch for cold, bright days.",
          ("One size fits most.", "Brushed for extra softness.", "Gift-boxed on request in store."),
          colours=WOMENS_COLOURS + ("Charcoal", "Grey Marl"), colours_per_product=(2, 3, 3, 4),
          care=("Cool hand wash.",), grams=150),
    CategoryPlan("ABG", "accessories", "Bags", 16,
          ("Leather", "Canvas", "Recycled Nylon", "Suede", "Woven"),
          ("Tote Bag", "Crossbody Bag", "Backpack", "Weekender", "Purse"),
          (HOUSE, SALTMARSH), (19, 89), "A bag that carries a day's worth and then some.",
          ("Interior zip pocket and key clip.", "Adjustable strap.", "Water-resistant base.",
           "Fits a 13\" laptop."),
          colours=("Black", "Chocolate", "Camel", "Navy", "Olive", "Stone"), colours_per_product=(2, 3),
          care=("Wipe clean with a damp cloth.",), grams=700),
    CategoryPlan("HBD", "home", "Bedding", 24,
          ("Washed Linen", "Percale", "Brushed Cotton", "Seersucker", "Sateen", "Waffle", "Striped", "Jacquard"),
          ("Duvet Cover Set", "Fitted Sheet", "Flat Sheet", "Bedspread", "Pillowcase Pair"),
          (HOUSE, FERNHILL), (25, 110), "Bedding that gets softer every time you wash it.",
          ("400 thread count cotton.", "Envelope-style pillowcases.", "Deep fitted sheets for mattresses up to 35cm.",
           "OEKO-TEX certified."),
          sizes=BED_SIZES, care=HOME_CARE[:1], grams=1500),
    CategoryPlan("HBT", "home", "Bath", 20,
          ("Egyptian Cotton", "Waffle", "Ribbed", "Turkish Cotton", "Quick-Dry"),
          ("Hand Towel", "Bath Towel", "Bath Sheet", "Bath Mat", "Robe"),
          (HOUSE, FERNHILL), (8, 45), "Thick, absorbent towels with a hotel feel.",
          ("650gsm loops.", "Hanging loop on every towel.", "Gets fluffier with every wash."),
          colours=HOME_COLOURS, colours_per_product=(2, 3, 4), care=HOME_CARE[:1], grams=600),
    CategoryPlan("HKT", "home", "Kitchen", 24,
          ("Stoneware", "Enamel", "Glass", "Speckled", "Ceramic", "Recycled Glass"),
          ("Mug", "Teapot", "Storage Jar", "Mixing Bowl", "Utensil Pot", "Butter Dish"),
          (HOUSE, COPPERLEAF), (8, 40), "Kitchen pieces for everyday cooking and baking.",
          ("Hand-glazed, so every piece is slightly different.", "Stacks neatly in the cupboard.",
           "Airtight bamboo lid."),
          colours=HOME_COLOURS, colours_per_product=(2, 3, 4), care=HOME_CARE[2:], grams=800),
    CategoryPlan("HCK", "home", "Cookware", 12,
          ("Cast Iron", "Stainless Steel", "Non-Stick", "Copper-Base", "Carbon Steel"),
          ("Frying Pan", "Saucepan", "Sauté Pan", "Casserole Dish"),
          (COPPERLEAF,), (29, 99), "Pans that heat evenly and last for years.",
          ("Suitable for all hobs, including induction.", "Oven safe to 220°C.", "Lifetime guarantee."),
          sizes=PAN_SIZES, care=("Hand wash and dry straight away.",), grams=2200),
    CategoryPlan("HDN", "home", "Dining", 20,
          ("Stoneware", "Porcelain", "Reactive Glaze", "Speckled", "Hand-Painted"),
          ("Dinner Plate", "Side Plate", "Pasta Bowl", "Cereal Bowl", "Serving Platter", "Jug"),
          (HOUSE, COPPERLEAF), (8, 45), "For long lunches and weeknight suppers alike.",
          ("Sold individually so you can mix and match.", "Chip-resistant glaze.", "Made in Stoke-on-Trent."),
          colours=HOME_COLOURS, colours_per_product=(2, 3, 4), care=HOME_CARE[2:], grams=650),
    CategoryPlan("HLV", "home", "Living", 24,
          ("Bouclé", "Velvet", "Wool", "Chunky Knit", "Herringbone", "Embroidered", "Linen"),
          ("Cushion", "Throw", "Footstool", "Pouffe"),
          (HOUSE, PENNINE), (15, 99), "Soft furnishings that make a room feel finished.",
          ("Feather-filled pad included.", "Zip closure, removable cover.", "Woven in Yorkshire."),
          colours=HOME_COLOURS, colours_per_product=(2, 3, 4), care=HOME_CARE[:1], grams=1200),
    CategoryPlan("HCN", "home", "Candles & Fragrance", 12,
          ("Fig & Cedar", "Sea Salt", "Wild Mint", "Amber & Oud", "English Pear", "Fresh Linen"),
          ("Scented Candle", "Reed Diffuser", "Room Spray"),
          (HOUSE,), (9, 35), "Fragrance for the home, blended in England.",
          ("Natural soy wax with a cotton wick.", "Up to 40 hours' burn time.", "Vegan and cruelty free."),
          sizes=CANDLE_SIZES, care=("Never leave a burning candle unattended.",), grams=450),
]
