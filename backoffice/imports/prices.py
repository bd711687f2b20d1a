"""Importing prices: one row per price, identified by SKU + channel + location + valid_from, setting its amount,
currency and valid_until. The windows of one SKU, channel and location may not overlap."""
from datetime import datetime

from django.utils import timezone

from catalog.models import Channel, Price, Variant
from inventory.models import Location

from . import cells
from .bulk import by_key, matching
from .plan import Item, Plan
from .reading import BAD, first_line


def _window(start: datetime | None, end: datetime | None) -> str:
    return (f"{timezone.localtime(start):%Y-%m-%d %H:%M}" if start else "the beginning") + " to " + (
        f"{timezone.localtime(end):%Y-%m-%d %H:%M}" if end else "further notice")


class Prices(Plan):
    """A price is identified by variant + channel + location + valid_from; amount, currency and
    valid_until are what an import changes. Windows of one variant, channel and location may not overlap."""

    kind = "prices"
    FIELDS = ("id", "variant_id", "channel_id", "location_id", "valid_from", "valid_until", "amount", "currency")

    def check(self, rows):
        report = self.report
        variants = {sku: row["id"] for sku, row in
                    by_key(Variant.objects, "sku", (r["sku"] for r in rows), "id").items()}
        channels = dict(Channel.objects.values_list("code", "id"))
        locations = {code: row["id"] for code, row in
                     by_key(Location.objects, "code", (r["location"] for r in rows), "id").items()}
        seen: dict[tuple, int] = {}
        items = []
        for row in self.rows(rows):
            variant_id = row.cell(report, "sku", cells.known, variants, "SKU")
            channel_id = row.cell(report, "channel", cells.known, channels, f"channel ({', '.join(sorted(channels))})")
            location_id = row.cell(report, "location", lambda v: cells.known(v, locations, "location") if v else None)
            given = {"amount": row.cell(report, "amount", cells.amount)}
            if row.has("currency"):
                given["currency"] = row.cell(report, "currency", cells.currency)
            valid_from = row.cell(report, "valid_from", cells.moment)
            if row.has("valid_until"):
                given["valid_until"] = row.cell(report, "valid_until", cells.moment)
                if valid_from not in (BAD, None) and given["valid_until"] not in (BAD, None) \
                        and given["valid_until"] <= valid_from:
                    report.add(row.line, "valid_until", "the price must end after it starts (valid_from)")
            key = (variant_id, channel_id, location_id, valid_from)
            if BAD not in key:
                first_line(report, seen, key, row.line, "valid_from",
                           "the same SKU, channel, location and valid_from")
            items.append(Item([row.line], key, given))
        self.existing = self._saved({i.key[0] for i in items if i.key[0] is not BAD})
        self._refuse_overlaps(items)
        return items

    def _saved(self, variant_ids: set[int]) -> dict[tuple, dict]:
        saved: dict[tuple, dict] = {}
        for row in matching(Price.objects.order_by("id").values(*self.FIELDS), "variant_id", variant_ids):
            saved.setdefault((row["variant_id"], row["channel_id"], row["location_id"], row["valid_from"]), row)
        return saved

    def _refuse_overlaps(self, items: list[Item]) -> None:
        """Check, for each variant + channel + location the file touches, the windows it will have after
        the import: the saved prices the file does not replace and the file's good rows, in file order."""
        good = [i for i in items if i.lines[0] not in self.report.bad_lines]
        replaced = {i.key for i in good}
        windows: dict[tuple, list[tuple[datetime | None, datetime | None, str]]] = {}
        for key, row in self.existing.items():
            if key not in replaced:
                windows.setdefault(key[:3], []).append((row["valid_from"], row["valid_until"],
                                                        f"the saved price of {row['amount']} {row['currency']}"))
        for item in good:
            start = item.key[3]
            saved = self.existing.get(item.key)
            end = item.fields.get("valid_until", saved["valid_until"] if saved else None)
            group = windows.setdefault(item.key[:3], [])
            clash = next((label for other_start, other_end, label in group
                          if (other_end is None or start is None or start < other_end)
                          and (end is None or other_start is None or other_start < end)), None)
            if clash:
                self.report.add(item.lines[0], "valid_from",
                                f"{_window(start, end)} overlaps {clash}; price windows may not overlap")
            else:
                group.append((start, end, f"the price on line {item.lines[0]}"))

    def write(self, items, result):
        # Shortened windows are saved before new ones start, so the database's overlap check never
        # sees the two at once.
        existing = {key: {"id": row["id"], "amount": row["amount"], "currency": row["currency"],
                          "valid_until": row["valid_until"]} for key, row in self.existing.items()}
        self.upsert(Price, ("variant_id", "channel_id", "location_id", "valid_from"), items, existing, result)
