"""Demo pictures: for every product and colour, a simple drawing of the product's kind (a T-shirt, jeans, a
mug, a candle…) in that colour on a light background, attached through catalog.services like an upload.
Each (shape, colour) is drawn and encoded once and shared; a product's picture is written only where missing."""
import os
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from io import BytesIO

from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageDraw, ImageFilter

from catalog.images import picture_files_write, picture_read
from catalog.models import Product, ProductImage
from catalog.services import product_image_add

from .assortment import CATEGORY_PLANS, CategoryPlan
from .catalog import Catalog

# 640 px: the product page's main picture (32rem) and a tile's 2x picture at once, with no rendition to shrink;
# a flat drawing gains nothing from more.
SIZE = 640
SUPERSAMPLE = 2  # shapes are drawn at twice the size and shrunk, for smooth edges
BACKGROUND = (244, 243, 239)
SHADOW = (222, 220, 214)
RGB = {
    "Navy": (31, 45, 84), "Black": (34, 34, 36), "White": (250, 250, 248), "Ecru": (236, 228, 208),
    "Grey Marl": (160, 162, 164), "Charcoal": (70, 72, 76), "Oatmeal": (214, 200, 174), "Camel": (193, 154, 107),
    "Khaki": (150, 140, 96), "Olive": (107, 112, 60), "Sage": (160, 178, 150), "Forest Green": (38, 82, 56),
    "Rust": (168, 82, 45), "Burgundy": (110, 30, 46), "Pink": (236, 160, 178), "Blush": (238, 200, 194),
    "Cobalt": (30, 74, 170), "Sky Blue": (135, 186, 226), "Mustard": (216, 168, 44), "Stone": (200, 190, 170),
    "Chocolate": (92, 60, 42), "Light Wash": (150, 178, 206), "Mid Wash": (88, 118, 160), "Dark Wash": (40, 56, 90),
    "Natural": (226, 216, 196), "Cream": (244, 236, 214), "Duck Egg": (176, 210, 206), "Slate": (92, 106, 120),
    "Terracotta": (196, 104, 72), "Ochre": (204, 142, 40), "Lilac": (190, 170, 214), "Red": (196, 40, 44),
    "Yellow": (244, 206, 60),
}
# Products sold in one colour: drawn in one that suits their category.
PLAIN = {"HBD": "White", "HCK": "Charcoal", "HCN": "Cream"}
FLAME, WOOD, METAL = (240, 160, 50), (150, 110, 70), (60, 60, 64)


class Sketch:
    """A drawing in a 1000 × 1000 space: the product's body (its colour), details (a shade of it) and accents
    in colours of their own (a candle's flame, a pan's handle)."""

    def __init__(self):
        side = SIZE * SUPERSAMPLE
        self.body = Image.new("L", (side, side))
        self.detail = Image.new("L", (side, side))
        self.accents: dict[tuple, Image.Image] = {}
        self._body, self._detail = ImageDraw.Draw(self.body), ImageDraw.Draw(self.detail)

    @staticmethod
    def _at(points) -> list[tuple[float, float]]:
        k = SIZE * SUPERSAMPLE / 1000
        return [(x * k, y * k) for x, y in points]

    def _box(self, box) -> list[float]:
        return [v for point in self._at([box[:2], box[2:]]) for v in point]

    def shape(self, *points, hole: bool = False) -> None:
        """A filled polygon (a hole cuts through the body) with its outline among the details."""
        at = self._at(points)
        self._body.polygon(at, fill=0 if hole else 255)
        self._detail.line([*at, at[0]], fill=255, width=5, joint="curve")

    def oval(self, box, hole: bool = False) -> None:
        self._body.ellipse(self._box(box), fill=0 if hole else 255)
        self._detail.ellipse(self._box(box), outline=255, width=5)

    def block(self, box, radius: int = 0) -> None:
        self._body.rounded_rectangle(self._box(box), radius=radius * SIZE * SUPERSAMPLE / 1000, fill=255)
        self._detail.rounded_rectangle(self._box(box), radius=radius * SIZE * SUPERSAMPLE / 1000, outline=255,
                                       width=5)

    def line(self, *points, width: int = 5) -> None:
        self._detail.line(self._at(points), fill=255, width=width * SUPERSAMPLE, joint="curve")

    def dot(self, x: float, y: float, r: float = 9) -> None:
        self._detail.ellipse(self._box((x - r, y - r, x + r, y + r)), fill=255)

    def accent(self, colour: tuple, draw: Callable[[ImageDraw.ImageDraw, Callable], None]) -> None:
        mask = self.accents.setdefault(colour, Image.new("L", self.body.size))
        draw(ImageDraw.Draw(mask), self._at)


