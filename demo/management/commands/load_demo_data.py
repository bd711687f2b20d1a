"""`manage.py load_demo_data`: a UK clothing and homeware retailer (stores, warehouses, catalogue, channel
prices, stock through the ledger) and its last 90 days of trade (demo.history). Deterministic, and a second
run changes nothing."""
import sys
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Sum
from tqdm import tqdm

from catalog.models import Product, Variant
from catalog.services import prices_from_refresh
from customers.models import Customer
from inventory.models import Location, StockLevel
from orders.models import Order
from orders.popularity import products_popularity_refresh

from ...assortment import CATEGORY_PLANS
from ...catalog import build_catalog, upsert_categories, upsert_prices, upsert_products, upsert_variants
from ...history import DAYS, MIN_DAYS, history_loaded, history_weeks, load_history
from ...local_stripe import local_stripe
from ...pictures import upsert_pictures
from ...places import STORES, WAREHOUSES, upsert_locations
from ...stock import stock_location


class Command(BaseCommand):
    help = (
        "Load a demo UK clothing and homeware retailer: stores, warehouses, catalog, prices, stock and the last "
        "90 days of trade (customers, visits, orders, pickups, parcels, returns). Deterministic and safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--history-days", type=int, default=DAYS,
                            help=f"Days of trade up to today (default {DAYS}; at least {MIN_DAYS}, or 0 for none).")

    def handle(self, *args, history_days: int, **options):
        if 0 < history_days < MIN_DAYS:
            raise CommandError(f"Give at least {MIN_DAYS} days of history (a week has a checkout to find it by), "
                               "or 0 for none.")
        started = time.monotonic()
        weeks = 0 if history_loaded() else history_weeks(max(history_days, 0))
        progress = tqdm(
            total=4 + len(CATEGORY_PLANS) + len(STORES) + len(WAREHOUSES) + weeks, unit="step",
            file=options.get("stderr") or sys.stderr,
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

            def pictures_done(plan) -> None:
                progress.set_description(f"pictures: {plan.name.lower()}")
                progress.update()

            upsert_pictures(catalog, category_done=pictures_done)

            in_catalog_order = [variants[v.sku] for v in catalog.variants]
            for location in locations:
                progress.set_description(f"stock {location.code}")
                stock_location(location, in_catalog_order)
                progress.update()

            if weeks:
                def week_done(label: str) -> None:
                    progress.set_description(label)
                    progress.update()

                with local_stripe():  # card payments need a Stripe double: the one configured, or one for the load
                    load_history(days=history_days, week_done=week_done)
            products_popularity_refresh()  # "Popular right now" from the history, without waiting for the hourly job
            prices_from_refresh()  # the price sorts' kept lowest prices, without waiting for the minutely job

        if options["verbosity"] >= 1:
            self.stdout.write(self.style.SUCCESS(self._summary(time.monotonic() - started)))

    def _summary(self, seconds: float) -> str:
        stores = Location.objects.stores().count()
        warehouses = Location.objects.filter(kind=Location.Kind.WAREHOUSE).count()
        units = StockLevel.objects.aggregate(units=Sum("on_hand"))["units"] or 0
        return (
            f"Demo data in place: {stores} stores, {warehouses} warehouses, {Product.objects.count():,} products, "
            f"{Variant.objects.count():,} variants, {StockLevel.objects.count():,} stock rows, "
            f"{units:,} units on hand, {Customer.objects.count():,} customers, {Order.objects.count():,} orders "
            f"({seconds:.1f} s)."
        )
