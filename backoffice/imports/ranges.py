"""Importing ranges: one row per range and SKU, giving each range named in the file exactly its SKUs (or the whole
catalogue), channels and stores, and its name and dates."""
from django.utils import timezone

from catalog.models import Channel, Range, Variant
from inventory.models import Location

from . import cells
from .bulk import CHUNK, by_key, insert
from .plan import Item, Plan
from .reading import BAD, WHOLE_CATALOGUE, Row


class Ranges(Plan):
    """One row per range and SKU. A range named in the file gets exactly the SKUs, channels and stores the
    file gives it (so a SKU can be taken out); `*` as the SKU makes it hold the whole catalogue, and an
    empty SKU declares a range with no SKUs yet. A range with any bad row is left as it is."""

    kind = "ranges"

    def check(self, rows):
        report = self.report
        variants = {sku: row["id"] for sku, row in
                    by_key(Variant.objects, "sku", (r["sku"] for r in rows if r["sku"] != WHOLE_CATALOGUE),
                           "id").items()}
        channels = dict(Channel.objects.values_list("code", "id"))
        stores = {code: row["id"] for code, row in by_key(
            Location.objects, "code", (c for r in rows for c in cells.codes(r["stores"])), "id").items()}
        self.existing = by_key(Range.objects, "code", (r["range_code"] for r in rows),
                               "id", "name", "whole_catalog", "starts_at", "ends_at")
        groups: dict[str, Item] = {}
        first_row: dict[str, tuple[int, dict]] = {}
        for row in self.rows(rows):
            code = row.cell(report, "range_code", cells.slug, 64)
            shared = {}
            if row.has("name"):
                shared["name"] = row.cell(report, "name", cells.text, 120, True)
            if row.has("channels"):
                shared["channels"] = row.cell(report, "channels", self._set_of, channels, "channel")
            if row.has("stores"):
                shared["stores"] = row.cell(report, "stores", self._set_of, stores, "store")
            if row.has("starts_at"):
                shared["starts_at"] = row.cell(report, "starts_at", cells.moment)
            if row.has("ends_at"):
                shared["ends_at"] = row.cell(report, "ends_at", cells.moment)
            sku = row["sku"]
            variant_id = None
            if sku and sku != WHOLE_CATALOGUE:
                variant_id = row.cell(report, "sku", cells.known, variants, "SKU")
            if code is BAD:
                continue
            group = groups.get(code)
            if group is None:
                group = groups[code] = Item([], code, {"whole": False, "variants": {}, **shared})
                first_row[code] = (row.line, shared)
                self._check_range(row, code, shared)
            else:
                first_line, first_shared = first_row[code]
                for column, value in shared.items():
                    if value is not BAD and first_shared.get(column) is not BAD and value != first_shared.get(column):
                        report.add(row.line, column, f"differs from line {first_line}, the first row of range {code}")
            group.lines.append(row.line)
            self._add_sku(group, row, sku, variant_id)
        return list(groups.values())

    def _check_range(self, row: Row, code: str, shared: dict) -> None:
        saved = self.existing.get(code)
        if saved is None and not shared.get("name"):
            self.report.add(row.line, "name", f"the new range {code} needs a name")
        starts = shared.get("starts_at") or (saved["starts_at"] if saved else timezone.now())
        ends = shared.get("ends_at", saved["ends_at"] if saved else None)
        if BAD not in (starts, ends) and ends is not None and ends <= starts:
            self.report.add(row.line, "ends_at", "the range must end after it starts (starts_at)")

    def _add_sku(self, group: Item, row: Row, sku: str, variant_id) -> None:
        members = group.fields["variants"]
        if sku == WHOLE_CATALOGUE:
            group.fields["whole"] = row.line
        elif variant_id not in (None, BAD):
            if variant_id in members:
                self.report.add(row.line, "sku", f"{sku} is also on line {members[variant_id]} for range {group.key}")
            members[variant_id] = row.line
        whole = group.fields["whole"]
        if whole and members:
            line = max(whole, max(members.values()))
            self.report.add(line, "sku", f"range {group.key} holds the whole catalogue ({WHOLE_CATALOGUE} on line "
                            f"{whole}); list no SKUs with it")

    @staticmethod
    def _set_of(value: str, known: dict[str, int], what: str) -> set[int]:
        codes = cells.codes(value)
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise cells.Invalid(f"there is no {what} {', '.join(unknown)}")
        return {known[c] for c in codes}

    def write(self, items, result):
        now = timezone.now()
        new, changed, fields = [], [], set()
        for item in items:
            wanted = {"whole_catalog": bool(item.fields["whole"])}
            wanted |= {name: item.fields[name] for name in ("name", "starts_at", "ends_at") if name in item.fields}
            saved = self.existing.get(item.key)
            if saved is None:
                wanted["starts_at"] = wanted.get("starts_at") or now
                new.append(Range(code=item.key, **wanted))
                continue
            wanted["starts_at"] = wanted.get("starts_at") or saved["starts_at"]
            differ = {name for name, value in wanted.items() if saved[name] != value}
            if differ:
                fields |= differ
                changed.append(Range(**{**saved, **wanted}))
        if changed:
            Range.objects.bulk_update(changed, sorted(fields))
        Range.objects.bulk_create(new)
        ids = {r.code: r.pk for r in new} | {code: row["id"] for code, row in self.existing.items()}
        moved = set()
        for relation, column, wanted_of in (
            ("variants", "variant_id", lambda i: set() if i.fields["whole"] else set(i.fields["variants"])),
            ("channels", "channel_id", lambda i: i.fields.get("channels")),
            ("locations", "location_id", lambda i: i.fields.get("stores")),
        ):
            moved |= self._set_members(relation, column, {ids[i.key]: wanted_of(i) for i in items
                                                          if wanted_of(i) is not None})
        updated = ({r.pk for r in changed} | moved) - {r.pk for r in new}
        result.created += len(new)
        result.updated += len(updated)
        result.unchanged += len(items) - len(new) - len(updated)

    def _set_members(self, relation: str, column: str, wanted: dict[int, set[int]]) -> set[int]:
        """Make each range's members exactly `wanted`; return the ids of the ranges that changed."""
        through = getattr(Range, relation).through
        saved: dict[int, set[int]] = {range_id: set() for range_id in wanted}
        for range_id, member in through.objects.filter(range_id__in=list(wanted)).values_list("range_id", column):
            saved[range_id].add(member)
        changed = set()
        add = []
        for range_id, members in self.progress(wanted.items(), desc=f"range {relation}", unit=" ranges"):
            gone = saved[range_id] - members
            if gone:
                ids = sorted(gone)
                for start in range(0, len(ids), CHUNK):
                    through.objects.filter(range_id=range_id, **{f"{column}__in": ids[start:start + CHUNK]}).delete()
            add += [{"range_id": range_id, column: m} for m in members - saved[range_id]]
            if gone or members - saved[range_id]:
                changed.add(range_id)
        insert(through, add)
        return changed
