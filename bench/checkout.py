"""Checkout throughput through the real HTTP stack, paying by card against paying at pickup: gunicorn in front
of PostgreSQL, a local Stripe double, and N concurrent guest shoppers who fill a cart and check out, over and over.

Run from the project root (DATABASE_URL names the server and a database to connect to for admin work;
the bench creates, after dropping, its own database `bench_checkout` there and drops it at the end):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/checkout.py [--pay both] [--seconds 15] [--shoppers 8]

Each shopper loop: POST /api/v1/cart/lines/ (a random SKU, 1-2 units; a new guest cart), then POST
/api/v1/checkout/ (pickup at a random store, a fresh Idempotency-Key). Paying by card, the shopper first
creates a card PaymentMethod at the double (as the card form would) and the checkout authorises it there;
paying at pickup (`"payment_method": "pay_at_pickup"`) no card is made and nothing goes to the double.
`--pay card` or `--pay pickup` runs one phase; `--pay both` (the default) runs the card phase and then the
pay-at-pickup phase, each with its own warm-up and measured window, on the same database and gunicorn,
and reports card orders/s ÷ pay-at-pickup orders/s. Card always runs first, so the pickup phase meets a
database already holding the card phase's orders. Before the first phase the shoppers warm gunicorn up for
--warmup seconds, paying each way in turn, so the workers' first, slow requests do not land in the first
phase's warm-up and measurement alone.

Orders per second counts the 201s of loops started after a phase's warm-up, over the wall time they took,
so it is the rate of whole shopping trips; each step's latency is reported apart, and so are the orders
completed in each half of the measured window, which show a run slowing down as it goes. The double is
orders.stripe_double: localstripe with its state kept in memory, so its persistence (localstripe on its
own rewrites its whole store to /tmp/localstripe.pickle on every write) does not slow card runs down as
the store grows. (localstripe still scans its whole store to list a charge's refunds whenever it answers
with a charge, a few ms more per confirm per thousand card payments: small beside a checkout here.)
Each measured window also reports the server's CPU per order: utime+stime (/proc/<pid>/stat) of the gunicorn
workers (the children of the master the bench starts) and of the PostgreSQL backends serving the bench
database (pid from pg_stat_activity; the server must run on this machine), read when the window opens, every
half second through it and when it closes, over the orders completed in it; web workers and PostgreSQL apart.
gunicorn runs with CONN_MAX_AGE set, so its backends persist; a process that starts or ends inside the window is
counted for what was seen of it, and the report says so. The shoppers' client and the Stripe double are not
counted (their CPU per order is shown apart), nor are PostgreSQL's shared processes (WAL writer, checkpointer).
Beside it: the transactions PostgreSQL counted per order, and how busy the machine's cores were, by whom.
As in production, checkouts hand their confirmation to a Celery worker through the broker (--broker, Redis by
default): the worker's own CPU per order is reported apart, its PostgreSQL backend inside the PostgreSQL figure.
At the end `manage.py verify_ledger` must find no drift, the orders in the database must match the 201s
counted in every phase (warm-ups included), and the card payments authorised must match the card orders.
"""
import argparse
import http.client
import json
import os
import platform
import random
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import (  # noqa: E402
    close_and_drop,
    recreate_database,
    server_url,
    with_database,
    without_password,
)
from orders.stripe_double import start_local_stripe  # noqa: E402

BENCH_DB = "bench_checkout"
CARD = {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2034",
        "card[cvc]": "123"}
STRIPE_KEY = "sk_test_bench_checkout"
# --pay → the payment methods, as the checkout API spells them, of the phases run in this order.
PHASES = {"card": ["card"], "pickup": ["pay_at_pickup"], "both": ["card", "pay_at_pickup"]}
PHASE_NAMES = {"card": "card", "pay_at_pickup": "pay at pickup"}
# The issue "Checkout at a fraction of the CPU": server CPU per checkout (the Stripe double's own not counted)
# plus 5 ms for the cart add each order here starts with; bench/checkout_profile.py times the two apart.
ADD_TO_CART_TARGET_MS = 5
CPU_TARGET_MS = {"card": 30 + ADD_TO_CART_TARGET_MS, "pay_at_pickup": 25 + ADD_TO_CART_TARGET_MS}