# Shapes ----------------------------------------------------------------------------------------------------

def _top(s: Sketch, *, sleeves: str = "short", hem: int = 840, neck: str = "crew", collar: bool = False,
         placket: bool = False, ribs: bool = False, hood: bool = False, roll: bool = False, opening: bool = False,
         belt: bool = False) -> None:
    if sleeves == "short":
        s.shape((335, 205), (165, 320), (225, 440), (330, 375))
        s.shape((665, 205), (835, 320), (775, 440), (670, 375))
    elif sleeves == "long":
        s.shape((335, 205), (225, 300), (150, 760), (245, 775), (330, 420))
        s.shape((665, 205), (775, 300), (850, 760), (755, 775), (670, 420))
        if ribs:
            s.line((155, 725), (250, 740))
            s.line((845, 725), (750, 740))
    if hood:
        s.oval((375, 80, 625, 300))
    dip = 330 if neck == "v" else 232
    s.shape((405, 168), (335, 205), (322, hem), (678, hem), (665, 205), (595, 168), (555, 215 if neck != "v" else 260),
            (500, dip), (445, 215 if neck != "v" else 260))
    if roll:
        s.block((420, 110, 580, 225), radius=30)
        for x in (460, 500, 540):
            s.line((x, 120), (x, 215), width=3)
    if collar:
        s.shape((405, 168), (500, 238), (455, 300), (380, 215))
        s.shape((595, 168), (500, 238), (545, 300), (620, 215))
    if placket or opening:
        s.line((500, 238), (500, hem))
        for y in range(320, hem - 60, 110):
            s.dot(515, y)
    if ribs:
        s.line((325, hem - 45), (675, hem - 45))
    if belt:
        s.block((322, 520, 678, 560))


def tee(s):
    _top(s)


def shirt(s):
    _top(s, sleeves="long", collar=True, placket=True)


def polo(s):
    _top(s, collar=True)
    s.line((500, 238), (500, 360))
    for y in (275, 330):
        s.dot(515, y)


def vest(s):
    s.shape((375, 150), (425, 150), (450, 270), (550, 270), (575, 150), (625, 150), (660, 340), (680, 840),
            (320, 840), (340, 340))


def jumper(s):
    _top(s, sleeves="long", ribs=True)


def vneck(s):
    _top(s, sleeves="long", ribs=True, neck="v")


def rollneck(s):
    _top(s, sleeves="long", ribs=True, roll=True)


def cardigan(s):
    _top(s, sleeves="long", ribs=True, neck="v", opening=True)


def hoodie(s):
    _top(s, sleeves="long", ribs=True, hood=True)
    s.shape((400, 560), (600, 560), (640, 720), (360, 720))


def coat(s):
    _top(s, sleeves="long", hem=900, collar=True, opening=True)
    s.line((360, 620), (450, 620))
    s.line((640, 620), (550, 620))


def robe(s):
    _top(s, sleeves="long", hem=900, neck="v", belt=True)


def gilet(s):
    _top(s, sleeves="none", hem=820, collar=True, opening=True)


def trousers(s, *, leg: int = 880, width: int = 0):
    s.shape((330, 130), (670, 130), (700 - width, leg), (540, leg), (500, 330), (460, leg), (300 + width, leg))
    s.line((330, 180), (670, 180))
    s.line((500, 180), (500, 330))
    s.line((345, 240), (420, 190))
    s.line((655, 240), (580, 190))


def shorts(s):
    trousers(s, leg=520)


def leggings(s):
    trousers(s, width=40)


