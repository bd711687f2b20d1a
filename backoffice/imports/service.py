"""The import service: csv_import reads a file of one kind, has that kind's plan check every row, and applies the
plan in one transaction when every row is good (or the caller asks to skip the bad ones)."""
from collections.abc import Iterable
from typing import IO, Any

from django.db import DatabaseError, transaction

from core.exceptions import DomainError

from .plan import Plan
from .prices import Prices
from .products import Products
from .ranges import Ranges
from .reading import KINDS, ImportResult, Progress, Report, RowError, read
from .stock import Stock
from .variants import Variants

PLANS: dict[str, type[Plan]] = {plan.kind: plan for plan in (Products, Variants, Prices, Ranges, Stock)}


def _no_progress(iterable: Iterable, **_: Any) -> Iterable:
    return iterable


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
    report = Report(result.errors)
    rows = read(kind, file, report, progress)
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