# Command line ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pay", choices=list(PHASES), default="both",
                        help="how the shoppers pay; both = a card phase, then a pay-at-pickup phase (default both)")
    parser.add_argument("--seconds", type=float, default=15, help="measured time of each phase (default 15)")
    parser.add_argument("--shoppers", type=int, default=8, help="concurrent shoppers (default 8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--warmup", type=float, default=3,
                        help="seconds gunicorn, then each phase, runs first and does not count (default 3)")
    parser.add_argument("--stores", type=int, default=20, help="stores offering pickup (default 20)")
    parser.add_argument("--variants", type=int, default=500, help="variants in the catalog (default 500)")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/15",
                        help="the Celery broker checkouts hand their confirmations to, with one Celery worker "
                             "(solo pool) sending them, as in production (default redis://127.0.0.1:6379/15, its "
                             "queue purged first); 'none': no broker and no worker, the confirmation is sent inside "
                             "the request, as in the demo")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    return parser.parse_args()


def reproduce_command(args: argparse.Namespace, admin_url: str) -> str:
    flags = [f"--pay {args.pay}", f"--seconds {args.seconds:g}", f"--shoppers {args.shoppers}",
             f"--workers {args.workers}", f"--warmup {args.warmup:g}", f"--stores {args.stores}",
             f"--variants {args.variants}", f"--broker {shlex.quote(args.broker)}"]
    return f"DATABASE_URL={shlex.quote(without_password(admin_url))} .venv/bin/python bench/checkout.py {' '.join(flags)}"


def say(message: str) -> None:
    print(message, flush=True)


# Processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise SystemExit(f"{what} did not start on port {port}.\n{tail}")
            time.sleep(0.1)


def start(command: list[str], env: dict, log: Path, what: str, port: int) -> subprocess.Popen:
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    wait_for_port(port, process, what, log)
    return process


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# The catalog ----------------------------------------------------------------------------------


