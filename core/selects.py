"""Model instances from a SELECT written by hand, for the few reads every cart change and checkout makes (the
cart by its token, its lines with their variants and products, a variant by SKU): compiling those querysets
cost a cart add more CPU than anything else it did once its writes were cheap (bench/checkout_profile.py
--profile --profile-step cart_again). Each value goes through the converters the ORM would apply to that
column, and objects are made with Model.from_db, so they are the objects a queryset would have returned, on
PostgreSQL and SQLite. The read-side twin of core.inserts."""
from django.db import connection
from django.db.models import Model

_SPECS: dict[tuple, tuple[list[str], list]] = {}
_COLUMNS: dict[tuple, str] = {}


def columns(model: type[Model], alias: str = "") -> str:
    """The model's concrete columns, in field order, of the table named `alias` in the FROM clause (none: the
    only table, as in UPDATE … RETURNING)."""
    key = (model._meta.label, alias, connection.vendor)
    found = _COLUMNS.get(key)
    if found is None:
        prefix = f"{alias}." if alias else ""
        found = _COLUMNS[key] = ", ".join(f"{prefix}{connection.ops.quote_name(f.column)}"
                                          for f in model._meta.concrete_fields)
    return found


def _spec(model: type[Model]) -> tuple[list[str], list]:
    """The model's field attnames, and each column's converters, made once per model and database."""
    key = (model._meta.label, connection.vendor)
    found = _SPECS.get(key)
    if found is None:
        converters = []
        for field in model._meta.concrete_fields:
            col = field.get_col(model._meta.db_table)
            converters.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
        found = _SPECS[key] = ([f.attname for f in model._meta.concrete_fields], converters)
    return found


def instances(sql: str, params, *models: type[Model]) -> list[tuple[Model, ...]]:
    """Run `sql`, whose SELECT (or RETURNING) list is columns(model, alias) of each of `models` in turn, and
    return a tuple of instances (one per model) for each row."""
    specs = [(model, *_spec(model)) for model in models]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        objs, i = [], 0
        for model, names, converters in specs:
            values = []
            for col, funcs in converters:
                value = row[i]
                i += 1
                for func in funcs:
                    value = func(value, col, connection)
                values.append(value)
            objs.append(model.from_db(connection.alias, names, values))
        found.append(tuple(objs))
    return found


def any_of(column: str, ids) -> tuple[str, list]:
    """`column` is one of the ids, as SQL and its parameters: on PostgreSQL one array, bound as its text (psycopg
    adapts a list of hundreds item by item, and 500 constants plan slower than one array: bench/routing.py,
    bench/availability.py); elsewhere the numbers written into the SQL, int() letting nothing else in."""
    numbers = [int(pk) for pk in ids]
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", ["{" + ",".join(map(str, numbers)) + "}"]
    return f"{column} IN ({', '.join(map(str, numbers))})", []
