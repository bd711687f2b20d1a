"""CSV import and export for merchandisers: products, variants, prices, ranges and stock counts.
Every row is checked before anything is written; an import is one transaction, and importing the same
file (or an export) a second time changes nothing.

How a file is read
------------------
* The header names the columns (any order; the key columns of the kind are required). A column left out
  of the header leaves that field as it is on existing records (and at its default on new ones); a
  column present with an empty cell means "empty" (no barcode, no end date, every channel, …).
* Rows are checked in bulk: each kind looks its references up with a few queries (dicts by key), never
  one query per row. Every problem is reported as (line, column, reason); when there is any, nothing is
  imported unless the caller asks to import the good rows and skip the bad ones.
* Only records that differ are written (bulk_create / bulk_update / set-based SQL), so a repeat import
  writes nothing: no new rows, no new stock movements.
"""
import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import DatabaseError, connection, transaction
from django.db.models import F, JSONField
from django.utils import timezone

from catalog.models import Category, Channel, Price, Product, Range, TaxClass, Variant
from core.exceptions import DomainError
from inventory.models import Location, StockLevel
from inventory.services import StockLine, stock_set_counted_many

COLUMNS: dict[str, tuple[str, ...]] = {
    "products": ("slug", "name", "brand", "category", "description", "tax_class", "is_active"),
    "variants": ("sku", "product_slug", "barcode", "options", "weight_grams", "is_active"),
    "prices": ("sku", "channel", "location", "amount", "currency", "valid_from", "valid_until"),
    "ranges": ("range_code", "name", "sku", "channels", "stores", "starts_at", "ends_at"),
    "stock": ("store", "sku", "counted"),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "products": ("slug",),
    "variants": ("sku",),
    "prices": ("sku", "channel", "amount"),
    "ranges": ("range_code", "sku"),
    "stock": ("store", "sku", "counted"),
}
KINDS = tuple(COLUMNS)
WHOLE_CATALOGUE = "*"  # the sku of a range row that holds the whole catalogue
CHUNK = 5000
DEFAULT_CURRENCY = Price._meta.get_field("currency").default

Progress = Callable[..., Iterable]  # tqdm's signature: progress(iterable, desc=..., total=..., unit=...)


def _no_progress(iterable: Iterable, **_: Any) -> Iterable:
    return iterable


# The report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int  # 1 is the header; 0 when the file as a whole was refused by the database
    column: str
    reason: str

    def __str__(self) -> str:
        if not self.line:
            return self.reason
        return f"line {self.line}, column {self.column}: {self.reason}" if self.column else f"line {self.line}: {self.reason}"


@dataclass
class ImportResult:
    """What an import found and did. `imported` is False when it was refused (or a dry run)."""

    kind: str
    dry_run: bool = False
    good_rows_only: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    refused: bool = False
    imported: bool = False

    def summary(self) -> str:
        if self.refused:
            return (f"Nothing imported: {len(self.errors)} problem(s) in {self.rows} row(s) of {self.kind}. "
                    "Fix them, or import the good rows and skip the bad ones.")
        if self.kind == "stock":
            text = (f"{self.rows} row(s) of stock: on hand changed for {self.updated} store and SKU pair(s) "
                    f"(one count movement each), {self.unchanged} already matched the count")
        else:
            text = (f"{self.rows} row(s) of {self.kind}: {self.created} {self.kind} created, "
                    f"{self.updated} updated, {self.unchanged} unchanged")
        if self.skipped_rows:
            text += f"; {self.skipped_rows} bad row(s) skipped"
        return ("Dry run, nothing saved. " if self.dry_run else "") + text + "."


class _Report:
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        self.bad_lines: set[int] = set()

    def add(self, line: int, column: str, reason: str) -> None:
        self.errors.append(RowError(line, column, reason))
        self.bad_lines.add(line)


class _Invalid(Exception):
    """A cell that cannot be read; the message is the reason shown to the merchandiser."""


_BAD = object()


