"""What the benchmarks that run in-process share: their own database on the PostgreSQL server named by
DATABASE_URL (created fresh, dropped at the end) and Django set up against it, migrated."""
import os
from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def recreate_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(server: str, name: str, **environ: str) -> None:
    """Point Django at the bench database (no query log, no persistent connections) and migrate it."""
    os.environ.update({
        "DATABASE_URL": with_database(server, name), "SECRET_KEY": "bench-only-secret-key",
        "DEBUG": "0", "CONN_MAX_AGE": "0", "DJANGO_SETTINGS_MODULE": "config.settings", **environ,
    })
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
