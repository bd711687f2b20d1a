"""Exporting to CSV: every record of a kind in the import's columns (csv_rows, csv_export), written so that
importing an export changes nothing."""
import csv
from collections.abc import Iterator
from datetime import datetime
from typing import IO

from django.utils import timezone

from catalog.models import Price, Product, Range, Variant
from inventory.models import StockLevel

from .bulk import CHUNK
from .reading import COLUMNS, KINDS, WHOLE_CATALOGUE, to_spreadsheet


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).isoformat() if moment else ""


def _yes(value: bool) -> str:
    return "true" if value else "false"


def csv_rows(*, kind: str) -> Iterator[list[str]]:
    """The header and every record of `kind` in the import's columns, so an export imports as a no-op; no
    cell starts a spreadsheet formula (see reading.to_spreadsheet)."""
    if kind not in COLUMNS:
        raise ValueError(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
    yield list(COLUMNS[kind])
    for row in _records(kind):
        yield [to_spreadsheet(cell) for cell in row]


def _records(kind: str) -> Iterator[list[str]]:
    if kind == "products":
        for slug, name, brand, category, description, tax_class, active in Product.objects.order_by("slug").values_list(
                "slug", "name", "brand", "category__slug", "description", "tax_class", "is_active").iterator(CHUNK):
            yield [slug, name, brand, category, description, tax_class, _yes(active)]
    elif kind == "variants":
        for sku, product, barcode, options, weight, active in Variant.objects.order_by("sku").values_list(
                "sku", "product__slug", "barcode", "options", "weight_grams", "is_active").iterator(CHUNK):
            yield [sku, product, barcode or "", ";".join(f"{k}={v}" for k, v in (options or {}).items()), str(weight),
                   _yes(active)]
    elif kind == "prices":
        prices = Price.objects.order_by("variant__sku", "channel__code", "location__code", "valid_from").values_list(
            "variant__sku", "channel__code", "location__code", "amount", "currency", "valid_from", "valid_until")
        for sku, channel, location, amount, currency, valid_from, valid_until in prices.iterator(CHUNK):
            yield [sku, channel, location or "", f"{amount:.2f}", currency, _when(valid_from), _when(valid_until)]
    elif kind == "ranges":
        yield from _range_rows()
    else:
        for store, sku, on_hand in StockLevel.objects.order_by("location__code", "variant__sku").values_list(
                "location__code", "variant__sku", "on_hand").iterator(CHUNK):
            yield [store, sku, str(on_hand)]


def _range_rows() -> Iterator[list[str]]:
    def codes(relation: str, code: str) -> dict[int, str]:
        found: dict[int, list[str]] = {}
        for range_id, value in getattr(Range, relation).through.objects.order_by(code).values_list("range_id", code):
            found.setdefault(range_id, []).append(value)
        return {range_id: ";".join(values) for range_id, values in found.items()}

    channels, stores = codes("channels", "channel__code"), codes("locations", "location__code")
    for range_ in Range.objects.order_by("code"):
        shared = [channels.get(range_.pk, ""), stores.get(range_.pk, ""), _when(range_.starts_at),
                  _when(range_.ends_at)]
        if range_.whole_catalog:
            yield [range_.code, range_.name, WHOLE_CATALOGUE, *shared]
            continue
        skus = range_.variants.order_by("sku").values_list("sku", flat=True).iterator(CHUNK)
        empty = True
        for sku in skus:
            empty = False
            yield [range_.code, range_.name, sku, *shared]
        if empty:
            yield [range_.code, range_.name, "", *shared]


def csv_export(*, kind: str, out: IO[str]) -> int:
    """Write every record of `kind` to `out` as CSV; return the number of records."""
    writer = csv.writer(out)
    count = 0
    for count, row in enumerate(csv_rows(kind=kind)):
        writer.writerow(row)
    return count