class _Row:
    __slots__ = ("line", "values")

    def __init__(self, line: int, values: dict[str, str]) -> None:
        self.line, self.values = line, values

    def has(self, column: str) -> bool:
        return column in self.values

    def __getitem__(self, column: str) -> str:
        return self.values.get(column, "")

    def cell(self, report: _Report, column: str, parse: Callable, *args, **kwargs) -> Any:
        """The parsed cell, or _BAD after reporting why it could not be read."""
        try:
            return parse(self[column], *args, **kwargs)
        except _Invalid as problem:
            report.add(self.line, column, str(problem))
            return _BAD


# Cells ----------------------------------------------------------------------------------------


def _text(value: str, max_length: int, required: bool = False) -> str:
    if required and not value:
        raise _Invalid("is empty")
    if len(value) > max_length:
        raise _Invalid(f"is {len(value)} characters long; at most {max_length}")
    return value


def _slug(value: str, max_length: int) -> str:
    _text(value, max_length, required=True)
    try:
        validate_slug(value)
    except ValidationError:
        raise _Invalid(f"{value!r} is not a code: use letters, digits, hyphens and underscores only") from None
    return value


_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}
_WHOLE, _CURRENCY, _GTIN = re.compile(r"[+-]?\d+"), re.compile(r"[A-Za-z]{3}"), re.compile(r"\d{8}|\d{12,14}")


def _flag(value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE or not lowered:
        return True
    if lowered in _FALSE:
        return False
    raise _Invalid(f"{value!r} is not true or false")


def _whole(value: str, *, minimum: int = 0, blank: int | None = None) -> int:
    if not value and blank is not None:
        return blank
    if not _WHOLE.fullmatch(value):
        raise _Invalid(f"{value!r} is not a whole number" if value else "is empty; give a whole number")
    number = int(value)
    if number < minimum or number > 2_147_483_647:
        raise _Invalid(f"{number} is out of range; give {minimum} or more")
    return number


def _amount(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise _Invalid(f"{value!r} is not an amount like 19.99" if value else "is empty; give an amount") from None
    if not amount.is_finite() or amount < 0:
        raise _Invalid(f"{value} is not an amount of zero or more")
    if amount != amount.quantize(Decimal("0.01")):
        raise _Invalid(f"{value} has more than two decimal places")
    if amount >= Decimal("1e10"):
        raise _Invalid(f"{value} is too large")
    return amount.quantize(Decimal("0.01"))


def _currency(value: str) -> str:
    if not value:
        return DEFAULT_CURRENCY
    if not _CURRENCY.fullmatch(value):
        raise _Invalid(f"{value!r} is not a three-letter currency code such as GBP")
    return value.upper()


def _moment(value: str) -> datetime | None:
    """ISO 8601 date or date and time; without an offset it is read in the shop's time zone."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Invalid(f"{value!r} is not a date and time like 2025-03-01T09:00 or 2025-03-01") from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _codes(value: str) -> list[str]:
    return [code.strip() for code in value.split(";") if code.strip()]


def _options(value: str) -> dict[str, str]:
    """size=M;colour=Navy → {"size": "M", "colour": "Navy"}, in the order given."""
    options: dict[str, str] = {}
    for part in _codes(value):
        name, equals, option = (s.strip() for s in part.partition("="))
        if not equals or not name or not option:
            raise _Invalid(f"{part!r} is not name=value (write options as size=M;colour=Navy)")
        if name in options:
            raise _Invalid(f"names {name!r} twice")
        options[name] = option
    return options


def _known(value: str, known: dict[str, Any], what: str) -> Any:
    if not value:
        raise _Invalid(f"is empty; give a {what}")
    if value not in known:
        raise _Invalid(f"there is no {what} {value!r}")
    return known[value]


def _window(start: datetime | None, end: datetime | None) -> str:
    return (f"{timezone.localtime(start):%Y-%m-%d %H:%M}" if start else "the beginning") + " to " + (
        f"{timezone.localtime(end):%Y-%m-%d %H:%M}" if end else "further notice")


def _matching(queryset, key: str, keys: Iterable) -> Iterator:
    """The rows of `queryset` whose `key` is one of `keys`: a query per CHUNK keys or, for more keys than
    that, one pass over the table (at 100,000 keys the IN lists cost more than reading every row)."""
    wanted = {k for k in keys if k not in ("", None)}
    if len(wanted) > CHUNK:
        value = (lambda row: row[key]) if queryset._fields else (lambda row: getattr(row, key))
        return (row for row in queryset.iterator(CHUNK) if value(row) in wanted)
    ordered = sorted(wanted)
    return (row for start in range(0, len(ordered), CHUNK)
            for row in queryset.filter(**{f"{key}__in": ordered[start:start + CHUNK]}))


def _by_key(queryset, key: str, keys: Iterable, *fields: str) -> dict[Any, dict]:
    """Rows whose `key` is one of `keys`, by key, as dicts of `fields`."""
    return {row[key]: row for row in _matching(queryset.values(key, *fields), key, keys)}


def _first_line(report: _Report, seen: dict, key: Any, line: int, column: str, what: str) -> None:
    """Report a key that an earlier row of the file already gave."""
    if key in seen:
        report.add(line, column, f"{what} is also on line {seen[key]}")
    else:
        seen[key] = line


# Writing in bulk ------------------------------------------------------------------------------
# PostgreSQL takes new and changed rows by COPY: at 100,000s of rows, bulk_create and bulk_update spend
# most of their time preparing each value in Python (bench/import.py). Other databases use those.


def _copy(cursor, table: str, columns: list[str], records: list[dict], json_columns: Iterable[str] = ()) -> None:
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for record in records:
            for column in json_columns:
                record[column] = json.dumps(record[column])
            copy.write_row([record[c] for c in columns])


def _insert(model, records: list[dict]) -> None:
    """Create one row per record (field name → value); fields left out take the model's defaults."""
    if not records:
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_default() for f in fields}
    rows = [{**defaults, **record} for record in records]
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=CHUNK)
        return
    with connection.cursor() as cursor:
        _copy(cursor, model._meta.db_table, [f.attname for f in fields], rows,
              [f.attname for f in fields if isinstance(f, JSONField)])