def load_catalog(*, stores: int, variants: int) -> list[str]:
    """Stores, variants priced on every channel, and more stock everywhere than the run can sell.
    Stock arrives through inventory.services like every other unit. Returns the SKUs."""
    from django.core.management import call_command
    from django.db import transaction

    from catalog.models import Category, Channel, Price, Product, Variant
    from inventory.models import Location
    from inventory.services import StockLine, stock_receive_many

    say("  migrating …")
    call_command("migrate", interactive=False, verbosity=0)
    sizes = ("XS", "S", "M", "L", "XL")
    with transaction.atomic():
        places = Location.objects.bulk_create([
            Location(code=f"BENCH-{n:02d}", name=f"Bench store {n:02d}", kind=Location.Kind.STORE, city="London",
                     latitude=51.5 + n / 100, longitude=-0.12 - n / 100, offers_pickup=True, ships_orders=True,
                     sells_in_store=True)
            for n in range(1, stores + 1)
        ])
        say(f"  {len(places)} stores")
        category = Category.objects.create(name="Bench", slug="bench")
        products = Product.objects.bulk_create([
            Product(name=f"Bench tee {n:03d}", slug=f"bench-tee-{n:03d}", brand="Bench", category=category)
            for n in range((variants + len(sizes) - 1) // len(sizes))
        ])
        catalog = Variant.objects.bulk_create([
            Variant(product=products[n // len(sizes)], sku=f"BENCH-{n:04d}", barcode=f"200{n:010d}",
                    options={"size": sizes[n % len(sizes)], "colour": "Navy"})
            for n in range(variants)
        ])
        channels = list(Channel.objects.all())
        Price.objects.bulk_create([
            Price(variant=v, channel=c, amount=f"{10 + n % 40}.99", currency="GBP")
            for n, v in enumerate(catalog) for c in channels
        ])
        say(f"  {len(catalog)} variants, priced on {len(channels)} channels ({', '.join(c.code for c in channels)})")
    units = 1_000_000
    for i, place in enumerate(places, 1):
        stock_receive_many(lines=[StockLine(place, v, units) for v in catalog], reference="bench:opening-stock")
        say(f"  stock received at {place.code}: {len(catalog)} variants × {units:,} units ({i}/{len(places)})")
    return [v.sku for v in catalog]


# Server CPU -----------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POLL_SECONDS = 0.5


def proc_stat(pid: int) -> tuple[int, int, float] | None:
    """(parent pid, start time in ticks since boot, utime+stime in seconds) of a process from /proc/<pid>/stat;
    None when it has gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # the fields after "pid (comm)": state is fields[0] (field 3)
    return int(fields[1]), int(fields[19]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(parent: int) -> list[int]:
    """Pids whose parent is `parent` (this kernel has no /proc/<pid>/task/<pid>/children: scan /proc)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := proc_stat(int(entry.name))) is not None and stat[0] == parent:
            found.append(int(entry.name))
    return found


def machine_busy() -> float:
    """CPU seconds every core of the machine has spent on anything but idling and waiting for I/O (/proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def ticks_since_boot() -> int:
    return int(float(Path("/proc/uptime").read_text().split()[0]) * CLOCK_TICKS)


@dataclass
class ServerCpu:
    """CPU seconds used inside a window by each process of a group ("web": gunicorn workers, "postgres": backends
    on the bench database), keyed by (pid, start time) so a reused pid is another process."""

    opened: float = 0.0  # time.monotonic() of the first and the last reading
    closed: float = 0.0
    first: dict = field(default_factory=dict)  # (group, pid, start) -> CPU seconds at the window's opening
    last: dict = field(default_factory=dict)  # ... at the last reading that found the process
    born_inside: set = field(default_factory=set)  # keys of processes started after the window opened
    found_late: set = field(default_factory=set)  # keys first seen after the opening but started before it
    at_close: set = field(default_factory=set)  # keys still there at the closing reading
    others: dict = field(default_factory=dict)  # "client"/"double" -> CPU seconds in the window, not counted
    transactions: int = 0  # committed and rolled back on the bench database, as its statistics say
    machine: float = 0.0  # CPU seconds the whole machine was busy in the window

    def seconds(self, group: str) -> float:
        return sum(self.last[k] - self.first[k] for k in self.last if k[0] == group)

    def keys(self, group: str) -> list:
        return [k for k in self.last if k[0] == group]


def watch_server_cpu(cpu: ServerCpu, *, master: int, database: str, admin_url: str, double: int, worker: int | None,
                     opens: float, closes: float) -> None:
    """Read the CPU of the web workers and the database's backends from `opens` to `closes` (monotonic), every
    POLL_SECONDS in between, so a process that ends inside the window still counts up to its last reading."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        def processes() -> list[tuple[str, int]]:
            backends = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = "
                                    "'client backend'", (database,)).fetchall()
            return ([("web", pid) for pid in children_of(master)] + [("postgres", pid) for (pid,) in backends]
                    + [("worker", pid) for pid in [worker] if pid])

        def transactions() -> int:
            return conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                                (database,)).fetchone()[0]

        def others() -> dict:
            return {"client": time.process_time(), "double": (proc_stat(double) or (0, 0, 0.0))[2]}

        def read(opening: bool) -> set:
            seen = set()
            for group, pid in processes():
                if (stat := proc_stat(pid)) is None:
                    continue  # gone between the listing and the reading: its last reading stands
                key = (group, pid, stat[1])
                seen.add(key)
                if key not in cpu.first:
                    if opening:
                        cpu.first[key] = stat[2]
                    elif stat[1] > window_start_ticks:  # all its CPU was used inside the window
                        cpu.first[key] = 0.0
                        cpu.born_inside.add(key)
                    else:  # missed at the opening: what it used before this reading cannot be told apart
                        cpu.first[key] = stat[2]
                        cpu.found_late.add(key)
                cpu.last[key] = stat[2]
            return seen

        time.sleep(max(0.0, opens - time.monotonic()))
        window_start_ticks = ticks_since_boot()
        before, xacts, busy = others(), transactions(), machine_busy()
        cpu.opened = time.monotonic()
        read(opening=True)
        while time.monotonic() + POLL_SECONDS < closes:
            time.sleep(POLL_SECONDS)
            read(opening=False)
        time.sleep(max(0.0, closes - time.monotonic()))
        cpu.at_close = read(opening=False)
        cpu.closed = time.monotonic()
        cpu.others = {k: v - before[k] for k, v in others().items()}
        cpu.transactions = transactions() - xacts
        cpu.machine = machine_busy() - busy


