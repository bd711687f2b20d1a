"""The demo's opening stock: each warehouse holds every variant, each store about six in ten of them,
received once through the ledger (by idempotency key), with safety stock on a few store lines."""
import random

from django.db import transaction

from catalog.models import Variant
from inventory.models import Location, StockMovement
from inventory.services import StockLine, stock_receive_many, stock_set_safety_stock

from .catalog import SEED

STORE_RANGE_SHARE = 0.6
SAFETY_STOCK_SHARE = 0.03  # each line set through inventory's one door: a few, or the load slows down


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