def _update(model, records: list[dict], names: Iterable[str]) -> None:
    """Save `names` of the rows whose "id" each record gives."""
    names = sorted(names)
    if not records:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update([model(**record) for record in records], names, batch_size=500)
        return
    table, columns = model._meta.db_table, ["id", *(model._meta.get_field(n).column for n in names)]
    staged = f"import_{table}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {staged} AS SELECT {', '.join(columns)} FROM {table} WITH NO DATA")
        _copy(cursor, staged, columns, [{"id": r["id"], **{model._meta.get_field(n).column: r[n] for n in names}}
                                        for r in records],
              [f.column for f in map(model._meta.get_field, names) if isinstance(f, JSONField)])
        cursor.execute(f"UPDATE {table} SET {', '.join(f'{c} = s.{c}' for c in columns[1:])} "
                       f"FROM {staged} AS s WHERE {table}.id = s.id")
        cursor.execute(f"DROP TABLE {staged}")


# Reading the file -----------------------------------------------------------------------------


def _read(kind: str, file: IO[str], report: _Report, progress: Progress) -> list[_Row] | None:
    """The rows of the file, or None after reporting a header that cannot be used."""
    reader = csv.reader(file)
    try:
        header = next(reader, None)
        if header is None:
            report.add(1, "", "the file is empty; the first line must name the columns")
            return None
        header = [name.strip().lower() for name in header]
        allowed, required = COLUMNS[kind], REQUIRED[kind]
        for name in header:
            if name not in allowed:
                report.add(1, name, f"is not a column of {kind}; the columns are {', '.join(allowed)}")
            elif header.count(name) > 1:
                report.add(1, name, "is named twice")
        for name in required:
            if name not in header:
                report.add(1, name, f"is missing; {kind} need the columns {', '.join(required)}")
        if report.errors:
            return None
        rows, previous = [], reader.line_num
        for fields in progress(reader, desc=f"reading {kind}", unit=" rows"):
            line, previous = previous + 1, reader.line_num
            if not fields:
                continue
            while len(fields) > len(header) and not fields[-1].strip():
                fields.pop()  # spreadsheets pad rows with empty cells
            if len(fields) != len(header):
                report.add(line, "", f"has {len(fields)} cells but the header has {len(header)} columns")
                continue
            rows.append(_Row(line, {name: value.strip() for name, value in zip(header, fields)}))
        return rows
    except UnicodeDecodeError:
        report.add(reader.line_num + 1, "", "is not UTF-8 text; save the file as “CSV UTF-8”")
    except csv.Error as problem:
        report.add(reader.line_num, "", f"cannot be read as CSV ({problem})")
    return None