def dress(s, *, hem: int = 870, sleeves: bool = False):
    if sleeves:
        s.shape((395, 175), (300, 230), (330, 330), (400, 300))
        s.shape((605, 175), (700, 230), (670, 330), (600, 300))
    s.shape((395, 140), (440, 140), (500, 230), (560, 140), (605, 140), (615, 420), (760, hem), (240, hem),
            (385, 420))
    s.line((385, 420), (615, 420))


def maxi(s):
    dress(s, hem=930)


def shirt_dress(s):
    dress(s, sleeves=True)
    s.line((500, 230), (500, 860))


def sleepsuit(s):
    _top(s, sleeves="long", hem=560, placket=True)
    s.shape((322, 540), (678, 540), (660, 890), (530, 890), (500, 640), (470, 890), (340, 890))


def beanie(s):
    s.shape(*[(500 + 230 * c, 560 - 330 * r) for c, r in
              ((-1, 0), (-.98, .3), (-.9, .55), (-.72, .78), (-.45, .93), (0, 1), (.45, .93), (.72, .78), (.9, .55),
               (.98, .3), (1, 0))])
    s.block((255, 540, 745, 680), radius=20)
    for x in range(300, 720, 45):
        s.line((x, 550), (x, 670), width=3)
    s.oval((440, 150, 560, 260))


def bucket_hat(s):
    s.oval((170, 520, 830, 680))
    s.shape((330, 600), (370, 330), (630, 330), (670, 600))
    s.line((345, 520), (655, 520))


def scarf(s):
    s.shape((380, 120), (560, 120), (540, 880), (400, 880))
    s.shape((470, 230), (620, 200), (700, 760), (580, 790))
    for x in range(410, 540, 25):
        s.line((x, 880), (x, 930), width=4)
    for x in range(590, 700, 25):
        s.line((x, 780), (x + 6, 830), width=4)


def gloves(s):
    for dx in (0, 270):
        s.block((220 + dx, 420, 430 + dx, 760), radius=40)
        for i, x in enumerate((225, 278, 331, 384)):
            s.block((x + dx, 230 + 25 * abs(i - 1.5), x + 46 + dx, 470), radius=22)
        s.shape((220 + dx, 520), (160 + dx, 420), (180 + dx, 390), (250 + dx, 470))
        s.line((220 + dx, 700), (430 + dx, 700))


def tote(s):
    s.oval((340, 170, 490, 470))
    s.oval((370, 200, 460, 440), hole=True)
    s.oval((510, 170, 660, 470))
    s.oval((540, 200, 630, 440), hole=True)
    s.shape((250, 400), (750, 400), (720, 870), (280, 870))


def crossbody(s):
    s.line((300, 160), (330, 560), width=8)
    s.line((700, 160), (670, 560), width=8)
    s.line((300, 160), (700, 160), width=8)
    s.block((300, 520, 700, 820), radius=40)
    s.shape((300, 560), (700, 560), (660, 680), (340, 680))
    s.dot(500, 690, 14)


def backpack(s):
    s.block((300, 230, 700, 880), radius=110)
    s.block((360, 560, 640, 800), radius=40)
    s.oval((440, 150, 560, 270))
    s.oval((465, 175, 535, 245), hole=True)
    s.line((360, 630), (640, 630))


def weekender(s):
    s.block((160, 440, 840, 800), radius=120)
    s.oval((360, 300, 640, 520))
    s.oval((400, 340, 600, 520), hole=True)
    s.line((200, 540), (800, 540))


def purse(s):
    s.block((260, 380, 740, 700), radius=50)
    s.shape((260, 420), (740, 420), (500, 590))
    s.dot(500, 560, 16)


def folded(s, *, layers: int = 3, pillow: bool = False):
    top = 700 - 120 * layers
    for i in range(layers):
        y = top + 120 * i
        s.block((220 - 10 * i, y, 780 + 10 * i, y + 150), radius=40)
        s.line((260, y + 100), (740, y + 100), width=3)
    if pillow:
        s.block((290, top - 210, 710, top + 20), radius=80)


def duvet_set(s):
    folded(s, pillow=True)