def server_cpu_report(cpu: ServerCpu, phase: "Phase", target_ms: float | None) -> list[str]:
    orders = sum(cpu.opened <= at < cpu.closed for t in phase.tallies for at in t.placed_at)
    window = cpu.closed - cpu.opened
    if not orders:
        return [f"SERVER CPU PER ORDER: n/a (no order completed in the {window:.1f} s window)"]
    web, pg = cpu.seconds("web"), cpu.seconds("postgres")
    per = 1000 / orders
    backends = cpu.keys("postgres")
    came = [k for k in backends if k in cpu.born_inside or k in cpu.found_late]
    went = [k for k in backends if k not in cpu.at_close]
    workers_changed = [k for k in cpu.keys("web") if k in cpu.born_inside or k not in cpu.at_close]
    cores = os.cpu_count() or 1
    lines = [
        f"SERVER CPU PER ORDER, {phase.name.upper()}: {(web + pg) * per:.1f} ms = web workers {web * per:.1f} ms "
        f"+ PostgreSQL {pg * per:.1f} ms" + (f"   (target ≤ {target_ms:g} ms: the checkout's "
                                             f"{target_ms - ADD_TO_CART_TARGET_MS:g} + the cart add's "
                                             f"{ADD_TO_CART_TARGET_MS:g})" if target_ms else ""),
        f"  utime+stime from /proc/<pid>/stat ({CLOCK_TICKS} ticks/s) over {window:.1f} s and the {orders} orders "
        f"completed in it (each a cart add and a checkout); {len(cpu.keys('web'))} gunicorn workers, "
        f"{len(backends)} PostgreSQL backends on {BENCH_DB}",
        f"  cores busy through the window: {cpu.machine / window:.2f} of {cores}: the server "
        f"{(web + pg) / window:.2f}, "
        f"the bench and the double {sum(cpu.others.values()) / window:.2f}, everything else on the machine "
        f"{(cpu.machine - web - pg - sum(cpu.others.values())) / window:.2f}",
        "  connections persistent: " + (
            f"yes (the same {len(backends)} backends from the window's opening to its close)" if not came and not went
            else f"NO — {len(came)} backends appeared and {len(went)} ended inside the window (counted as seen: up "
                 f"to {POLL_SECONDS:g} s of CPU before each end is missed; their connection set-up is counted)"),
    ]
    lines.append(f"  PostgreSQL transactions per order: {cpu.transactions / orders:.1f} (pg_stat_database "
                 f"xact_commit + xact_rollback; each backend reports at most once a second, so ± a second's worth at "
                 f"each end)")
    if workers_changed:
        lines.append(f"  gunicorn workers changed inside the window: {len(workers_changed)} (counted as seen)")
    if cpu.keys("worker"):
        lines.append(f"  the Celery worker sending the confirmations after the response: "
                     f"{cpu.seconds('worker') * per:.1f} ms/order, not in the figure above (its PostgreSQL "
                     f"backend is)")
    lines.append(f"  not counted: the bench process (shoppers, this reading) {cpu.others['client'] * per:.1f} "
                 f"ms/order, the Stripe double {cpu.others['double'] * per:.1f} ms/order (same cores)")
    return lines


# Shoppers -------------------------------------------------------------------------------------


def request(port: int, method: str, path: str, *, body: bytes = b"", headers: dict | None = None
            ) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        payload = json.loads(raw) if raw else {}
    except ValueError:
        payload = {"code": "not_json", "message": raw[:200].decode(errors="replace")}
    return response.status, payload if isinstance(payload, dict) else {"data": payload}


def api(port: int, path: str, data: dict, headers: dict) -> tuple[int, dict]:
    return request(port, "POST", path, body=json.dumps(data).encode(),
                   headers={"Content-Type": "application/json", "Accept": "application/json", **headers})


