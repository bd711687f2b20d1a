"""Where a checkout's CPU goes, one request at a time: guest shopping trips through django.test.Client in this
process, against PostgreSQL, with each request's CPU, SQL statements and commits counted exactly.

Run from the project root (the bench creates, after dropping, its own database `bench_checkout_profile` on the
server DATABASE_URL names, loads a small catalog with bench/checkout.py's load_catalog, and drops it at the end):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/checkout_profile.py [--trips 300] [--pay both] [--show-sql] [--profile]

A trip: POST /api/v1/cart/lines/ (a random SKU, 1-2 units, opening a new guest cart), POST /api/v1/cart/lines/ again
(one more of that SKU, to the cart now open: the add a shopper makes after their first), then POST /api/v1/checkout/ (pickup
at a random store, a fresh Idempotency-Key), paying at pickup or by card: the card is made at the local Stripe
double (orders.stripe_double) first, as the card form would, and is not measured. Per payment method, --warmup
trips run first and do not count; then --trips trips are measured. As in bench/checkout.py (and as the apps do),
no request sends cookies: the cart is named by the X-Cart-Token header. Per step it prints the median and p95 of:

- Python CPU: time.process_time() around the request. The request is what gunicorn would run: the test client
  leaves out request_started's close_old_connections() (which, with CONN_HEALTH_CHECKS, makes the request's first
  query pay a `SELECT 1` health check), so the bench calls it before and after each request, inside the window.
  Not there: gunicorn's own HTTP parsing; there instead: django.test.Client building the WSGI request.
- PostgreSQL CPU: the CPU of the one backend serving this process, from /proc/<backend pid>/schedstat (ns), read
  before and after the request. The server must run on this machine.
- SQL statements: every execute/executemany sent through a Django cursor (connection.execute_wrapper, savepoints
  included and also counted apart), plus the health check's `SELECT 1` (connection.is_usable, which bypasses
  Django's cursors, wrapped). BEGIN, COMMIT and ROLLBACK are not statements here; they are counted next.
- COMMITs: connection.commit and connection.rollback are wrapped on the connection, and count when psycopg sends
  a COMMIT/ROLLBACK (the transaction status is not idle: an atomic block that ran no statement sends nothing);
  a statement run under autocommit is a transaction of its own, and one that writes (INSERT/UPDATE/DELETE) a
  commit of its own. "commits" = COMMITs sent + writing autocommit statements; "transactions" = COMMITs +
  ROLLBACKs + every autocommit statement (reads and the health check too). After each measured pass the
  transactions counted are compared with PostgreSQL's own count (pg_stat_database.xact_commit + xact_rollback).
- Stripe: stripe's HTTPClient.request_with_retries is wrapped with a timer: the wall time spent waiting on the
  double, and the Python CPU spent in those calls, are reported apart. The double runs in its own process, so
  its CPU is never in the Python CPU figure.

One extra trip per payment method then runs under django.test.utils.CaptureQueriesContext (untimed) to check the
counter against Django's own log, and --show-sql prints that checkout's statements. --profile runs another
--trips trips per payment method with pyinstrument sampling CPU time (time.process_time) around each checkout
(or, with --profile-step, each first or later cart add),
and prints the functions with the most own time; profiled requests are slower and are not in the figures above.
"""
import argparse
import json
import os
import platform
import random
import re
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.checkout import STRIPE_KEY, code_version, free_port, load_catalog, new_card, percentile  # noqa: E402
from bench.database import (  # noqa: E402
    close_and_drop,
    recreate_database,
    server_url,
    setup_django,
    without_password,
)
from orders.stripe_double import start_local_stripe  # noqa: E402