def pillowcases(s):
    s.block((200, 330, 800, 620), radius=100)
    s.block((240, 430, 760, 720), radius=100)


def bath_mat(s):
    s.shape((160, 760), (300, 420), (840, 420), (700, 760))
    for x in range(220, 740, 60):
        s.line((x + 60, 440), (x, 740), width=3)


def mug(s):
    s.oval((590, 430, 790, 690))
    s.oval((630, 475, 750, 645), hole=True)
    s.block((300, 340, 640, 800), radius=30)
    s.oval((300, 310, 640, 370))


def teapot(s):
    s.shape((640, 560), (800, 380), (830, 400), (700, 660))
    s.oval((160, 440, 330, 680))
    s.oval((195, 480, 300, 640), hole=True)
    s.oval((280, 380, 720, 820))
    s.oval((380, 330, 620, 420))
    s.oval((470, 280, 530, 340))


def jar(s):
    s.block((320, 380, 680, 820), radius=40)
    s.accent(WOOD, lambda d, at: d.rounded_rectangle([*at([(310, 290)])[0], *at([(690, 390)])[0]], radius=20,
                                                     fill=255))


def utensil_pot(s):
    s.accent(WOOD, lambda d, at: [d.line(at([(x, 400), (x + tilt, 140)]), fill=255, width=26)
                                  for x, tilt in ((430, -60), (500, 0), (570, 60))])
    s.block((340, 400, 660, 820), radius=30)


def butter_dish(s):
    s.block((220, 640, 780, 720), radius=20)
    s.shape((280, 650), (300, 480), (700, 480), (720, 650))
    s.oval((470, 440, 530, 500))


def bowl(s, *, top: int = 440, depth: int = 330):
    s.shape(*[(500 + 320 * c, top + depth * (1 - c * c) ** .5) for c in [i / 10 for i in range(-10, 11)]])
    s.oval((180, top - 40, 820, top + 40))


def pasta_bowl(s):
    bowl(s, top=500, depth=200)


def plate(s, *, wide: int = 340):
    s.oval((500 - wide, 420, 500 + wide, 700))
    s.oval((500 - wide + 90, 470, 500 + wide - 90, 650))


def platter(s):
    plate(s, wide=400)


def jug(s):
    s.oval((580, 380, 760, 680))
    s.oval((620, 420, 720, 640), hole=True)
    s.shape((330, 300), (600, 300), (640, 820), (300, 820), (320, 420), (260, 330))


def frying_pan(s):
    s.accent(METAL, lambda d, at: d.line(at([(640, 560), (930, 420)]), fill=255, width=46))
    s.oval((120, 430, 680, 780))
    s.oval((170, 470, 630, 730))


def saucepan(s):
    s.accent(METAL, lambda d, at: d.line(at([(650, 470), (930, 380)]), fill=255, width=40))
    s.block((250, 420, 670, 780), radius=30)
    s.oval((250, 390, 670, 450))


def casserole(s):
    s.block((170, 520, 270, 570), radius=20)
    s.block((730, 520, 830, 570), radius=20)
    s.block((230, 460, 770, 800), radius=50)
    s.shape((230, 470), (260, 390), (740, 390), (770, 470))
    s.oval((460, 330, 540, 400))


def cushion(s):
    s.shape((220, 220), (500, 250), (780, 220), (750, 500), (780, 780), (500, 750), (220, 780), (250, 500))
    s.line((250, 500), (750, 500), width=2)


def pouffe(s):
    s.block((250, 420, 750, 800), radius=60)
    s.oval((250, 360, 750, 480))
    for x in range(300, 720, 60):
        s.line((x, 480), (x, 790), width=3)


def footstool(s):
    s.accent(WOOD, lambda d, at: [d.rectangle([*at([(x, 640)])[0], *at([(x + 40, 840)])[0]], fill=255)
                                  for x in (250, 710)])
    s.block((200, 440, 800, 660), radius=60)


def candle(s):
    s.accent(FLAME, lambda d, at: d.ellipse([*at([(475, 230)])[0], *at([(525, 330)])[0]], fill=255))
    s.accent(METAL, lambda d, at: d.line(at([(500, 330), (500, 380)]), fill=255, width=8))
    s.block((320, 380, 680, 820), radius=40)
    s.line((320, 470), (680, 470), width=3)


