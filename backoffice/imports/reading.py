"""How a file is read and what is reported: the columns of each kind, the rows of a file, and the report of every
problem found (RowError, by line and column) and of what an import did (ImportResult)."""
import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from .cells import Invalid

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
# A cell a spreadsheet would run as a formula (=, +, -, @, or a tab or return first) is exported with a
# leading apostrophe, which spreadsheets show as text; the import takes the apostrophe off again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def to_spreadsheet(cell: str) -> str:
    return f"'{cell}" if cell.startswith(FORMULA_START) else cell


def from_spreadsheet(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


Progress = Callable[..., Iterable]  # tqdm's signature: progress(iterable, desc=..., total=..., unit=...)


# The report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int  # 1 is the header; 0 when the file as a whole was refused by the database
    column: str
    reason: str

    def __str__(self) -> str:
        if not self.line:
            return self.reason
        if self.column:
            return f"line {self.line}, column {self.column}: {self.reason}"
        return f"line {self.line}: {self.reason}"


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


class Report:
    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors
        self.bad_lines: set[int] = set()

    def add(self, line: int, column: str, reason: str) -> None:
        self.errors.append(RowError(line, column, reason))
        self.bad_lines.add(line)


def first_line(report: Report, seen: dict, key: Any, line: int, column: str, what: str) -> None:
    """Report a key that an earlier row of the file already gave."""
    if key in seen:
        report.add(line, column, f"{what} is also on line {seen[key]}")
    else:
        seen[key] = line


# Reading the file -----------------------------------------------------------------------------


BAD = object()  # what Row.cell gives for a cell it could not read


class Row:
    __slots__ = ("line", "values")

    def __init__(self, line: int, values: dict[str, str]) -> None:
        self.line, self.values = line, values

    def has(self, column: str) -> bool:
        return column in self.values

    def __getitem__(self, column: str) -> str:
        return self.values.get(column, "")

    def cell(self, report: Report, column: str, parse: Callable, *args, **kwargs) -> Any:
        """The parsed cell, or BAD after reporting why it could not be read."""
        try:
            return parse(self[column], *args, **kwargs)
        except Invalid as problem:
            report.add(self.line, column, str(problem))
            return BAD


def read(kind: str, file: IO[str], report: Report, progress: Progress) -> list[Row] | None:
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
            rows.append(Row(line, {name: from_spreadsheet(value.strip()) for name, value in zip(header, fields)}))
        return rows
    except UnicodeDecodeError:
        report.add(reader.line_num + 1, "", "is not UTF-8 text; save the file as “CSV UTF-8”")
    except csv.Error as problem:
        report.add(reader.line_num, "", f"cannot be read as CSV ({problem})")
    return None
