"""What the demo's shoppers put in their baskets: a few bestsellers and a long tail (each product's popularity
drawn from the seed), middle sizes more than the ends, one to four items, now and then two of one; online
from what the channel can supply (at the pickup store, or anywhere that ships), at a till from what that store
holds. Never an item a store does not stock, except for a ship-to-store collection, which asks for what the
store lacks and a location that ships has: availability is asked of inventory's selector before choosing."""
import random
from bisect import bisect
from collections import defaultdict
from itertools import accumulate

from catalog.models import Channel, Variant
from inventory.models import Location, StockLevel
from inventory.selectors import sellable_by_variant

BASKET_SIZES = ((1, 2, 3, 4), (55, 28, 12, 5))
TILL_BASKET_SIZES = ((1, 2, 3), (62, 28, 10))
TWO_OF_ONE = 0.1
CANDIDATES_PER_ITEM = 3  # variants looked at for each item wanted: some are sold out where it is wanted


class Pool:
    """Variants with cumulative weights, to draw from in one bisect each."""

    def __init__(self, variants: list[Variant], weights: list[float]):
        self.variants, self.cumulative = variants, list(accumulate(weights))

    def draw(self, rng: random.Random) -> Variant:
        return self.variants[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


class Shelves:
    """Every variant on sale with its popularity, and per store the variants it stocks."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        variants = list(Variant.objects.filter(is_active=True, product__is_active=True)
                        .select_related("product").order_by("product__slug", "pk"))
        products = sorted({v.product.slug for v in variants})
        rng.shuffle(products)
        self.popularity = {slug: 1 / (rank + 6) ** 0.9 for rank, slug in enumerate(products)}
        weight = {}
        for group in _by_colour(variants):
            middle = (len(group) - 1) / 2
            for position, variant in enumerate(group):
                weight[variant.pk] = self.popularity[variant.product.slug] * (2 - abs(position - middle) / (middle + 1))
        self.everywhere = Pool(variants, [weight[v.pk] for v in variants])
        by_id = {v.pk: v for v in variants}
        stocked = defaultdict(list)
        for location_id, variant_id in (StockLevel.objects.filter(location__kind=Location.Kind.STORE, on_hand__gt=0)
                                        .order_by("location_id", "variant_id").values_list("location_id", "variant_id")):
            if variant_id in by_id:
                stocked[location_id].append(by_id[variant_id])
        self.stores = {pk: Pool(vs, [weight[v.pk] for v in vs]) for pk, vs in stocked.items()}
        self.stocked = {pk: {v.pk for v in vs} for pk, vs in stocked.items()}

    def products(self) -> tuple[list[str], list[float]]:
        """Product slugs with their popularity: what visitors look at."""
        slugs = sorted(self.popularity)
        return slugs, [self.popularity[s] for s in slugs]

    def basket(self, *, channel: Channel, store: Location | None = None,
               lacking: bool = False) -> list[tuple[Variant, int]]:
        """Items for one order: from `store`'s shelves (a pickup or a till sale), else from anything that ships;
        each available on the channel there. With `lacking`, items `store` does not stock, available elsewhere
        (a ship-to-store collection). Empty when nothing wanted is available."""
        rng = self.rng
        sizes = TILL_BASKET_SIZES if store is not None and not channel.is_online else BASKET_SIZES
        wanted = rng.choices(*sizes)[0]
        pool = self.stores.get(store.pk) if store is not None and not lacking else self.everywhere
        if pool is None:
            return []
        stocked = self.stocked.get(store.pk, set()) if lacking else set()
        candidates, products = [], set()
        for _ in range(wanted * CANDIDATES_PER_ITEM * (4 if lacking else 1)):
            variant = pool.draw(rng)
            if variant.product_id not in products and variant.pk not in stocked:
                products.add(variant.product_id)
                candidates.append(variant)
            if len(candidates) == wanted * CANDIDATES_PER_ITEM:
                break
        units = sellable_by_variant(variant_ids=[v.pk for v in candidates], channel=channel,
                                    location=None if lacking else store)
        basket = []
        for variant in candidates:
            if units.get(variant.pk, 0) >= 1:
                basket.append((variant, 2 if units[variant.pk] >= 2 and rng.random() < TWO_OF_ONE else 1))
            if len(basket) == wanted:
                break
        return basket


def _by_colour(variants: list[Variant]) -> list[list[Variant]]:
    """Each product's variants of one colour, in the order their sizes were made (smallest first)."""
    groups = defaultdict(list)
    for variant in variants:
        groups[variant.product_id, variant.options.get("colour")].append(variant)
    return list(groups.values())