def new_card(stripe_port: int) -> tuple[int, dict]:
    return request(stripe_port, "POST", "/v1/payment_methods", body=urlencode(CARD).encode(),
                   headers={"Authorization": f"Bearer {STRIPE_KEY}",
                            "Content-Type": "application/x-www-form-urlencoded"})


@dataclass
class Tally:
    """What one shopper saw, loops started inside the measured window only (but `placed_at` has every order)."""

    orders: int = 0
    loops: int = 0
    trip_finished: list[float] = field(default_factory=list)
    placed_at: list[float] = field(default_factory=list)
    last_finish: float = 0.0
    cart_ms: list[float] = field(default_factory=list)
    card_ms: list[float] = field(default_factory=list)
    checkout_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    placed: Counter = field(default_factory=Counter)  # every 201 by payment method, warm-up's included


def shop(number: int, *, payment_methods: tuple[str, ...], port: int, stripe_port: int, skus: list[str],
         stores: list[str], measure_from: float, until: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    trip = 0
    while (started := time.monotonic()) < until:
        counted = started >= measure_from
        trip += 1
        t0 = time.perf_counter()
        status, cart = api(port, "/api/v1/cart/lines/", {"sku": rng.choice(skus), "quantity": rng.randint(1, 2)}, {})
        cart_ms = (time.perf_counter() - t0) * 1000
        if status != 201:
            if counted:
                tally.errors[("cart", status, cart.get("code", ""))] += 1
            continue
        payment_method = payment_methods[(number + trip) % len(payment_methods)]
        paying = {"payment_method": payment_method}
        card_ms = None
        if payment_method == "card":
            t0 = time.perf_counter()
            status, card = new_card(stripe_port)
            card_ms = (time.perf_counter() - t0) * 1000
            if status != 200:
                if counted:
                    tally.errors[("card at localstripe", status, str(card.get("error", {}).get("type", "")))] += 1
                continue
            paying["payment_method_id"] = card["id"]
        t0 = time.perf_counter()
        status, placed = api(
            port, "/api/v1/checkout/",
            {"fulfilment": "pickup", "store": rng.choice(stores), **paying,
             "email": f"shopper{number}.{trip}@bench.example"},
            {"X-Cart-Token": cart["token"], "Idempotency-Key": str(uuid.uuid4())},
        )
        checkout_ms = (time.perf_counter() - t0) * 1000
        finished = time.monotonic()
        if status == 201:
            tally.placed_at.append(finished)
            tally.placed[payment_method] += 1
        if not counted:
            continue
        tally.loops += 1
        tally.trip_finished.append(finished)
        tally.cart_ms.append(cart_ms)
        if card_ms is not None:
            tally.card_ms.append(card_ms)
        tally.checkout_ms.append(checkout_ms)
        tally.last_finish = finished
        if status == 201:
            tally.orders += 1
        else:
            tally.errors[("checkout", status, placed.get("code", ""))] += 1


def percentile(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


# Reporting ------------------------------------------------------------------------------------


def machine_info(pg_version: str, admin_url: str) -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    with psycopg.connect(admin_url) as conn:
        full = conn.execute("SELECT version()").fetchone()[0]
    gunicorn = subprocess.run([sys.executable, "-m", "gunicorn", "--version"], capture_output=True, text=True,
                              cwd=ROOT).stdout.strip()
    return [
        f"machine:    {os.cpu_count()} cores ({cpu}){memory}, {platform.platform()}",
        f"PostgreSQL: {pg_version} — {full}",
        f"software:   Python {platform.python_version()}, {gunicorn}, Django {django_version()}",
        f"code:       {code_version()}",
        "note:       client, gunicorn, the Stripe double and PostgreSQL all share this machine's cores",
    ]


def code_version() -> str:
    """The commit measured and, since the working tree may differ from it, the files that do."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT).stdout

    changed = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return f"{git('rev-parse', '--short', 'HEAD').strip() or 'unknown'}" + (
        f" with uncommitted changes to {', '.join(changed)}" if changed else " (clean)")


def django_version() -> str:
    import django

    return django.get_version()


@dataclass
class Phase:
    """A warm-up and a measured window of shoppers paying one way (or, warming gunicorn up, taking turns)."""

    payment_methods: tuple[str, ...]  # as the checkout API spells them: card, pay_at_pickup
    tallies: list[Tally]
    measure_from: float
    until: float
    load_after: float
    cpu: ServerCpu | None = None  # the server's CPU through the measured window (none for the gunicorn warm-up)

    @property
    def name(self) -> str:
        return " and ".join(PHASE_NAMES[m] for m in self.payment_methods)

    @property
    def orders(self) -> int:
        return sum(t.orders for t in self.tallies)

    @property
    def placed(self) -> Counter:
        """Every 201 of the phase by payment method, its warm-up's included: what it added to the database."""
        return sum((t.placed for t in self.tallies), Counter())

    @property
    def wall(self) -> float:
        finished = max((t.last_finish for t in self.tallies), default=self.measure_from)
        return max(finished - self.measure_from, 1e-9)

    @property
    def rate(self) -> float | None:
        return self.orders / self.wall if any(t.loops for t in self.tallies) else None


def run_phase(payment_methods: tuple[str, ...], *, warmup: float, seconds: float, args, port: int,
              stripe_port: int, skus: list[str], stores: list[str], server: dict | None = None) -> Phase:
    """`server` (master, database, admin_url, double: what watch_server_cpu needs) has the server's CPU read
    through the measured window."""
    begin = time.monotonic()
    measure_from, until = begin + warmup, begin + warmup + seconds
    tallies = [Tally() for _ in range(args.shoppers)]
    threads = [
        threading.Thread(target=shop, args=(n,), kwargs={
            "payment_methods": payment_methods, "port": port, "stripe_port": stripe_port, "skus": skus,
            "stores": stores, "measure_from": measure_from, "until": until, "tally": tallies[n], "seed": 1000 + n})
        for n in range(args.shoppers)
    ]
    cpu = ServerCpu() if server and seconds > 0 else None
    if cpu is not None:
        threads.append(threading.Thread(target=watch_server_cpu, args=(cpu,),
                                        kwargs={**server, "opens": measure_from, "closes": until}))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Phase(payment_methods, tallies, measure_from, until, os.getloadavg()[0], cpu)


def report(args, phase: Phase, load_before: float) -> list[str]:
    loops = sum(t.loops for t in phase.tallies)
    if not loops:
        return ["No shopping trip started inside the measured window (the warm-up took it all); "
                "run again with a longer --warmup or --seconds."]
    orders, wall = phase.orders, phase.wall
    cart_ms = [m for t in phase.tallies for m in t.cart_ms]
    card_ms = [m for t in phase.tallies for m in t.card_ms]
    checkout_ms = [m for t in phase.tallies for m in t.checkout_ms]
    errors = sum((t.errors for t in phase.tallies), Counter())
    # Orders completed in each half, warm-up trips that end inside the window included: counting trips by
    # their start instead would shortchange the first half (every shopper is mid-trip when it opens).
    middle = phase.measure_from + (phase.until - phase.measure_from) / 2
    placed_at = [at for t in phase.tallies for at in t.placed_at]
    in_first = [at < middle for t in phase.tallies for at in t.trip_finished]
    by_half = []
    for first, (since, to) in ((True, (phase.measure_from, middle)), (False, (middle, phase.until))):
        placed = sum(since <= at < to for at in placed_at)
        checkout = [ms for ms, f in zip(checkout_ms, in_first) if f == first]
        cart = [ms for ms, f in zip(cart_ms, in_first) if f == first]
        by_half.append(f"{placed / (to - since):.1f} orders/s, checkout "
                       f"{statistics.median(checkout) if checkout else float('nan'):.0f} ms, cart "
                       f"{statistics.median(cart) if cart else float('nan'):.0f} ms")
    cores = os.cpu_count() or 1
    return [
        f"shoppers {args.shoppers}, gunicorn sync workers {args.workers}, measured {wall:.1f} s after "
        f"{args.warmup:g} s warm-up, {args.stores} stores × {args.variants} variants",
        f"1-minute load average: {load_before:.2f} before the bench started, {phase.load_after:.2f} at the end "
        f"of this phase ({cores} cores)" + ("  <- other work was running; numbers are low"
                                            if load_before > cores / 2 else ""),
        "",
        f"ORDERS PER SECOND, {phase.name.upper()}: {orders / wall:.1f}   ({orders} orders placed (201) in "
        f"{wall:.1f} s; {loops} shopping trips, {loops / wall:.1f}/s)",
        f"  by half of the measured window (orders completed in it; median latency of trips ending in it): "
        f"first {by_half[0]}; second {by_half[1]}",
        "",
        *(server_cpu_report(phase.cpu, phase, CPU_TARGET_MS.get(phase.payment_methods[0])) if phase.cpu else []),
        "",
        "latency per step (ms)          median      p95      max      n",
        *[f"  {name:<28}{statistics.median(values):8.1f} {percentile(values, 95):8.1f} "
          f"{max(values):8.1f} {len(values):6d}"
          for name, values in (("POST /api/v1/checkout/", checkout_ms), ("POST /api/v1/cart/lines/", cart_ms),
                               ("card at the double (not app)", card_ms))
          if values],
        "",
        *(["errors (step, HTTP status, code):"]
          + [f"  {step}: {status} {code or '-'} × {n}" for (step, status, code), n in sorted(errors.items())]
          if errors else ["errors: none (every checkout answered 201)"]),
    ]


def ratio_line(card: Phase, pickup: Phase) -> list[str]:
    if not card.rate or not pickup.rate:
        return ["CARD ÷ PICKUP: n/a (a phase placed no orders in its measured window)"]
    return [f"CARD ÷ PICKUP: {card.rate / pickup.rate:.2f} (card {card.rate:.1f} orders/s, pay at pickup "
            f"{pickup.rate:.1f} orders/s)",
            "  card ran first, then pay at pickup (not alternated), on the same database and gunicorn, after a "
            "gunicorn warm-up paying each way in turn"]


def end_checks(warm_up: Phase, phases: list[Phase], orders_in_db: int, paid_in_db: dict[str, int]
               ) -> tuple[list[str], bool]:
    """The database against what the shoppers were told: every 201 an order, every card order authorised."""
    everything = [warm_up, *phases]
    expected = sum(p.placed.total() for p in everything)
    parts = "; ".join([f"gunicorn warm-up: {warm_up.placed.total()}"] + [
        f"{p.name}: {p.orders} measured + {p.placed.total() - p.orders} from the warm-up" for p in phases])
    checks = [(f"orders in the database: {orders_in_db} (expected {expected}: {parts})", orders_in_db == expected)]
    for method, label in (("card", "card payments authorised"), ("pay_at_pickup", "pay-at-pickup payments")):
        want = sum(p.placed[method] for p in everything)
        checks.append((f"{label}: {paid_in_db[method]} (expected {want}, the {PHASE_NAMES[method]} orders)",
                       paid_in_db[method] == want))
    return [f"{line} {'OK' if ok else 'MISMATCH'}" for line, ok in checks], all(ok for _, ok in checks)


# Main -----------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    admin_url = server_url(default="")
    command = reproduce_command(args, admin_url)
    say(f"reproduce: {command}\n")

    logs = Path(tempfile.mkdtemp(prefix="bench_checkout_"))
    stripe_port, port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": with_database(admin_url, BENCH_DB),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "False",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "STRIPE_API_BASE": f"http://127.0.0.1:{stripe_port}",
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "LOG_LEVEL": "ERROR",
        "CONN_MAX_AGE": "600",
    }
    env.pop("CELERY_BROKER_URL", None)
    if args.broker != "none":  # confirmations handed to a worker, as in production (else sent in the request)
        env["CELERY_BROKER_URL"] = args.broker
    localstripe = server = worker = None
    database_made = False
    load_before = os.getloadavg()[0]
    try:
        say(f"creating database {BENCH_DB} …")
        pg_version = recreate_database(admin_url, BENCH_DB)
        database_made = True
        # Started for pay at pickup as well, so both phases run against the same app configuration.
        say(f"starting the Stripe double on port {stripe_port} …")
        try:
            localstripe = start_local_stripe(stripe_port, log=logs / "localstripe.log")
        except RuntimeError as error:
            tail = (logs / "localstripe.log").read_text(errors="replace")[-3000:]
            raise SystemExit(f"{error}.\n{tail}") from None

        os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "SECRET_KEY", "DEBUG",
                                               "ALLOWED_HOSTS", "STRIPE_API_BASE", "STRIPE_SECRET_KEY",
                                               "LOG_LEVEL")})
        import django

        django.setup()
        from django.db import connections

        say("loading the catalog …")
        t0 = time.perf_counter()
        skus = load_catalog(stores=args.stores, variants=args.variants)
        stores = [f"BENCH-{n:02d}" for n in range(1, args.stores + 1)]
        say(f"  loaded in {time.perf_counter() - t0:.1f} s")
        connections.close_all()

        say(f"starting gunicorn ({args.workers} workers) on port {port} …")
        # No control socket: gunicorn's default path is shared by every gunicorn on the machine.
        server = start([sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", str(args.workers), "--bind",
                        f"127.0.0.1:{port}", "--timeout", "120", "--no-control-socket"],
                       env, logs / "gunicorn.log", "gunicorn", port)

        shoppers = {"args": args, "port": port, "stripe_port": stripe_port, "skus": skus, "stores": stores}
        if args.broker != "none":
            say(f"starting a Celery worker on {args.broker} (its queue purged first) …")
            with (logs / "celery.log").open("wb") as out:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--purge",
                     "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        watched = {"master": server.pid, "database": BENCH_DB, "admin_url": admin_url, "double": localstripe.pid,
                   "worker": worker.pid if worker else None}
        # Every gunicorn worker's first requests are slow (imports, connections, the Stripe client): paid here,
        # by both ways of paying, they do not land in the first phase's measurement alone.
        say(f"warming gunicorn up: {args.shoppers} shoppers for {args.warmup:g} s, card and pay at pickup in turn …")
        warm_up = run_phase(("card", "pay_at_pickup"), warmup=args.warmup, seconds=0, **shoppers)
        phases = []
        for method in PHASES[args.pay]:
            say(f"shopping ({PHASE_NAMES[method]}): {args.shoppers} shoppers, {args.warmup:g} s warm-up then "
                f"{args.seconds:g} s measured …")
            phases.append(run_phase((method,), warmup=args.warmup, seconds=args.seconds, server=watched, **shoppers))

        from orders.models import Order, Payment

        orders_in_db = Order.objects.count()
        paid_in_db = {
            "card": Payment.objects.filter(method=Payment.Method.CARD, status=Payment.Status.AUTHORISED).count(),
            "pay_at_pickup": Payment.objects.filter(method=Payment.Method.PAY_AT_PICKUP).count(),
        }
        connections.close_all()

        say("\nverifying the ledger (manage.py verify_ledger) …")
        verified = subprocess.run([sys.executable, "manage.py", "verify_ledger", "--verbosity", "0"], cwd=ROOT,
                                  env=env, capture_output=True, text=True)
        ledger = (verified.stdout + verified.stderr).strip() or f"exit status {verified.returncode}"

        lines = ["", "=" * 100, f"reproduce: {command}"]
        for n, phase in enumerate(phases, 1):
            lines += ["", f"--- phase {n} of {len(phases)}: {phase.name} " + "-" * 60, ""]
            lines += report(args, phase, load_before)
        if len(phases) == 2:
            lines += ["", "-" * 100, *ratio_line(*phases)]
        checks, counts_match = end_checks(warm_up, phases, orders_in_db, paid_in_db)
        lines += ["", *checks, f"verify_ledger (exit {verified.returncode}): {ledger}", ""]
        lines += machine_info(pg_version, admin_url)
        lines += ["", f"reproduce: {command}", "=" * 100]
        say("\n".join(lines))
        measured_all = all(p.orders for p in phases)  # a phase with no orders measured nothing
        return 0 if verified.returncode == 0 and counts_match and measured_all else 1
    finally:
        stop(server)
        stop(worker)
        stop(localstripe)
        if database_made:
            close_and_drop(admin_url, BENCH_DB, keep=args.keep, logs=logs, say=say)


if __name__ == "__main__":
    sys.exit(main())
