"""Importing stock counts: one row per store and SKU with the counted quantity, set through the ledger (a count
movement where on hand differs). A count below what is promised, held or unavailable is refused."""
from django.db.models import F

from catalog.models import Variant
from inventory.models import Location, StockLevel
from inventory.services import StockLine, stock_set_counted_many

from . import cells
from .bulk import matching
from .plan import Item, Plan
from .reading import BAD, first_line


class Stock(Plan):
    """Counted quantities: on hand becomes the count through the ledger (a count movement for each
    store and SKU whose on hand differs). A count below what is promised or unavailable is refused."""

    kind = "stock"

    def check(self, rows):
        report = self.report
        self.variants = {v.sku: v for v in matching(Variant.objects.only("id", "sku"), "sku", (r["sku"] for r in rows))}
        self.locations = {l.code: l for l in Location.objects.filter(code__in={r["store"] for r in rows})}
        seen: dict[tuple, int] = {}
        items = []
        for row in self.rows(rows):
            location = row.cell(report, "store", cells.known, self.locations, "store (by code)")
            variant = row.cell(report, "sku", cells.known, self.variants, "SKU")
            counted = row.cell(report, "counted", cells.whole, minimum=0)
            if BAD not in (location, variant):
                first_line(report, seen, (location.pk, variant.pk), row.line, "sku",
                           f"{variant.sku} at {location.code}")
            items.append(Item([row.line], (location, variant), {"counted": counted}))
        self._refuse_below_promised([i for i in items if i.lines[0] not in report.bad_lines])
        return items

    def _refuse_below_promised(self, items: list[Item]) -> None:
        by_location: dict[int, list[Item]] = {}
        for item in items:
            by_location.setdefault(item.key[0].pk, []).append(item)
        for location_id, located in by_location.items():
            levels = (StockLevel.objects.filter(location_id=location_id)
                      .annotate(held=F("committed") + F("reserved") + F("unavailable")).values("variant_id", "held"))
            promised = {row["variant_id"]: row["held"]
                        for row in matching(levels, "variant_id", (i.key[1].pk for i in located))}
            for item in located:
                held = promised.get(item.key[1].pk, 0)
                if item.fields["counted"] < held:
                    self.report.add(item.lines[0], "counted",
                                    f"{item.fields['counted']} is below the {held} unit(s) of {item.key[1].sku} at "
                                    f"{item.key[0].code} promised to orders, held for checkouts or unavailable")

    def write(self, items, result):
        lines = [StockLine(location=i.key[0], variant=i.key[1], quantity=i.fields["counted"]) for i in items]
        movements = stock_set_counted_many(lines=lines, reference=self.reference, actor=self.actor,
                                           note="stock count import")
        result.updated += movements
        result.unchanged += len(lines) - movements