BENCH_DB = "bench_checkout_profile"
PAYING = {"card": ["card"], "pickup": ["pay_at_pickup"], "both": ["card", "pay_at_pickup"]}
CART, CHECKOUT = "POST /api/v1/cart/lines/", "POST /api/v1/checkout/"
METHOD_NAMES = {"card": "card", "pay_at_pickup": "pay at pickup"}
# The issue "Checkout at a fraction of the CPU". Server CPU = the web process's plus PostgreSQL's.
TARGETS = {
    ("checkout", "pay_at_pickup"): "≤ 25 ms server CPU, ≤ 14 SQL statements, ≤ 2 commits",
    ("checkout", "card"): "≤ 30 ms server CPU, not counting the Stripe double's own",
    ("cart", "pay_at_pickup"): "≤ 5 ms CPU",
    ("cart", "card"): "≤ 5 ms CPU",
    ("cart_again", "pay_at_pickup"): "≤ 5 ms CPU",
    ("cart_again", "card"): "≤ 5 ms CPU",
}
WRITES = re.compile(r"^\s*(?:WITH\b.*?\b)?(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE | re.DOTALL)
SAVEPOINT = re.compile(r"^\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT)\b", re.IGNORECASE)


def say(message: str = "") -> None:
    print(message, flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trips", type=int, default=300, help="measured shopping trips per payment method (300)")
    parser.add_argument("--warmup", type=int, default=30, help="trips per payment method run first, not counted (30)")
    parser.add_argument("--pay", choices=list(PAYING), default="both",
                        help="card, pickup, or both: a card pass, then a pay-at-pickup pass (default both)")
    parser.add_argument("--stores", type=int, default=5, help="stores offering pickup (default 5)")
    parser.add_argument("--variants", type=int, default=100, help="variants in the catalog (default 100)")
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one typical checkout")
    parser.add_argument("--profile", action="store_true",
                        help="profile --trips more checkouts per payment method with pyinstrument (CPU time)")
    parser.add_argument("--top", type=int, default=25, help="functions listed by own time with --profile (25)")
    parser.add_argument("--profile-step", choices=["checkout", "cart", "cart_again"], default="checkout",
                        help="the request --profile samples: the checkout (default), the first cart add (which "
                             "opens the cart) or the add to the open cart")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15",
                        help="the Celery broker the checkout hands its confirmation to, as in production (default "
                             "redis://127.0.0.1:6379/15, purged afterwards; no worker runs); 'none': no broker, so "
                             "the confirmation is sent inside the request, as in the demo")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    return parser.parse_args()


def reproduce_command(args: argparse.Namespace, admin_url: str) -> str:
    flags = [f"--trips {args.trips}", f"--warmup {args.warmup}", f"--pay {args.pay}", f"--stores {args.stores}",
             f"--variants {args.variants}", f"--broker {shlex.quote(args.broker)}"]
    flags += ["--show-sql"] * args.show_sql + [f"--profile --top {args.top} --profile-step {args.profile_step}"] * args.profile
    return (f"DATABASE_URL={shlex.quote(without_password(admin_url))} .venv/bin/python bench/checkout_profile.py "
            + " ".join(flags))


# What the connection sends ----------------------------------------------------------------------


@dataclass
class Sent:
    """What one request sent PostgreSQL over the Django connection."""

    statements: list[tuple[bool, str, float]] = field(default_factory=list)  # (inside a transaction, SQL, seconds)
    health_checks: int = 0
    commits_sent: int = 0
    rollbacks_sent: int = 0

    @property
    def savepoints(self) -> int:
        return sum(bool(SAVEPOINT.match(sql)) for _, sql, _ in self.statements)

    @property
    def autocommit_writes(self) -> int:
        return sum(not in_tx and bool(WRITES.match(sql)) for in_tx, sql, _ in self.statements)

    @property
    def autocommit_statements(self) -> int:
        return sum(not in_tx for in_tx, _, _ in self.statements) + self.health_checks

    @property
    def statement_count(self) -> int:
        return len(self.statements) + self.health_checks

    @property
    def commits(self) -> int:
        return self.commits_sent + self.autocommit_writes

    @property
    def transactions(self) -> int:
        return self.commits_sent + self.rollbacks_sent + self.autocommit_statements


class Wire:
    """Counts what the default connection sends: statements through Django's cursors (execute_wrapper), the
    health check (is_usable) and the COMMITs and ROLLBACKs psycopg really sends (commit/rollback wrapped)."""

    def __init__(self, connection):
        self.connection = connection
        self.sent = Sent()
        for name, counter in (("commit", "commits_sent"), ("rollback", "rollbacks_sent")):
            setattr(connection, name, self._ending(getattr(connection, name), counter))
        is_usable = connection.is_usable

        def counted_is_usable():
            self.sent.health_checks += 1
            return is_usable()

        connection.is_usable = counted_is_usable
        connection.execute_wrappers.append(self._execute)

    def _ending(self, original, counter: str):
        def ending():
            raw = self.connection.connection
            if raw is not None and raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                setattr(self.sent, counter, getattr(self.sent, counter) + 1)
            return original()

        return ending

    def _execute(self, execute, sql, params, many, context):
        in_transaction, started = not self.connection.get_autocommit(), time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.sent.statements.append((in_transaction, sql, time.perf_counter() - started))

    def take(self) -> Sent:
        sent, self.sent = self.sent, Sent()
        return sent


def backend_cpu_ns(connection) -> tuple[int, int] | None:
    """(backend pid, its CPU so far in ns) of the connection's PostgreSQL backend, from /proc/<pid>/schedstat."""
    if connection.connection is None:
        return None
    pid = connection.connection.info.backend_pid
    try:
        return pid, int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class StripeMeter:
    """Wall and CPU time inside stripe's HTTP calls (each a request to the double and its retries)."""

    def __init__(self):
        import stripe

        self.calls, self.wall, self.cpu = 0, 0.0, 0.0
        original = stripe.HTTPClient.request_with_retries
        meter = self

        def timed(client, *args, **kwargs):
            meter.calls += 1
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return original(client, *args, **kwargs)
            finally:
                meter.wall += time.perf_counter() - w0
                meter.cpu += time.process_time() - c0

        stripe.HTTPClient.request_with_retries = timed

    def take(self) -> tuple[int, float, float]:
        taken = self.calls, self.wall, self.cpu
        self.calls, self.wall, self.cpu = 0, 0.0, 0.0
        return taken


# Requests ---------------------------------------------------------------------------------------


@dataclass
class Sample:
    step: str  # "cart" (a new cart's first add), "cart_again" (an add to that open cart) or "checkout"
    method: str  # how the trip pays
    status: int
    cpu_ms: float
    wall_ms: float
    pg_ms: float | None  # None when the backend changed (a new connection) during the request
    sent: Sent
    stripe_calls: int
    stripe_wall_ms: float
    stripe_cpu_ms: float

    @property
    def server_ms(self) -> float | None:
        return None if self.pg_ms is None else self.cpu_ms + self.pg_ms


class Shopper:
    def __init__(self, *, client, connection, wire: Wire, stripe: StripeMeter, stripe_port: int, skus: list[str],
                 stores: list[str], seed: int):
        self.client, self.connection, self.wire, self.stripe = client, connection, wire, stripe
        self.stripe_port, self.skus, self.stores = stripe_port, skus, stores
        self.rng = random.Random(seed)
        self.trips = 0

    def request(self, step: str, method: str, path: str, body: dict, headers: dict, around=None) -> tuple[Sample, dict]:
        from django.db import close_old_connections

        self.client.cookies.clear()  # like bench/checkout.py's shoppers and the apps: the cart token, no cookies
        self.wire.take()
        self.stripe.take()
        pg0 = backend_cpu_ns(self.connection)
        w0, c0 = time.perf_counter(), time.process_time()
        if around:
            around.start()
        close_old_connections()  # request_started, which the test client leaves out
        response = self.client.post(path, data=json.dumps(body), content_type="application/json",
                                    headers={"Accept": "application/json", **headers})
        close_old_connections()  # request_finished, likewise
        if around:
            around.stop()
        c1, w1 = time.process_time(), time.perf_counter()
        pg1 = backend_cpu_ns(self.connection)
        calls, stripe_wall, stripe_cpu = self.stripe.take()
        pg_ms = (pg1[1] - pg0[1]) / 1e6 if pg0 and pg1 and pg0[0] == pg1[0] else None
        sample = Sample(step, method, response.status_code, (c1 - c0) * 1000, (w1 - w0) * 1000, pg_ms,
                        self.wire.take(), calls, stripe_wall * 1000, stripe_cpu * 1000)
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        return sample, payload

    def trip(self, method: str, around_checkout=None, around_cart=None, around_cart_again=None) -> list[Sample]:
        """A cart add (opening a new cart), one more unit of the same SKU added to that open cart, and a
        checkout; `around_…` (start(), stop()) are started and stopped around those requests."""
        self.trips += 1
        cart, payload = self.request("cart", method, "/api/v1/cart/lines/",
                                     {"sku": self.rng.choice(self.skus), "quantity": self.rng.randint(1, 2)}, {},
                                     around=around_cart)
        if cart.status != 201:
            raise SystemExit(f"adding to the cart answered {cart.status}: {payload}")
        again, payload = self.request("cart_again", method, "/api/v1/cart/lines/",
                                      {"sku": payload["lines"][0]["sku"], "quantity": 1},
                                      {"X-Cart-Token": payload["token"]}, around=around_cart_again)
        if again.status != 201:
            raise SystemExit(f"adding to the open cart answered {again.status}: {payload}")
        paying = {"payment_method": method}
        if method == "card":
            status, card = new_card(self.stripe_port)
            if status != 200:
                raise SystemExit(f"the Stripe double refused to make a card: {status} {card}")
            paying["payment_method_id"] = card["id"]
        checkout, placed = self.request(
            "checkout", method, "/api/v1/checkout/",
            {"fulfilment": "pickup", "store": self.rng.choice(self.stores), **paying,
             "email": f"profile.{self.trips}@bench.example"},
            {"X-Cart-Token": payload["token"], "Idempotency-Key": str(uuid.uuid4())}, around=around_checkout)
        if checkout.status != 201:
            raise SystemExit(f"checkout ({METHOD_NAMES[method]}) answered {checkout.status}: {placed}")
        return [cart, again, checkout]


# PostgreSQL's own count -------------------------------------------------------------------------


def flush_and_count(connection, wire: Wire, admin_url: str) -> tuple[int, int]:
    """Transactions PostgreSQL has counted on the bench database so far (committed + rolled back), after making
    the bench's backend flush its statistics (pg_stat_force_next_flush); and the transactions that flushing took
    itself (that statement, and the health check before it when a request came last), which that count includes."""
    wire.take()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    own = wire.take().transactions
    with psycopg.connect(admin_url, autocommit=True) as admin:
        count = admin.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                              (BENCH_DB,)).fetchone()[0]
    return count, own