# One plan per kind: check every row, then write only what differs --------------------------------


@dataclass
class _Item:
    lines: list[int]
    key: Any
    fields: dict[str, Any]


class _Plan:
    kind = ""

    def __init__(self, report: _Report, progress: Progress, actor, reference: str) -> None:
        self.report, self.progress, self.actor, self.reference = report, progress, actor, reference

    def check(self, rows: list[_Row]) -> list[_Item]:
        raise NotImplementedError

    def write(self, items: list[_Item], result: ImportResult) -> None:
        raise NotImplementedError

    def rows(self, rows: list[_Row]) -> Iterable[_Row]:
        return self.progress(rows, desc=f"checking {self.kind}", unit=" rows")

    def upsert(self, model, key: str | tuple[str, ...], items: list[_Item], existing: dict[Any, dict],
               result: ImportResult) -> None:
        """Create what is new and update, in bulk, only the records whose given fields differ. `key` names
        the field an item's key fills (or, for a tuple key, the fields in order). Updates are written
        before new rows, so a database check across rows never sees an old and a new value at once."""
        new, changed, fields = [], [], set()
        for item in items:
            current = existing.get(item.key)
            if current is None:
                named = dict(zip(key, item.key, strict=True)) if isinstance(key, tuple) else {key: item.key}
                new.append({**named, **item.fields})
                continue
            differ = {name for name, value in item.fields.items() if current[name] != value}
            if differ:
                fields |= differ
                changed.append({**current, **item.fields})
            else:
                result.unchanged += 1
        _update(model, changed, fields)
        _insert(model, new)
        result.created += len(new)
        result.updated += len(changed)


class _Products(_Plan):
    kind = "products"
    FIELDS = ("id", "slug", "name", "brand", "category_id", "description", "tax_class", "is_active")

    def check(self, rows):
        report = self.report
        self.existing = _by_key(Product.objects, "slug", (r["slug"] for r in rows), *self.FIELDS)
        categories = {slug: row["id"] for slug, row in
                      _by_key(Category.objects, "slug", (r["category"] for r in rows), "id").items()}
        tax_classes = {value: value for value in TaxClass.values}
        seen: dict[str, int] = {}
        items = []
        for row in self.rows(rows):
            slug = row.cell(report, "slug", _slug, 220)
            if slug is not _BAD:
                _first_line(report, seen, slug, row.line, "slug", f"product {slug}")
            given = {}
            if row.has("name"):
                given["name"] = row.cell(report, "name", _text, 200, True)
            if row.has("brand"):
                given["brand"] = row.cell(report, "brand", _text, 120)
            if row.has("category"):
                given["category_id"] = row.cell(report, "category", _known, categories, "category (by slug)")
            if row.has("description"):
                given["description"] = row["description"]
            if row.has("tax_class"):
                given["tax_class"] = row.cell(report, "tax_class", lambda v: _known(
                    v.lower() or TaxClass.STANDARD, tax_classes, f"tax class ({', '.join(TaxClass.values)})"))
            if row.has("is_active"):
                given["is_active"] = row.cell(report, "is_active", _flag)
            if slug is not _BAD and slug not in self.existing:
                for column, name in (("name", "name"), ("category", "category_id")):
                    if not row.has(column):
                        report.add(row.line, column, f"a new product needs a {column}; add the column")
            items.append(_Item([row.line], slug, given))
        return items

    def write(self, items, result):
        self.upsert(Product, "slug", items, self.existing, result)


