"""The order a product's variant options are offered in: which options (colour first, then fit, waist, leg,
size…) and each option's values (colours as the product lists them, sizes in natural order). Pure functions."""
import re
from collections.abc import Iterable

COLOUR_NAMES = ("colour", "color")
# Options a shopper picks in this order; any other option follows them, by name.
NAME_ORDER = (*COLOUR_NAMES, "fit", "waist", "leg", "length", "size", "width")

ONE_SIZE = {"one size", "onesize", "os", "one size fits most", "one size fits all"}
SIZE_WORDS = {"extra small": -2, "small": -1, "medium": 0, "large": 1, "extra large": 2}
FITS = ("petite", "short", "slim", "regular", "relaxed", "long", "tall")  # "Slim fit" reads as "slim"
BED_SIZES = ("cot", "cot bed", "single", "small double", "double", "king", "super king", "emperor")
LEG_LENGTHS = {"xs": -1, "s": 0, "short": 0, "r": 1, "reg": 1, "regular": 1, "l": 2, "long": 2, "xl": 3}

_LETTER = re.compile(r"(\d?)(X*)([SML])")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_YEARS = re.compile(r"\d\s*(y|yrs?|years?)\b")


def option_names(variants: Iterable) -> list[str]:
    """The option names the variants use (keys of `variant.options`): known ones in NAME_ORDER, then the rest
    by name. Not the order of the stored dict: PostgreSQL's jsonb keeps keys shortest first."""
    names = {name for variant in variants for name in variant.options}
    known = [name for name in NAME_ORDER if name in names]
    return known + sorted(names - set(known))


def option_values(variants: Iterable, name: str) -> list[str]:
    """The values of one option across the variants: colours in the order the variants list them (by SKU),
    anything else (sizes, fits, waists) in natural order (size_key), unknown words in the order listed."""
    seen: dict[str, None] = {}
    for variant in variants:
        if name in variant.options:
            seen.setdefault(str(variant.options[name]), None)
    values = list(seen)
    return values if name.lower() in COLOUR_NAMES else sorted(values, key=size_key)


def _letter_rank(text: str) -> int | None:
    """XXS -3, XS -2, S -1, M 0, L 1, XL 2, XXL (2XL) 3, 3XL 4; None when it is not a letter size."""
    match = _LETTER.fullmatch(text.upper())
    if match is None:
        return None
    digit, xs, letter = match.groups()
    if letter == "M":
        return None if digit or xs else 0
    step = 1 + (int(digit) if digit else len(xs))
    return step if letter == "L" else -step


def size_key(value: str) -> tuple:
    """A sort key putting sizes in the order a shop lists them: "One size"; letters XXS…3XL (or Small,
    Medium, Large); numbers by value (6 8 10 12, shoes 4 4.5 5, 20cm 24cm, ages in months then years,
    waist/leg 30/32 or 30R by waist then leg); bed sizes Single…Super King; fits Petite, Regular, Tall;
    anything else last, in the order it came."""
    text = " ".join(str(value).split())
    low = text.lower()
    if low in ONE_SIZE:
        return (0,)
    if low in SIZE_WORDS:
        return (1, SIZE_WORDS[low])
    letters = [_letter_rank(part.strip()) for part in text.split("/")]
    if letters and None not in letters:  # "S", "XL", "S/M"
        return (1, min(letters), max(letters))
    numbers = [float(n) for n in _NUMBER.findall(low)]
    if numbers:
        if _YEARS.search(low):  # ages: 0-3M, 12-18M before 2-3Y
            numbers = [n * 12 for n in numbers]
        rest = _NUMBER.sub(" ", low).replace("/", " ").split()
        leg = min((LEG_LENGTHS[word] for word in rest if word in LEG_LENGTHS), default=1)
        return (2, tuple(numbers), leg, low)
    if low in BED_SIZES:
        return (3, BED_SIZES.index(low))
    if low.removesuffix(" fit") in FITS:
        return (4, FITS.index(low.removesuffix(" fit")))
    return (9,)
