"""CSV import and export for merchandisers: products, variants, prices, ranges and stock counts.
Every row is checked before anything is written; an import is one transaction, and re-importing a file changes nothing.

How a file is read
------------------
* The header names the columns (any order; the key columns of the kind are required). A column left out
  of the header leaves that field as it is on existing records (and at its default on new ones); a
  column present with an empty cell means "empty" (no barcode, no end date, every channel, …).
* Rows are checked in bulk: each kind looks its references up with a few queries (dicts by key), never
  one query per row. Every problem is reported as (line, column, reason); when there is any, nothing is
  imported unless the caller asks to import the good rows and skip the bad ones.
* Only records that differ are written (bulk_create / bulk_update / set-based SQL), so a repeat import
  (of the same file, or of an export) writes nothing: no new rows, no new stock movements.

Where each rule lives
---------------------
* reading.py: the columns of each kind, reading the header and rows, the report (RowError, ImportResult).
* cells.py: how one cell is read (text, codes, flags, numbers, amounts, dates) and the reasons it is refused.
* bulk.py: look-ups by key in chunks and the bulk writes (COPY on PostgreSQL).
* plan.py: the Plan every kind fills in (check the rows, then write only what differs).
* products.py, variants.py, prices.py, ranges.py, stock.py: each kind's own checks and writes.
* service.py: csv_import, the transaction around a plan. export.py: csv_rows and csv_export.
"""
from .export import csv_export, csv_rows
from .reading import COLUMNS, KINDS, ImportResult, RowError
from .service import csv_import

__all__ = ["COLUMNS", "KINDS", "ImportResult", "RowError", "csv_export", "csv_import", "csv_rows"]