class _Variants(_Plan):
    kind = "variants"
    FIELDS = ("id", "sku", "product_id", "barcode", "options", "weight_grams", "is_active")

    def check(self, rows):
        report = self.report
        self.existing = _by_key(Variant.objects, "sku", (r["sku"] for r in rows), *self.FIELDS)
        products = {slug: row["id"] for slug, row in
                    _by_key(Product.objects, "slug", (r["product_slug"] for r in rows), "id").items()}
        holders = {code: row["sku"] for code, row in
                   _by_key(Variant.objects, "barcode", (r["barcode"] for r in rows), "sku").items()}
        seen_skus: dict[str, int] = {}
        seen_barcodes: dict[str, int] = {}
        items = []
        for row in self.rows(rows):
            sku = row.cell(report, "sku", _text, 64, True)
            if sku is not _BAD:
                _first_line(report, seen_skus, sku, row.line, "sku", f"SKU {sku}")
            given = {}
            if row.has("product_slug"):
                given["product_id"] = row.cell(report, "product_slug", _known, products, "product (by slug)")
            elif sku is not _BAD and sku not in self.existing:
                report.add(row.line, "product_slug", "a new variant needs its product; add the column")
            if row.has("barcode"):
                barcode = row.cell(report, "barcode", self._barcode)
                given["barcode"] = barcode
                if barcode not in (_BAD, None):
                    _first_line(report, seen_barcodes, barcode, row.line, "barcode", f"barcode {barcode}")
                    if holders.get(barcode, sku) != sku:
                        report.add(row.line, "barcode", f"{barcode} already belongs to SKU {holders[barcode]}")
            if row.has("options"):
                given["options"] = row.cell(report, "options", _options)
            if row.has("weight_grams"):
                given["weight_grams"] = row.cell(report, "weight_grams", _whole, minimum=0, blank=0)
            if row.has("is_active"):
                given["is_active"] = row.cell(report, "is_active", _flag)
            items.append(_Item([row.line], sku, given))
        return items

    @staticmethod
    def _barcode(value: str) -> str | None:
        if not value:
            return None  # blank barcodes must not collide on the unique index
        if not _GTIN.fullmatch(value):
            raise _Invalid(f"{value!r} is not a GTIN: 8, 12, 13 or 14 digits")
        return value

    def write(self, items, result):
        self.upsert(Variant, "sku", items, self.existing, result)


class _Prices(_Plan):
    """A price is identified by variant + channel + location + valid_from; amount, currency and
    valid_until are what an import changes. Windows of one variant, channel and location may not overlap."""

    kind = "prices"
    FIELDS = ("id", "variant_id", "channel_id", "location_id", "valid_from", "valid_until", "amount", "currency")

    def check(self, rows):
        report = self.report
        variants = {sku: row["id"] for sku, row in
                    _by_key(Variant.objects, "sku", (r["sku"] for r in rows), "id").items()}
        channels = dict(Channel.objects.values_list("code", "id"))
        locations = {code: row["id"] for code, row in
                     _by_key(Location.objects, "code", (r["location"] for r in rows), "id").items()}
        seen: dict[tuple, int] = {}
        items = []
        for row in self.rows(rows):
            variant_id = row.cell(report, "sku", _known, variants, "SKU")
            channel_id = row.cell(report, "channel", _known, channels, f"channel ({', '.join(sorted(channels))})")
            location_id = row.cell(report, "location", lambda v: _known(v, locations, "location") if v else None)
            given = {"amount": row.cell(report, "amount", _amount)}
            if row.has("currency"):
                given["currency"] = row.cell(report, "currency", _currency)
            valid_from = row.cell(report, "valid_from", _moment)
            if row.has("valid_until"):
                given["valid_until"] = row.cell(report, "valid_until", _moment)
                if valid_from not in (_BAD, None) and given["valid_until"] not in (_BAD, None) \
                        and given["valid_until"] <= valid_from:
                    report.add(row.line, "valid_until", "the price must end after it starts (valid_from)")
            key = (variant_id, channel_id, location_id, valid_from)
            if _BAD not in key:
                _first_line(report, seen, key, row.line, "valid_from",
                            "the same SKU, channel, location and valid_from")
            items.append(_Item([row.line], key, given))
        self.existing = self._saved({i.key[0] for i in items if i.key[0] is not _BAD})
        self._refuse_overlaps(items)
        return items

    def _saved(self, variant_ids: set[int]) -> dict[tuple, dict]:
        saved: dict[tuple, dict] = {}
        for row in _matching(Price.objects.order_by("id").values(*self.FIELDS), "variant_id", variant_ids):
            saved.setdefault((row["variant_id"], row["channel_id"], row["location_id"], row["valid_from"]), row)
        return saved

    def _refuse_overlaps(self, items: list[_Item]) -> None:
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


