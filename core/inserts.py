"""INSERT … RETURNING id for the few rows written on every checkout and stock hold (a reservation and its
lines, a ledger movement, an outbox message), with the SQL text made once per model and row count instead
of compiled by the ORM on every call: that compilation cost more CPU than the database spends on these
inserts (bench/stock_reserve.py, bench/checkout_profile.py). Values still go through each field's
get_db_prep_save, so they are stored exactly as Model.save() would store them, on PostgreSQL and SQLite."""
from django.db import connection
from django.db.models import Model

_SQL: dict[tuple, str] = {}


def insert_sql(objs: list[Model], *, unless_conflict: bool = False) -> tuple[str, list]:
    """The statement and its parameters that write `objs` (all of one model) and return their ids in order.
    With unless_conflict, a row that would break a unique constraint is skipped (ON CONFLICT DO NOTHING) and
    returns nothing."""
    meta = type(objs[0])._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    key = (meta.label, len(objs), unless_conflict, connection.vendor)
    sql = _SQL.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = _SQL[key] = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {', '.join([row] * len(objs))}"
            + (" ON CONFLICT DO NOTHING" if unless_conflict else "")
            + f" RETURNING {quote(meta.pk.column)}"
        )
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    return sql, params


def saved_as(obj: Model, pk) -> None:
    """Mark `obj` as the row just written with this id."""
    obj.pk, obj._state.adding, obj._state.db = pk, False, connection.alias


def insert(objs: list[Model], *, unless_conflict: bool = False) -> list[Model]:
    """Write `objs` in one statement, each given its id; returns them. With unless_conflict (one object only:
    with several, a skipped row could not be told apart) it returns [] when a conflict skipped it."""
    if unless_conflict and len(objs) != 1:
        raise ValueError("insert(unless_conflict=True) writes one object at a time")
    if not objs:
        return []
    sql, params = insert_sql(objs, unless_conflict=unless_conflict)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    if not ids:
        return []
    for obj, pk in zip(objs, ids, strict=True):
        saved_as(obj, pk)
    return objs
