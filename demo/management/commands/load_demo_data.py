"""`manage.py load_demo_data`: a UK clothing and homeware retailer (stores, warehouses, catalogue, channel
prices, stock through the ledger). Deterministic, and a second run changes nothing."""
import sys
import time

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Sum
from tqdm import tqdm

from catalog.models import Product, Variant
from inventory.models import Location, StockLevel

from ...catalog import build_catalog, upsert_categories, upsert_prices, upsert_products, upsert_variants
from ...places import STORES, WAREHOUSES, upsert_locations
from ...stock import stock_location


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