class _Ranges(_Plan):
    """One row per range and SKU. A range named in the file gets exactly the SKUs, channels and stores the
    file gives it (so a SKU can be taken out); `*` as the SKU makes it hold the whole catalogue, and an
    empty SKU declares a range with no SKUs yet. A range with any bad row is left as it is."""

    kind = "ranges"

    def check(self, rows):
        report = self.report
        variants = {sku: row["id"] for sku, row in
                    _by_key(Variant.objects, "sku", (r["sku"] for r in rows if r["sku"] != WHOLE_CATALOGUE),
                            "id").items()}
        channels = dict(Channel.objects.values_list("code", "id"))
        stores = {code: row["id"] for code, row in _by_key(
            Location.objects, "code", (c for r in rows for c in _codes(r["stores"])), "id").items()}
        self.existing = _by_key(Range.objects, "code", (r["range_code"] for r in rows),
                                "id", "name", "whole_catalog", "starts_at", "ends_at")
        groups: dict[str, _Item] = {}
        first_row: dict[str, tuple[int, dict]] = {}
        for row in self.rows(rows):
            code = row.cell(report, "range_code", _slug, 64)
            shared = {}
            if row.has("name"):
                shared["name"] = row.cell(report, "name", _text, 120, True)
            if row.has("channels"):
                shared["channels"] = row.cell(report, "channels", self._set_of, channels, "channel")
            if row.has("stores"):
                shared["stores"] = row.cell(report, "stores", self._set_of, stores, "store")
            if row.has("starts_at"):
                shared["starts_at"] = row.cell(report, "starts_at", _moment)
            if row.has("ends_at"):
                shared["ends_at"] = row.cell(report, "ends_at", _moment)
            sku = row["sku"]
            variant_id = None
            if sku and sku != WHOLE_CATALOGUE:
                variant_id = row.cell(report, "sku", _known, variants, "SKU")
            if code is _BAD:
                continue
            group = groups.get(code)
            if group is None:
                group = groups[code] = _Item([], code, {"whole": False, "variants": {}, **shared})
                first_row[code] = (row.line, shared)
                self._check_range(row, code, shared)
            else:
                first_line, first_shared = first_row[code]
                for column, value in shared.items():
                    if value is not _BAD and first_shared.get(column) is not _BAD and value != first_shared.get(column):
                        report.add(row.line, column, f"differs from line {first_line}, the first row of range {code}")
            group.lines.append(row.line)
            self._add_sku(group, row, sku, variant_id)
        return list(groups.values())

    def _check_range(self, row: _Row, code: str, shared: dict) -> None:
        saved = self.existing.get(code)
        if saved is None and not shared.get("name"):
            self.report.add(row.line, "name", f"the new range {code} needs a name")
        starts = shared.get("starts_at") or (saved["starts_at"] if saved else timezone.now())
        ends = shared.get("ends_at", saved["ends_at"] if saved else None)
        if _BAD not in (starts, ends) and ends is not None and ends <= starts:
            self.report.add(row.line, "ends_at", "the range must end after it starts (starts_at)")

    def _add_sku(self, group: _Item, row: _Row, sku: str, variant_id) -> None:
        members = group.fields["variants"]
        if sku == WHOLE_CATALOGUE:
            group.fields["whole"] = row.line
        elif variant_id not in (None, _BAD):
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
        codes = _codes(value)
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise _Invalid(f"there is no {what} {', '.join(unknown)}")
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
        _insert(through, add)
        return changed


