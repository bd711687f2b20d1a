"""Moving a model from one app to another without losing a row: the lower app's migration creates the
new table, and the higher app's migration (which may depend on it) copies every row, ids included,
before deleting its own. Used from migrations, so it takes the historical models by label."""
from django.core.management.color import no_style


def copy_rows(apps, schema_editor, *, source: str, target: str) -> None:
    """INSERT … SELECT every row of `source` ("app.Model") into `target`, keeping ids, then move the target's
    id sequence past them (PostgreSQL; SQLite's AUTOINCREMENT follows by itself)."""
    source_model, target_model = apps.get_model(source), apps.get_model(target)
    quote = schema_editor.quote_name
    columns = ", ".join(quote(field.column) for field in target_model._meta.concrete_fields)
    schema_editor.execute(f"INSERT INTO {quote(target_model._meta.db_table)} ({columns}) "
                          f"SELECT {columns} FROM {quote(source_model._meta.db_table)}")
    for statement in schema_editor.connection.ops.sequence_reset_sql(no_style(), [target_model]):
        schema_editor.execute(statement)


def moved(source: str, target: str):
    """A RunPython pair: copy `source` into `target` going forward, and back again when unapplied."""
    def forward(apps, schema_editor):
        copy_rows(apps, schema_editor, source=source, target=target)

    def backward(apps, schema_editor):
        copy_rows(apps, schema_editor, source=target, target=source)

    return forward, backward
