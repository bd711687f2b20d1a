"""Looking records up and writing them in bulk: look-ups by key a chunk of keys at a time, and inserts and updates
of many rows at once (COPY on PostgreSQL, bulk_create and bulk_update elsewhere)."""
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import connection
from django.db.models import JSONField

CHUNK = 5000


def matching(queryset, key: str, keys: Iterable) -> Iterator:
    """The rows of `queryset` whose `key` is one of `keys`: a query per CHUNK keys or, for more keys than
    that, one pass over the table (at 100,000 keys the IN lists cost more than reading every row)."""
    wanted = {k for k in keys if k not in ("", None)}
    if len(wanted) > CHUNK:
        value = (lambda row: row[key]) if queryset._fields else (lambda row: getattr(row, key))
        return (row for row in queryset.iterator(CHUNK) if value(row) in wanted)
    ordered = sorted(wanted)
    return (row for start in range(0, len(ordered), CHUNK)
            for row in queryset.filter(**{f"{key}__in": ordered[start:start + CHUNK]}))


def by_key(queryset, key: str, keys: Iterable, *fields: str) -> dict[Any, dict]:
    """Rows whose `key` is one of `keys`, by key, as dicts of `fields`."""
    return {row[key]: row for row in matching(queryset.values(key, *fields), key, keys)}


# Writing in bulk ------------------------------------------------------------------------------
# PostgreSQL takes new and changed rows by COPY: at 100,000s of rows, bulk_create and bulk_update spend
# most of their time preparing each value in Python (bench/import.py). Other databases use those.


def _copy(cursor, table: str, columns: list[str], records: list[dict], json_columns: Iterable[str] = ()) -> None:
    with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for record in records:
            for column in json_columns:
                record[column] = json.dumps(record[column])
            copy.write_row([record[c] for c in columns])


def insert(model, records: list[dict]) -> None:
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


def update(model, records: list[dict], names: Iterable[str]) -> None:
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
