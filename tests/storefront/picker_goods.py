"""The goods the variant picker's tests choose from: a jumper in two colours whose SKUs sort the sizes as text
(L, M, S, XL…), Navy not made in XS or XXL, and Navy's stock telling every story the page says in words; and
trousers in numeric sizes (SKUs sort them 10, 12, 14, 16, 8)."""
from catalog.models import Channel
from inventory import services as stock
from tests.factories import CategoryFactory, LocationFactory, PriceFactory, ProductFactory, VariantFactory

JUMPER_SIZES = ["XS", "S", "M", "L", "XL", "XXL"]
NAVY_SIZES = ["S", "M", "L", "XL"]
# Stores that sell in person and ship no orders: their stock is not online, only "in stock at 4 stores".
SHOPS_ONLY = (("LDS-BRG", "Leeds Briggate", 53.797, -1.542), ("YRK-CNY", "York Coney Street", 53.959, -1.083),
              ("BTH-SOU", "Bath SouthGate", 51.378, -2.359), ("BRS-CAB", "Bristol Cabot Circus", 51.458, -2.585))


def stock_the_picker_shop(*, warehouse) -> dict:
    """Fisherman Jumper: Burgundy (£49.00) in XS–XXL, 10 each at the warehouse; Navy (£54.99) in S–XL: S 20 at
    the warehouse ("In stock"), M 3 ("Only 3 left"), L none online but 1 in each of 4 stores that do not ship
    ("Out of stock online — in stock at 4 stores"), XL none anywhere ("Out of stock"). Wide Leg Trousers in
    8–16 (£35.00), 10 each at the warehouse. Returns the variants by SKU."""
    knitwear = CategoryFactory(name="Knitwear", slug="knitwear")
    jumper = ProductFactory(name="Fisherman Jumper", slug="fisherman-jumper", brand="Pennine Wool Co.",
                            category=knitwear, description="Chunky cable knit in soft wool.")
    trousers = ProductFactory(name="Wide Leg Trousers", slug="wide-leg-trousers", brand="Hearth & Thread",
                              category=CategoryFactory(name="Trousers", slug="trousers"))
    plan = [(jumper, f"FJ-BUR-{size}", {"colour": "Burgundy", "size": size}, "49.00", 10) for size in JUMPER_SIZES]
    plan += [(jumper, f"FJ-NAV-{size}", {"colour": "Navy", "size": size}, "54.99", units)
             for size, units in zip(NAVY_SIZES, (20, 3, 0, 0), strict=True)]
    plan += [(trousers, f"WLT-BLK-{size}", {"colour": "Black", "size": str(size)}, "35.00", 10)
             for size in (8, 10, 12, 14, 16)]
    variants = {}
    for product, sku, options, amount, units in plan:
        variant = variants[sku] = VariantFactory(product=product, sku=sku, options=options)
        for channel in Channel.objects.all():
            PriceFactory(variant=variant, channel=channel, amount=amount)
        if units:
            stock.stock_receive(location=warehouse, variant=variant, quantity=units)
    for code, name, latitude, longitude in SHOPS_ONLY:
        shop = LocationFactory(code=code, name=name, latitude=latitude, longitude=longitude, ships_orders=False)
        stock.stock_receive(location=shop, variant=variants["FJ-NAV-L"], quantity=1)
    return variants