# Reporting --------------------------------------------------------------------------------------


def spread(values: list[float], unit: str = "ms", digits: int = 1) -> str:
    if not values:
        return "n/a"
    return (f"median {statistics.median(values):.{digits}f} {unit}, p95 {percentile(values, 95):.{digits}f} {unit}"
            f", max {max(values):.{digits}f} {unit}")


def median_or_nan(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def counts(values: list[int]) -> str:
    low, high = min(values), max(values)
    median = statistics.median(values)
    return f"{median:g}" + (f" (from {low} to {high})" if low != high else " (every request)")


def step_report(samples: list[Sample], step: str, method: str) -> list[str]:
    name = {"cart": f"{CART}, a new cart's first add (trips paying {METHOD_NAMES[method]})",
            "cart_again": f"{CART}, one more to that open cart (trips paying {METHOD_NAMES[method]})",
            }.get(step, f"{CHECKOUT} paying {METHOD_NAMES[method]}")
    pg = [s.pg_ms for s in samples if s.pg_ms is not None]
    server = [s.server_ms for s in samples if s.server_ms is not None]
    sent = [s.sent for s in samples]
    lines = [
        f"{name}: {len(samples)} requests"
        + (f"   target {TARGETS[step, method]}" if (step, method) in TARGETS else ""),
        f"  Python CPU (process_time)    {spread([s.cpu_ms for s in samples])}",
        f"  PostgreSQL backend CPU       {spread(pg)}",
        f"  server CPU (the two)         {spread(server)}",
        f"  wall time                    {spread([s.wall_ms for s in samples])}",
        f"  SQL statements               {counts([s.statement_count for s in sent])}; of them savepoint statements "
        f"{counts([s.savepoints for s in sent])}, health-check SELECT 1 {counts([s.health_checks for s in sent])}",
        f"  commits                      {counts([s.commits for s in sent])}: COMMITs sent "
        f"{counts([s.commits_sent for s in sent])} + writes under autocommit "
        f"{counts([s.autocommit_writes for s in sent])}",
        f"  transactions                 {counts([s.transactions for s in sent])}: also ROLLBACKs "
        f"{counts([s.rollbacks_sent for s in sent])} and reads under autocommit (health check included) "
        f"{counts([s.autocommit_statements - s.autocommit_writes for s in sent])}",
    ]
    if any(s.stripe_calls for s in samples):
        lines += [
            f"  Stripe calls                 {counts([s.stripe_calls for s in samples])}; waiting on the double "
            f"(wall) {spread([s.stripe_wall_ms for s in samples])}",
            f"  Python CPU inside them       {spread([s.stripe_cpu_ms for s in samples])} (the SDK's and requests' "
            f"own work, in the Python CPU above; the double's CPU is not)",
            f"  Python CPU besides them      {spread([s.cpu_ms - s.stripe_cpu_ms for s in samples])}",
        ]
    return lines


def typical(samples: list[Sample]) -> Sample:
    """The last request whose statement count is the median one."""
    median = statistics.median_low([s.sent.statement_count for s in samples])
    return [s for s in samples if s.sent.statement_count == median][-1]


def one_line(sql: str, width: int = 200) -> str:
    sql = re.sub(r"\s+", " ", sql).strip()
    sql = re.sub(r"(%s, ){4,}%s", "%s, …, %s", sql)
    return sql if len(sql) <= width else sql[: width - 1] + "…"


class Captured:
    """CaptureQueriesContext with the start()/stop() of a profiler, to put around one request."""

    def __init__(self, connection):
        from django.test.utils import CaptureQueriesContext

        self.context = CaptureQueriesContext(connection)

    def start(self):
        self.context.__enter__()

    def stop(self):
        self.context.__exit__(None, None, None)


def capture_check(shopper: Shopper, method: str, connection, show_sql: bool) -> list[str]:
    """One more checkout, under CaptureQueriesContext: Django's log against the counter, and the statements."""
    captured, captured_cart, captured_again = Captured(connection), Captured(connection), Captured(connection)
    cart, again, checkout = shopper.trip(method, around_checkout=captured, around_cart=captured_cart,
                                         around_cart_again=captured_again)
    logged = captured.context.captured_queries
    markers = Counter(q["sql"] for q in logged if q["sql"] in ("BEGIN", "COMMIT", "ROLLBACK"))
    statements = len(logged) - markers.total()
    sent = checkout.sent
    lines = [f"check, one more {METHOD_NAMES[method]} checkout under CaptureQueriesContext: Django logged "
             f"{len(logged)} entries, {statements} statements + {', '.join(f'{n} {m}' for m, n in markers.items())};"
             f" the counter saw {len(sent.statements)} statements through Django "
             f"{'(the same)' if len(sent.statements) == statements else '(DIFFERENT)'} + {sent.health_checks} "
             f"health check (not in Django's log), and {sent.commits_sent} COMMITs sent"]
    if show_sql:
        for what, request, log in (("add to cart (opening it)", cart, captured_cart.context.captured_queries),
                                   ("add to the open cart", again, captured_again.context.captured_queries),
                                   ("checkout", checkout, logged)):
            lines += ["", f"statements of that trip's {what}, in order (T = inside a transaction, A = autocommit; "
                          f"ms from sending it to having its rows; BEGIN and COMMIT where Django logged them):"]
            lines += statement_lines(request.sent, log)
    return lines


def statement_lines(sent: "Sent", logged: list[dict]) -> list[str]:
    lines = ["    0 A     --   SELECT 1  (the health check, through psycopg directly)"] if sent.health_checks else []
    flags = iter(sent.statements)
    n = 0
    for query in logged:
        sql = query["sql"]
        if sql in ("BEGIN", "COMMIT", "ROLLBACK"):
            lines.append(f"      ---  {sql}")
            continue
        n += 1
        in_tx, _, seconds = next(flags, (None, "", float("nan")))
        lines.append(f"  {n:3d} {'T' if in_tx else 'A'} {seconds * 1000:5.2f}  {one_line(sql)}")
    return lines


def package_of(frame) -> str:
    """The installed package or the project's app a frame's code lives in; a built-in counts for its caller's."""
    while frame is not None and (frame.is_synthetic or not frame.file_path or frame.file_path.startswith("<")):
        frame = frame.parent
    if frame is None:
        return "?"
    path = Path(frame.file_path)
    parts = path.parts
    if "site-packages" in parts:
        installed = parts[parts.index("site-packages") + 1:-1] or [path.stem]
        # Django by its parts (django/db/models, django/core, …): most of a request's own time is there.
        depth = (3 if installed[1:2] == ("db",) else 2) if installed[0] == "django" else 1
        return "/".join(installed[:depth])
    try:
        return f"{path.relative_to(ROOT).parts[0]} (this project)"
    except ValueError:
        return "python (standard library)" if "python3" in frame.file_path else frame.file_path


def own_time_table(profiler, top: int, requests: int) -> list[str]:
    """The functions with the most own (exclusive) time over the profiled requests, and own time by package."""
    session = profiler.last_session
    root = session.root_frame(trim_stem=False) if session else None
    if root is None:
        return ["  (no samples)"]
    own: dict = defaultdict(float)
    packages: dict = defaultdict(float)
    inclusive: dict = defaultdict(float)
    stack = [(root, frozenset())]
    while stack:
        frame, above = stack.pop()
        key = (frame.function, frame.code_position_short() or "?")
        if not frame.is_synthetic:
            own[key] += frame.total_self_time
            packages[package_of(frame)] += frame.total_self_time
            if key not in above and package_of(frame).endswith("(this project)") \
                    and not package_of(frame).startswith("bench"):
                inclusive[key] += frame.time  # a recursive call is counted once, at its outermost frame
        stack.extend((child, above | {key}) for child in frame.children)
    total = sum(own.values())
    ranked = sorted(own.items(), key=lambda item: -item[1])[:top]
    lines = [f"  {seconds / total * 100:5.1f}%  {seconds * 1000 / requests:6.2f} ms  {function}  ({where})"
             for (function, where), seconds in ranked]
    lines += ["  the project's own functions by time spent in them and what they call (inclusive, ms per request):"]
    lines += [f"  {seconds / total * 100:5.1f}%  {seconds * 1000 / requests:6.2f} ms  {function}  ({where})"
              for (function, where), seconds in sorted(inclusive.items(), key=lambda item: -item[1])[:top]]
    lines += ["  own time by package: " + ", ".join(
        f"{name} {seconds / total * 100:.0f}%" for name, seconds in sorted(packages.items(), key=lambda i: -i[1])
        if seconds / total >= 0.01)]
    return lines


def machine_lines(pg_version: str) -> list[str]:
    cpu = platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import django

    return [f"machine:    {os.cpu_count()} cores ({cpu}), {platform.platform()}",
            f"software:   Python {platform.python_version()}, Django {django.get_version()}, PostgreSQL {pg_version}",
            f"code:       {code_version()}",
            "note:       in one process: no gunicorn, no network but the loopback to PostgreSQL and the double"]


# Main -------------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    admin_url = server_url(default="")
    if args.profile:
        try:
            import pyinstrument  # noqa: F401
        except ImportError:
            raise SystemExit("--profile needs pyinstrument: .venv/bin/pip install pyinstrument") from None
    command = reproduce_command(args, admin_url)
    say(f"reproduce: {command}\n")
    load_before = os.getloadavg()[0]
    logs = Path(tempfile.mkdtemp(prefix="bench_checkout_profile_"))
    stripe_port = free_port()
    localstripe = None
    database_made = False
    try:
        say(f"creating database {BENCH_DB} …")
        pg_version = recreate_database(admin_url, BENCH_DB)
        database_made = True
        say(f"starting the Stripe double on port {stripe_port} …")
        localstripe = start_local_stripe(stripe_port, log=logs / "localstripe.log")
        # As gunicorn runs in bench/checkout.py: a persistent connection (health-checked per request), tasks
        # handed to the broker (or, with --broker none, run in the request), mail written out to files.
        os.environ.pop("CELERY_BROKER_URL", None)
        if args.broker != "none":
            os.environ["CELERY_BROKER_URL"] = args.broker
        setup_django(admin_url, BENCH_DB, migrate=False, CONN_MAX_AGE="600", ALLOWED_HOSTS="testserver",
                     STRIPE_API_BASE=f"http://127.0.0.1:{stripe_port}", STRIPE_SECRET_KEY=STRIPE_KEY,
                     LOG_LEVEL="ERROR", EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                     EMAIL_FILE_PATH=str(logs / "mail"))
        from django.db import connection
        from django.test import Client

        say("loading the catalog …")
        skus = load_catalog(stores=args.stores, variants=args.variants)
        stores = [f"BENCH-{n:02d}" for n in range(1, args.stores + 1)]

        wire, stripe_meter = Wire(connection), StripeMeter()
        shopper = Shopper(client=Client(), connection=connection, wire=wire, stripe=stripe_meter,
                          stripe_port=stripe_port, skus=skus, stores=stores, seed=7)
        results: dict[str, list[Sample]] = {}
        xacts: dict[str, tuple[int, int]] = {}
        whole: dict[str, tuple[float | None, float]] = {}  # CPU per trip over the whole pass: PostgreSQL, Python
        for method in PAYING[args.pay]:
            say(f"{METHOD_NAMES[method]}: {args.warmup} warm-up trips, then {args.trips} measured …")
            for _ in range(args.warmup):
                shopper.trip(method)
            before, _ = flush_and_count(connection, wire, admin_url)
            pg0, py0 = backend_cpu_ns(connection), time.process_time()
            samples = [s for _ in range(args.trips) for s in shopper.trip(method)]
            pg1, py1 = backend_cpu_ns(connection), time.process_time()
            after, flushing = flush_and_count(connection, wire, admin_url)
            results[method] = samples
            xacts[method] = (after - before - flushing, sum(s.sent.transactions for s in samples))
            whole[method] = ((pg1[1] - pg0[1]) / 1e6 / args.trips if pg0 and pg1 and pg0[0] == pg1[0] else None,
                             (py1 - py0) * 1000 / args.trips)

        checks = [line for method in PAYING[args.pay]
                  for line in capture_check(shopper, method, connection, args.show_sql) + [""]]

        profiles = {}
        if args.profile:
            from pyinstrument import Profiler
            from pyinstrument.stack_sampler import get_stack_sampler

            get_stack_sampler().timer_func = time.process_time  # sample CPU time, not wall time
            for method in PAYING[args.pay]:
                say(f"profiling {args.trips} {METHOD_NAMES[method]} trips' {args.profile_step} requests …")
                profiler = Profiler(interval=0.0005, async_mode="disabled")
                around = {f"around_{args.profile_step}": profiler}
                for _ in range(args.trips):
                    shopper.trip(method, **around)
                profiles[method] = profiler
            get_stack_sampler().timer_func = None

        load_after = os.getloadavg()[0]
        cores = os.cpu_count() or 1
        lines = ["", "=" * 110, f"reproduce: {command}", "",
                 f"{args.trips} measured trips per payment method after {args.warmup} warm-up trips; "
                 f"{args.stores} stores × {args.variants} variants; one process, one persistent connection",
                 f"1-minute load average: {load_before:.2f} before, {load_after:.2f} after ({cores} cores)"
                 + ("  <- other work was running: CPU figures hold up better than wall times"
                    if max(load_before, load_after) > cores / 2 else "")]
        for method, samples in results.items():
            lines += ["", f"--- trips paying {METHOD_NAMES[method]} " + "-" * 80, ""]
            for step in ("cart", "cart_again", "checkout"):
                lines += step_report([s for s in samples if s.step == step], step, method) + [""]
            pg_whole, py_whole = whole[method]
            pg_requests = sum(s.pg_ms for s in samples if s.pg_ms is not None) / args.trips
            py_requests = sum(s.cpu_ms for s in samples) / args.trips
            lines.append("CPU per trip over the whole pass (means): PostgreSQL backend "
                         + (f"{pg_whole:.1f} ms" if pg_whole is not None else "n/a (the connection changed)")
                         + f", its readings around each request add up to {pg_requests:.1f} ms; this process "
                         f"{py_whole:.1f} ms, its requests {py_requests:.1f} ms (the rest is the bench's: making "
                         f"cards at the double, reading /proc, bookkeeping)")
            pg_count, counted = xacts[method]
            lines.append(f"transactions over the {args.trips} trips: PostgreSQL counted {pg_count} "
                         f"(pg_stat_database xact_commit + xact_rollback, autovacuum's included), the counter "
                         f"{counted}" + (" (same)" if pg_count == counted else f" (differ by {pg_count - counted})"))
        lines += ["", "-" * 110, ""] + checks
        lines += ["TARGETS (medians; server CPU = Python + PostgreSQL backend)"]
        for method, samples in results.items():
            checkouts = [s for s in samples if s.step == "checkout"]
            server = [s.server_ms for s in checkouts if s.server_ms is not None]
            lines.append(
                f"  checkout, {METHOD_NAMES[method]:<14} server CPU {median_or_nan(server):5.1f} ms "
                f"(Python {median_or_nan([s.cpu_ms for s in checkouts]):.1f}), "
                f"{median_or_nan([s.sent.statement_count for s in checkouts]):g} statements (health check "
                f"included), "
                f"{median_or_nan([s.sent.commits for s in checkouts]):g} commits   target "
                f"{TARGETS['checkout', method]}")
            for step, what in (("cart", "add to cart, opening it"), ("cart_again", "add to the open cart")):
                carts = [s for s in samples if s.step == step]
                lines.append(
                    f"  {what:<24} ({METHOD_NAMES[method]} trips) Python CPU "
                    f"{median_or_nan([s.cpu_ms for s in carts]):.1f} ms, server CPU "
                    f"{median_or_nan([s.server_ms for s in carts if s.server_ms is not None]):.1f} ms, "
                    f"{median_or_nan([s.sent.statement_count for s in carts]):g} statements, "
                    f"{median_or_nan([s.sent.commits for s in carts]):g} commits   target ≤ 5 ms CPU")
        for method, profiler in profiles.items():
            lines += ["", f"top {args.top} functions by own CPU time, {args.trips} profiled {METHOD_NAMES[method]} "
                          f"trips' {args.profile_step} requests (pyinstrument sampling time.process_time every "
                          f"0.5 ms; % of the profiled CPU, "
                          f"ms per request; profiling slows them down):"]
            lines += own_time_table(profiler, args.top, args.trips)
        lines += ["", *machine_lines(pg_version), "", f"reproduce: {command}", "=" * 110]
        say("\n".join(lines))
        return 0
    finally:
        if localstripe is not None and localstripe.poll() is None:
            localstripe.terminate()
            localstripe.wait(timeout=15)
        if args.broker != "none" and "config.celery" in sys.modules:
            from config.celery import app

            say(f"purged {app.control.purge()} confirmations left waiting at the broker")
        if database_made:
            close_and_drop(admin_url, BENCH_DB, keep=args.keep, logs=logs, say=say)


if __name__ == "__main__":
    sys.exit(main())