class _Stock(_Plan):
    """Counted quantities: on hand becomes the count through the ledger (a count movement for each
    store and SKU whose on hand differs). A count below what is promised or unavailable is refused."""

    kind = "stock"

    def check(self, rows):
        report = self.report
        self.variants = {v.sku: v for v in _matching(Variant.objects.only("id", "sku"), "sku", (r["sku"] for r in rows))}
        self.locations = {l.code: l for l in Location.objects.filter(code__in={r["store"] for r in rows})}
        seen: dict[tuple, int] = {}
        items = []
        for row in self.rows(rows):
            location = row.cell(report, "store", _known, self.locations, "store (by code)")
            variant = row.cell(report, "sku", _known, self.variants, "SKU")
            counted = row.cell(report, "counted", _whole, minimum=0)
            if _BAD not in (location, variant):
                _first_line(report, seen, (location.pk, variant.pk), row.line, "sku",
                            f"{variant.sku} at {location.code}")
            items.append(_Item([row.line], (location, variant), {"counted": counted}))
        self._refuse_below_promised([i for i in items if i.lines[0] not in report.bad_lines])
        return items

    def _refuse_below_promised(self, items: list[_Item]) -> None:
        by_location: dict[int, list[_Item]] = {}
        for item in items:
            by_location.setdefault(item.key[0].pk, []).append(item)
        for location_id, located in by_location.items():
            levels = (StockLevel.objects.filter(location_id=location_id)
                      .annotate(held=F("committed") + F("reserved") + F("unavailable")).values("variant_id", "held"))
            promised = {row["variant_id"]: row["held"]
                        for row in _matching(levels, "variant_id", (i.key[1].pk for i in located))}
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


PLANS: dict[str, type[_Plan]] = {plan.kind: plan for plan in (_Products, _Variants, _Prices, _Ranges, _Stock)}


# The service ----------------------------------------------------------------------------------


def csv_import(
    *, kind: str, file: IO[str], good_rows_only: bool = False, dry_run: bool = False, actor=None,
    reference: str = "csv-import", progress: Progress | None = None,
) -> ImportResult:
    """Check every row of a CSV file of `kind` and, when all are good (or `good_rows_only`), apply it in
    one transaction. Open the file with newline="" (and encoding "utf-8-sig"). A dry run applies and
    rolls back, so its counts are exactly what a real import would do."""
    if kind not in PLANS:
        raise ValueError(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
    progress = progress or _no_progress
    result = ImportResult(kind=kind, dry_run=dry_run, good_rows_only=good_rows_only)
    report = _Report(result.errors)
    rows = _read(kind, file, report, progress)
    if rows is None:
        result.refused = True
        return result
    result.rows = len(rows) + len(report.bad_lines)  # rows with the wrong number of cells are bad already
    plan = PLANS[kind](report, progress, actor, reference[:64])
    try:
        with transaction.atomic():
            items = plan.check(rows)
            good = [i for i in items if not report.bad_lines.intersection(i.lines)]
            result.skipped_rows = result.rows - sum(len(i.lines) for i in good)
            if report.errors and not (good_rows_only and good):
                result.refused = True
                return result
            plan.write(good, result)
            if dry_run:
                transaction.set_rollback(True)
    except (DatabaseError, DomainError) as refusal:
        result.created = result.updated = result.unchanged = 0
        result.errors.append(RowError(0, "", f"The database refused the import, so nothing was saved: {refusal}"))
        result.refused = True
        return result
    result.imported = not dry_run
    return result


# Export ---------------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).isoformat() if moment else ""


def _yes(value: bool) -> str:
    return "true" if value else "false"


def csv_rows(*, kind: str) -> Iterator[list[str]]:
    """The header and every record of `kind` in the import's columns, so an export imports as a no-op."""
    if kind not in COLUMNS:
        raise ValueError(f"Unknown kind {kind!r}; use one of {', '.join(KINDS)}.")
    yield list(COLUMNS[kind])
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
        shared = [channels.get(range_.pk, ""), stores.get(range_.pk, ""), _when(range_.starts_at), _when(range_.ends_at)]
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
