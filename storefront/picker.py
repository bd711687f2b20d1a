"""The product page's variant picker: one choice per option (colour, size…) in the product's order, what each
value is with the other choices (on offer, out of stock everywhere, not made), the variant the choices name,
its stock in words ("Only 3 left") and what the page says about it at the shopper's store (CollectSay)."""
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.utils import dateformat

from catalog.models import Channel, Product, Variant
from catalog.options import COLOUR_NAMES, option_names, option_values
from core.money import format_money
from inventory.models import Location
from inventory.selectors import product_availability_attach, product_collection_attach, stores_stocking

FEW_LEFT = 5  # from this many units down a shopper reads "Only 3 left"; above it "In stock"
OUT_OF_STOCK = "Out of stock"
# Chips for the demo's colour names; a colour not here shows its name alone.
SWATCHES = {
    "navy": "#1f2f4d", "black": "#1b1b1b", "white": "#ffffff", "ecru": "#efe8d8", "grey marl": "#9a9ea1",
    "grey": "#8c9194", "charcoal": "#3c4043", "oatmeal": "#d8ccb4", "camel": "#c19a6b", "khaki": "#8a865d",
    "olive": "#5f6b3a", "sage": "#a3b19b", "forest green": "#2f5233", "rust": "#b7472a", "burgundy": "#6d1a2c",
    "pink": "#f2b8c6", "blush": "#efc9c0", "cobalt": "#1f4fa8", "sky blue": "#8ec5e8", "mustard": "#d6a62c",
    "stone": "#c9bfae", "chocolate": "#4e3227", "light wash": "#a7bcd6", "mid wash": "#6f8cb3",
    "dark wash": "#2f4466", "natural": "#e9e2d0", "cream": "#f4ecd6", "duck egg": "#c5dcd6", "slate": "#5f6b73",
    "terracotta": "#c8653f", "ochre": "#cc8a2e", "lilac": "#c8a8d8", "red": "#c62d2d", "yellow": "#f2d23c",
}


def day_words(day: date, today: date) -> str:
    """A collection day as a shopper in the UK says it: "today", "tomorrow", "Wednesday 2 December" (with the
    year when it is not this one)."""
    if day == today:
        return "today"
    if day == today + timedelta(days=1):
        return "tomorrow"
    return dateformat.format(day, "l j F" if day.year == today.year else "l j F Y")


def units_left(units: int) -> int | None:
    """The units to say "Only N left" of, or None when there are more than FEW_LEFT (or none)."""
    return units if 0 < units <= FEW_LEFT else None


@dataclass(frozen=True)
class CollectSay:
    """What the product page says about a variant at one store (templates/storefront/_stock_pill.html):
    `kind` "here" (in stock, collect `when`), "in_store" (in stock, the store does not offer pickup), "sent"
    (collect `when`, once sent from elsewhere) or "none" (not available to collect)."""

    kind: str
    store: Location
    units: int
    when: str = ""

    @property
    def left(self) -> int | None:
        return units_left(self.units)


def collect_say(store: Location, units: int, day: date | None, today: date) -> CollectSay:
    if day is None:
        return CollectSay("in_store" if units else "none", store, units)
    return CollectSay("here" if units else "sent", store, units, day_words(day, today))


def stock_words(*, delivery: int, stores: int) -> tuple[str, str]:
    """(words, tone) for a variant's stock online: "In stock", "Only 3 left", "Out of stock online — in stock at
    4 stores" or "Out of stock"; the tone is the pill's colour (good, warn, bad)."""
    if delivery > FEW_LEFT:
        return "In stock", "good"
    if delivery:
        return f"Only {delivery} left", "warn"
    if stores:
        return f"Out of stock online — in stock at {stores} store{'' if stores == 1 else 's'}", "warn"
    return OUT_OF_STOCK, "bad"


@dataclass
class Offer:
    """One listed variant as the page offers it: units for delivery, how many stores have it, and what the
    shopper's store says about it (None without a chosen store)."""

    variant: Variant
    delivery: int
    stores: int
    here: CollectSay | None = None

    @property
    def out(self) -> bool:
        """None anywhere: not for delivery and in no store."""
        return not self.delivery and not self.stores

    @property
    def stock(self) -> tuple[str, str]:
        return stock_words(delivery=self.delivery, stores=self.stores)

    def value(self, name: str) -> str | None:
        found = self.variant.options.get(name)
        return None if found is None else str(found)

    def matches(self, selection: Mapping[str, str]) -> bool:
        return all(self.value(name) == value for name, value in selection.items())


@dataclass(frozen=True)
class Choice:
    """One value of an option with the other options as chosen: `note` says why it cannot be had ("" when
    it can): "Out of stock" (nowhere has it) or "Not made in this colour"."""

    value: str
    checked: bool
    note: str
    swatch: str = ""
    dom_id: str = ""  # the radio's id on the page

    @property
    def unmade(self) -> bool:
        return self.note.startswith("Not made")


@dataclass(frozen=True)
class OptionChoices:
    name: str
    label: str
    unmade: str  # the note of a value not made with the other choices
    choices: list[Choice]

    @property
    def chosen(self) -> str:
        return next((c.value for c in self.choices if c.checked), "")


