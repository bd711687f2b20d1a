"""INSERT … RETURNING id for the few rows written on every checkout and stock hold (a reservation and its
lines, a ledger movement, an outbox message), with the SQL text made once per model and row count instead
of compiled by the ORM on every call: that compilation cost more CPU than the database spends on these
inserts (bench/stock_reserve.py, bench/checkout_profile.py). Values still go through each field's
get_db_prep_save, so they are stored exactly as Model.save() would store them, on PostgreSQL and SQLite.
prepared_cursor() runs such fixed SQL as a prepared statement on PostgreSQL."""
import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections
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


def prepared_cursor():
    """A cursor for a hot path's fixed SQL text that PostgreSQL parses and plans once per connection (a prepared
    statement; psycopg keeps the last 100 per connection). Django's own cursors bind the values into the text, so
    the server parses and plans every run afresh, which cost a one-line stock hold as much database CPU as its
    writes (bench/stock_reserve.py). Django turns psycopg's preparing off unless OPTIONS sets prepare_threshold,
    which config.settings does unless DB_PREPARED_STATEMENTS=0 (for a pooler that cannot keep them). The values
    travel apart from the text, so the SQL must cast any whose type PostgreSQL cannot tell from where it stands.
    Django still wraps it (its error translation, its execute_wrapper and the query log see each statement).
    Django's own cursor on SQLite, or with preparing turned off."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each use of the `connection` proxy looks it up again
    if db.vendor != "postgresql":
        return db.cursor()
    db.ensure_connection()
    if db.connection.prepare_threshold is None:  # turned off (DB_PREPARED_STATEMENTS)
        return db.cursor()
    db.validate_thread_sharing()
    cursor_class, debug_wrapper = _prepared_classes()
    raw = cursor_class(db.connection)
    return debug_wrapper(raw, db) if db.queries_logged else db.make_cursor(raw)


@functools.cache
def _prepared_classes():
    from django.db.backends.postgresql.base import ServerBindingCursor
    from django.db.backends.utils import CursorDebugWrapper

    class PreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

    class PreparedDebugWrapper(CursorDebugWrapper):
        """Logs each statement with its values in, as Django logs its own: psycopg keeps no text of a prepared run."""

        def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
            if not many:
                sql, use_last_executed_query = self.db.ops.compose_sql(sql, params), False
            return super().debug_sql(sql, params, use_last_executed_query, many)

    return PreparedCursor, PreparedDebugWrapper