def diffuser(s):
    s.accent(WOOD, lambda d, at: [d.line(at([(500, 420), (500 + dx, 120)]), fill=255, width=8)
                                  for dx in (-160, -80, 0, 80, 160)])
    s.block((340, 520, 660, 840), radius=60)
    s.block((450, 420, 550, 530), radius=10)


def spray(s):
    s.block((380, 380, 620, 840), radius=50)
    s.block((450, 300, 550, 390), radius=10)
    s.accent(METAL, lambda d, at: d.rounded_rectangle([*at([(440, 220)])[0], *at([(560, 300)])[0]], radius=16,
                                                      fill=255))


def swatch(s):
    s.block((220, 220, 780, 780), radius=60)


# The last words of a product's name say what it is; the longest match wins ("Polo Shirt" before "Shirt").
KINDS = {
    "T-Shirt": tee, "Blouse": tee, "Wrap Top": tee, "Bodysuit": tee, "Henley": polo, "Polo Shirt": polo,
    "Long Sleeve Top": jumper, "Long Sleeve T-Shirt": jumper, "Shirt": shirt, "Overshirt": shirt,
    "Short Sleeve Shirt": polo, "Vest Top": vest, "Tank": vest, "Crew Neck Jumper": jumper, "V-Neck Jumper": vneck,
    "Roll Neck Jumper": rollneck, "Cardigan": cardigan, "Hoodie": hoodie, "Coat": coat, "Jacket": coat,
    "Trench Coat": coat, "Overcoat": coat, "Parka": hoodie, "Gilet": gilet, "Robe": robe, "Jeans": trousers,
    "Chinos": trousers, "Trousers": trousers, "Joggers": trousers, "Leggings": leggings, "Shorts": shorts,
    "Dungarees": trousers, "Dress": dress, "Maxi Dress": maxi, "Shirt Dress": shirt_dress, "Pinafore": dress,
    "Romper": sleepsuit, "Sleepsuit": sleepsuit, "Beanie": beanie, "Bucket Hat": bucket_hat, "Scarf": scarf,
    "Snood": scarf, "Gloves": gloves, "Tote Bag": tote, "Crossbody Bag": crossbody, "Backpack": backpack,
    "Weekender": weekender, "Purse": purse, "Duvet Cover Set": duvet_set, "Fitted Sheet": folded,
    "Flat Sheet": folded, "Bedspread": folded, "Pillowcase Pair": pillowcases, "Hand Towel": folded,
    "Bath Towel": folded, "Bath Sheet": folded, "Bath Mat": bath_mat, "Throw": folded, "Mug": mug,
    "Teapot": teapot, "Storage Jar": jar, "Utensil Pot": utensil_pot, "Butter Dish": butter_dish,
    "Mixing Bowl": bowl, "Cereal Bowl": bowl, "Pasta Bowl": pasta_bowl, "Dinner Plate": plate, "Side Plate": plate,
    "Serving Platter": platter, "Jug": jug, "Frying Pan": frying_pan, "Saucepan": saucepan,
    "Sauté Pan": saucepan, "Casserole Dish": casserole, "Cushion": cushion, "Pouffe": pouffe,
    "Footstool": footstool, "Scented Candle": candle, "Reed Diffuser": diffuser, "Room Spray": spray,
}


def shape_of(name: str) -> Callable[[Sketch], None]:
    fits = [kind for kind in KINDS if name == kind or name.endswith(" " + kind)]
    return KINDS[max(fits, key=len)] if fits else swatch


@dataclass(frozen=True)
class Drawn:
    """A shape's layers at the picture's size, drawn once and painted in any number of colours."""

    background: Image.Image
    body: Image.Image
    detail: Image.Image
    accents: tuple[tuple[tuple, Image.Image], ...]


