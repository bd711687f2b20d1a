"""`manage.py verify_ledger`: recompute every StockLevel from its movements and report drift.

Exits non-zero, naming each drifted (location, SKU, bucket), when any level disagrees with its ledger, and
each variant whose units sellable online (SellableOnline) disagree with its shipping locations' stock.
"""
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from inventory.models import Location
from inventory.selectors import ledger_drift, sellable_online_drift


class Command(BaseCommand):
    help = "Check that every stock level equals the sum of its ledger movements."

    def add_arguments(self, parser):
        parser.add_argument("--location", action="append", help="Only check these location codes (repeatable).")

    def handle(self, *args, location=None, verbosity=1, **options):
        locations = Location.objects.order_by("code")
        if location:
            locations = locations.filter(code__in=location)
            missing = set(location) - set(locations.values_list("code", flat=True))
            if missing:
                raise CommandError(f"No location with code {', '.join(sorted(missing))}.")
        drifted = []
        for place in tqdm(list(locations), desc="locations", unit="loc", disable=verbosity < 1, file=self.stderr):
            drifted.extend(ledger_drift(location=place))
        for d in drifted:
            self.stderr.write(f"DRIFT {d.location} {d.sku} {d.bucket}: level {d.level}, ledger {d.ledger}")
        online = sellable_online_drift()
        for sku, counted, stock in online:
            self.stderr.write(f"DRIFT online {sku}: sellable online {counted}, shipping locations' stock {stock}")
        if drifted or online:
            pairs = {(d.location, d.sku) for d in drifted}
            raise CommandError(f"Ledger drift in {len(pairs)} (location, SKU) pair(s); "
                               f"units sellable online wrong for {len(online)} variant(s).")
        self.stdout.write(self.style.SUCCESS(
            f"Ledger OK: {locations.count()} locations, no drift; units sellable online agree with the stock."))
