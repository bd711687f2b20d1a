"""What the benchmarks that run in-process share: their own database on the PostgreSQL server named by
DATABASE_URL (created fresh, dropped at the end) and Django set up against it, migrated."""
import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def server_url(default: str = DEFAULT_SERVER) -> str:
    """The PostgreSQL server DATABASE_URL names (else `default`; "" makes it required), or exit saying why."""
    server = os.environ.get("DATABASE_URL", default)
    if not server.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server, e.g. DATABASE_URL=" + DEFAULT_SERVER)
    return server


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def recreate_database(server: str, name: str) -> str:
    """Drop and create the bench database; returns the server's version."""
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
        return conn.execute("SHOW server_version").fetchone()[0]


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(server: str, name: str, *, migrate: bool = True, **environ: str) -> None:
    """Point Django at the bench database (no query log, no persistent connections) and migrate it
    (worker processes of a bench that migrated already pass migrate=False)."""
    os.environ.update({
        "DATABASE_URL": with_database(server, name), "SECRET_KEY": "bench-only-secret-key",
        "DEBUG": "0", "CONN_MAX_AGE": "0", "DJANGO_SETTINGS_MODULE": "config.settings", **environ,
    })
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)


def tidy_tables(*tables: str) -> None:
    """Clear the tables' dead tuples (a hot row gathers one per commit) and start the next timed run from a
    fresh checkpoint, so no run pays for the one before."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("CHECKPOINT")


def close_and_drop(admin_url: str, name: str, *, keep: bool, logs, say) -> None:
    """End of a bench: close Django's connections (if it was set up), then drop its database unless kept."""
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()
    if keep:
        say(f"kept database {name} (--keep); logs in {logs}")
    else:
        drop_database(admin_url, name)
        say(f"dropped database {name}; logs in {logs}")


def run_workers(target, args_of, *, workers: int, seconds: float) -> tuple[int, float]:
    """Start `workers` spawned processes running target(*args_of(i), barrier, results), release them together,
    and return (the sum of what they counted, the longest time one took). Each puts ("ok", count, seconds) or
    ("error", traceback, 0) on `results`; any error ends the bench, naming it."""
    import multiprocessing as mp
    import queue

    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_of(i), barrier, results)) for i in range(workers)]
    for proc in procs:
        proc.start()
    try:
        barrier.wait(timeout=300)
    except Exception:
        pass  # a worker failed; its traceback is in the queue
    done, elapsed, errors = 0, 0.0, []
    for _ in procs:
        try:
            status, value, took = results.get(timeout=seconds + 300)
        except queue.Empty:
            errors.append("a worker did not report")
            break
        if status == "ok":
            done, elapsed = done + value, max(elapsed, took)
        else:
            errors.append(value)
    for proc in procs:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
    if errors:
        raise SystemExit("worker failed:\n" + "\n".join(errors))
    return done, elapsed


def repeat_timed(step, *, warmup: int, seconds: float, barrier, results) -> None:
    """A worker of run_workers: `warmup` untimed steps, wait for the others, then steps until `seconds` are up;
    reports how many."""
    import time

    for _ in range(warmup):
        step()
    barrier.wait()
    start = time.perf_counter()
    deadline, done = start + seconds, 0
    while time.perf_counter() < deadline:
        step()
        done += 1
    results.put(("ok", done, time.perf_counter() - start))