@cache
def _drawn(shape: Callable[[Sketch], None]) -> Drawn:
    sketch = Sketch()
    shape(sketch)

    def shrink(mask: Image.Image) -> Image.Image:
        return mask.reduce(SUPERSAMPLE)

    body = shrink(sketch.body)
    background = Image.new("RGB", (SIZE, SIZE), BACKGROUND)
    left, _, right, bottom = body.getbbox() or (SIZE // 4, 0, SIZE * 3 // 4, SIZE * 3 // 4)
    shadow = Image.new("L", (SIZE, SIZE))
    ImageDraw.Draw(shadow).ellipse((left + 20, bottom - 14, right - 20, min(SIZE - 4, bottom + 18)), fill=255)
    background.paste(SHADOW, (0, 0, SIZE, SIZE), shadow.filter(ImageFilter.GaussianBlur(10)))
    return Drawn(background, body, shrink(sketch.detail),
                 tuple((colour, shrink(mask)) for colour, mask in sketch.accents.items()))


def _shade(rgb: tuple) -> tuple:
    """Seams and outlines: darker on a light colour, lighter on a dark one."""
    light = sum(rgb) / 3 > 90
    return tuple(int(c * .72) if light else int(c + (255 - c) * .3) for c in rgb)


@cache
def _solid(rgb: tuple) -> Image.Image:
    return Image.new("RGB", (SIZE, SIZE), rgb)  # pasting an image through a mask is twice as quick as a colour


@cache
def picture_bytes(shape: Callable[[Sketch], None], colour: str) -> bytes:
    drawn = _drawn(shape)
    rgb = RGB.get(colour, RGB["Stone"])
    image = drawn.background.copy()
    image.paste(_solid(rgb), (0, 0), drawn.body)
    image.paste(_solid(_shade(rgb)), (0, 0), drawn.detail)
    for accent, mask in drawn.accents:
        image.paste(_solid(accent), (0, 0), mask)
    out = BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _files_prepare(drawings: set[tuple[Callable, str]], pool: ThreadPoolExecutor) -> None:
    """Draw pictures and make their files side by side (Pillow works outside Python's lock), so adding them
    to products afterwards only reads their headers: a shared picture is stored once (catalog.images)."""
    def prepare(drawing: tuple[Callable, str]) -> None:
        picture_files_write(picture_read(ContentFile(picture_bytes(*drawing))))

    list(pool.map(prepare, drawings))


def product_colours(catalog: Catalog) -> dict[str, list[str]]:
    """Each demo product's colours by slug, in the order its variants come ("" for a product in one colour)."""
    colours: dict[str, list[str]] = {p.slug: [] for p in catalog.products}
    for variant in catalog.variants:
        found = colours[catalog.product_of[variant.sku]]
        colour = variant.options.get("colour", "")
        if colour not in found:
            found.append(colour)
    return colours


def upsert_pictures(catalog: Catalog, *, category_done: Callable[[CategoryPlan], None] = lambda plan: None) -> int:
    """Give every demo product a picture in each of its colours unless it has one in that colour; returns how
    many were added. Calls `category_done` after each category (the loader's progress)."""
    colours = product_colours(catalog)
    products = {p.slug: p for p in Product.objects.filter(slug__in=colours).only("pk", "slug", "name")}
    pictured = {(product_id, colour.casefold()) for product_id, colour in
                ProductImage.objects.filter(product__in=products.values()).values_list("product_id", "colour")}
    slugs_of = defaultdict(list)
    for slug, category in catalog.category_of.items():
        slugs_of[category].append(slug)
    added = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for plan in CATEGORY_PLANS:
            wanted = [(products[slug], position, colour, (shape_of(products[slug].name),
                                                          colour or PLAIN.get(plan.code, "Stone")))
                      for slug in slugs_of[plan.slug] for position, colour in enumerate(colours[slug])
                      if (products[slug].pk, colour.casefold()) not in pictured]
            _files_prepare({drawing for *_, drawing in wanted}, pool)
            with transaction.atomic():
                for product, position, colour, drawing in wanted:
                    product_image_add(product=product, upload=ContentFile(picture_bytes(*drawing)),
                                      alt=f"{product.name} in {colour}" if colour else product.name, colour=colour,
                                      position=position)
            added += len(wanted)
            category_done(plan)
    return added