@dataclass(frozen=True)
class Picker:
    """The choices on the page, the offer they name (None when they name none) and, when the choices name
    a combination that is not made, what to say next to them."""

    options: list[OptionChoices]
    chosen: Offer | None
    problem: str = ""
    selection: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The chosen values in the picker's order: "Navy, M"."""
        return ", ".join(self.selection[o.name] for o in self.options if o.name in self.selection)


def offers_for(*, product: Product, channel: Channel, store: Location | None, today: date) -> list[Offer]:
    """Every listed variant of the product (from product_list) as the page offers it. Three queries (four
    with a store)."""
    variants = product_availability_attach(products=[product], channel=channel)[0].listed_variants
    offers = [Offer(v, v.available, 0) for v in variants]
    stocking = stores_stocking(variant_ids=[v.pk for v in variants], channel=channel)
    if store is not None:
        product_collection_attach(products=[product], channel=channel, store=store)
    for offer in offers:
        offer.stores = stocking.get(offer.variant.pk, 0)
        if store is not None:
            offer.here = collect_say(store, offer.variant.available, offer.variant.collect_from, today)
    return offers


def choice_query(*, product: Product, query: Mapping[str, str]) -> str:
    """The URL query of a choice the basket form sent by GET ("Show this choice" without JavaScript): its
    options and a quantity other than 1, without the form's token and stale SKU."""
    names = option_names(product.listed_variants)
    kept = {name: query[name] for name in names if name in query} or (
        {"sku": query["sku"]} if query.get("sku") else {})
    if query.get("quantity", "1") != "1":
        kept["quantity"] = query["quantity"]
    return urlencode(kept)


def _label(name: str) -> str:
    """How the page names an option: "colour" → "Colour", "inside_leg" → "Inside leg"."""
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:]


def _best(offers: list[Offer]) -> Offer | None:
    """The offer a shopper most likely gets: at their store, else delivered, else in some store, else any."""
    return (next((o for o in offers if o.here is not None and o.here.units), None)
            or next((o for o in offers if o.delivery), None) or next((o for o in offers if o.stores), None)
            or (offers[0] if offers else None))


def unmade_problem(labels: list[str]) -> str:
    words = [label.lower() for label in labels]
    if len(words) == 2:
        return f"That {words[0]} is not made in that {words[1]}. Choose another {words[0]} or {words[1]}."
    return f"Those choices are not made together. Choose another {', '.join(words[:-1])} or {words[-1]}."


def _unmade_note(names: list[str], name: str) -> str:
    others = [_label(n).lower() for n in names if n != name]
    return f"Not made in this {others[0]}" if len(others) == 1 else "Not made with these choices"


def picker_build(*, offers: list[Offer], query: Mapping[str, str], fallback: bool = True) -> Picker:
    """The picker for a query (a page's GET or the basket form's POST): the options it names (colour=Navy,
    size=L) choose the variant, any left open filled with the best offer among those that match; without
    options, ?sku= (or ?variant=) names it; with neither, the best offer when `fallback` (a page), else none
    (a POST naming no variant of this product)."""
    names = option_names(o.variant for o in offers)
    values = {name: option_values((o.variant for o in offers), name) for name in names}
    asked = {name: query[name] for name in names if query.get(name) in values[name]}
    problem = ""
    if asked:
        matching = [o for o in offers if o.matches(asked)]
        chosen = _best(matching) if len(asked) < len(names) else next(iter(matching), None)
        if chosen is None:
            problem = unmade_problem([_label(n) for n in names])
    else:
        wanted = query.get("sku") or query.get("variant")
        chosen = next((o for o in offers if o.variant.sku == wanted), None)
        if chosen is None and fallback:
            chosen = _best(offers)
    selection = asked if chosen is None else {n: chosen.value(n) for n in names if chosen.value(n) is not None}
    options = []
    for number, name in enumerate(names):
        others = {n: v for n, v in selection.items() if n != name}
        unmade = _unmade_note(names, name)
        choices = []
        for value in values[name]:
            with_it = [o for o in offers if o.value(name) == value and o.matches(others)]
            note = unmade if not with_it else OUT_OF_STOCK if all(o.out for o in with_it) else ""
            swatch = SWATCHES.get(value.lower(), "") if name.lower() in COLOUR_NAMES else ""
            choices.append(Choice(value, selection.get(name) == value, note, swatch, f"opt-{number}-{len(choices)}"))
        options.append(OptionChoices(name, _label(name), unmade, choices))
    return Picker(options, chosen, problem, selection)


def picker_data(*, picker: Picker, offers: list[Offer]) -> dict:
    """What the page's script needs to redo the picker without a reload (json_script): each option's name and
    note for a value not made, what to say for a combination not made, and every variant's options, price,
    stock words and what the shopper's store says (the same HTML the page shows)."""
    names = [option.name for option in picker.options]
    return {
        "options": [{"name": o.name, "unmade": o.unmade} for o in picker.options],
        "colour": next((o.name for o in picker.options if o.name.lower() in COLOUR_NAMES), None),
        "unmade": unmade_problem([o.label for o in picker.options]) if picker.options else "",
        "out": OUT_OF_STOCK,
        "variants": [{
            "sku": o.variant.sku,
            "options": {name: o.value(name) for name in names if o.value(name) is not None},
            "price": format_money(o.variant.price_amount, o.variant.price_currency),
            "stock": o.stock[0], "tone": o.stock[1], "out": o.out,
            "collect": render_to_string("storefront/_stock_pill.html", {"collection": o.here}).strip()
            if o.here else "",
        } for o in offers],
    }
