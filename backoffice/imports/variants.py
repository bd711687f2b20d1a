"""Importing variants: one row per SKU, with its product (by slug), barcode (a GTIN, unique across SKUs),
options, weight and whether it is active. A new variant needs its product."""
import re

from catalog.models import Product, Variant

from . import cells
from .bulk import by_key
from .plan import Item, Plan
from .reading import BAD, first_line

_GTIN = re.compile(r"\d{8}|\d{12,14}")


class Variants(Plan):
    kind = "variants"
    FIELDS = ("id", "sku", "product_id", "barcode", "options", "weight_grams", "is_active")

    def check(self, rows):
        report = self.report
        self.existing = by_key(Variant.objects, "sku", (r["sku"] for r in rows), *self.FIELDS)
        products = {slug: row["id"] for slug, row in
                    by_key(Product.objects, "slug", (r["product_slug"] for r in rows), "id").items()}
        holders = {code: row["sku"] for code, row in
                   by_key(Variant.objects, "barcode", (r["barcode"] for r in rows), "sku").items()}
        seen_skus: dict[str, int] = {}
        seen_barcodes: dict[str, int] = {}
        items = []
        for row in self.rows(rows):
            sku = row.cell(report, "sku", cells.text, 64, True)
            if sku is not BAD:
                first_line(report, seen_skus, sku, row.line, "sku", f"SKU {sku}")
            given = {}
            if row.has("product_slug"):
                given["product_id"] = row.cell(report, "product_slug", cells.known, products, "product (by slug)")
            elif sku is not BAD and sku not in self.existing:
                report.add(row.line, "product_slug", "a new variant needs its product; add the column")
            if row.has("barcode"):
                barcode = row.cell(report, "barcode", self._barcode)
                given["barcode"] = barcode
                if barcode not in (BAD, None):
                    first_line(report, seen_barcodes, barcode, row.line, "barcode", f"barcode {barcode}")
                    if holders.get(barcode, sku) != sku:
                        report.add(row.line, "barcode", f"{barcode} already belongs to SKU {holders[barcode]}")
            if row.has("options"):
                given["options"] = row.cell(report, "options", cells.options)
            if row.has("weight_grams"):
                given["weight_grams"] = row.cell(report, "weight_grams", cells.whole, minimum=0, blank=0)
            if row.has("is_active"):
                given["is_active"] = row.cell(report, "is_active", cells.flag)
            items.append(Item([row.line], sku, given))
        return items

    @staticmethod
    def _barcode(value: str) -> str | None:
        if not value:
            return None  # blank barcodes must not collide on the unique index
        if not _GTIN.fullmatch(value):
            raise cells.Invalid(f"{value!r} is not a GTIN: 8, 12, 13 or 14 digits")
        return value

    def write(self, items, result):
        self.upsert(Variant, "sku", items, self.existing, result)
