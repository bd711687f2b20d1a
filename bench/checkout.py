"""Checkout throughput through the real HTTP stack: gunicorn in front of PostgreSQL, cards at localstripe,
and N concurrent guest shoppers who each fill a cart, get a card, and check out, over and over.

Run from the project root (DATABASE_URL names the server and a database to connect to for admin work;
the bench creates, after dropping, its own database `bench_checkout` there and drops it at the end):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/checkout.py [--seconds 15] [--shoppers 8]

Each shopper loop: POST /api/v1/cart/lines/ (a random SKU, 1-2 units; a new guest cart), create a card
PaymentMethod at localstripe (as the card form would), POST /api/v1/checkout/ (pickup at a random store,
card, a fresh Idempotency-Key). Orders per second counts the 201s of loops started after the warm-up,
over the wall time they took, so it is the rate of whole shopping trips; each step's latency is reported
apart. At the end `manage.py verify_ledger` must find no drift and the orders in the database must
match the 201s counted.
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

from bench.database import drop_database, recreate_database, with_database, without_password  # noqa: E402

BENCH_DB = "bench_checkout"
CARD = {"type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2034",
        "card[cvc]": "123"}
STRIPE_KEY = "sk_test_bench_checkout"


# Command line ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="measured time (default 15)")
    parser.add_argument("--shoppers", type=int, default=8, help="concurrent shoppers (default 8)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds run first and not counted (default 3)")
    parser.add_argument("--stores", type=int, default=20, help="stores offering pickup (default 20)")
    parser.add_argument("--variants", type=int, default=500, help="variants in the catalog (default 500)")
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DB} database afterwards")
    return parser.parse_args()


def reproduce_command(args: argparse.Namespace, admin_url: str) -> str:
    flags = [f"--seconds {args.seconds:g}", f"--shoppers {args.shoppers}", f"--workers {args.workers}",
             f"--warmup {args.warmup:g}", f"--stores {args.stores}", f"--variants {args.variants}"]
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
    """What one shopper saw, loops started inside the measured window only."""

    orders: int = 0
    loops: int = 0
    last_finish: float = 0.0
    cart_ms: list[float] = field(default_factory=list)
    card_ms: list[float] = field(default_factory=list)
    checkout_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    warmup_orders: int = 0


def shop(number: int, *, port: int, stripe_port: int, skus: list[str], stores: list[str], measure_from: float,
         until: float, tally: Tally, seed: int) -> None:
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
        t0 = time.perf_counter()
        status, card = new_card(stripe_port)
        card_ms = (time.perf_counter() - t0) * 1000
        if status != 200:
            if counted:
                tally.errors[("card at localstripe", status, str(card.get("error", {}).get("type", "")))] += 1
            continue
        t0 = time.perf_counter()
        status, placed = api(
            port, "/api/v1/checkout/",
            {"fulfilment": "pickup", "store": rng.choice(stores), "payment_method": "card",
             "payment_method_id": card["id"], "email": f"shopper{number}.{trip}@bench.example"},
            {"X-Cart-Token": cart["token"], "Idempotency-Key": str(uuid.uuid4())},
        )
        checkout_ms = (time.perf_counter() - t0) * 1000
        if not counted:
            tally.warmup_orders += status == 201
            continue
        tally.loops += 1
        tally.cart_ms.append(cart_ms)
        tally.card_ms.append(card_ms)
        tally.checkout_ms.append(checkout_ms)
        tally.last_finish = time.monotonic()
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
        "note:       client, gunicorn, localstripe and PostgreSQL all share this machine's cores",
    ]


def django_version() -> str:
    import django

    return django.get_version()


def report(args, tallies: list[Tally], measure_from: float, warmup_orders_in_db: int, orders_in_db: int,
           authorised_in_db: int, load: tuple[float, float]) -> list[str]:
    orders = sum(t.orders for t in tallies)
    loops = sum(t.loops for t in tallies)
    if not loops:
        return ["No shopping trip started inside the measured window (the warm-up took it all); "
                "run again with a longer --warmup or --seconds."]
    finished = max((t.last_finish for t in tallies), default=measure_from)
    wall = max(finished - measure_from, 1e-9)
    cart_ms = [m for t in tallies for m in t.cart_ms]
    card_ms = [m for t in tallies for m in t.card_ms]
    checkout_ms = [m for t in tallies for m in t.checkout_ms]
    errors = sum((t.errors for t in tallies), Counter())
    cores = os.cpu_count() or 1
    lines = [
        f"shoppers {args.shoppers}, gunicorn sync workers {args.workers}, measured {wall:.1f} s after "
        f"{args.warmup:g} s warm-up, {args.stores} stores × {args.variants} variants",
        f"1-minute load average: {load[0]:.2f} before the bench started, {load[1]:.2f} at the end "
        f"({cores} cores)" + ("  <- other work was running; numbers are low" if load[0] > cores / 2 else ""),
        "",
        f"ORDERS PER SECOND: {orders / wall:.1f}   ({orders} orders placed (201) in {wall:.1f} s; "
        f"{loops} shopping trips, {loops / wall:.1f}/s)",
        "",
        "latency per step (ms)          median      p95      max      n",
    ]
    for name, values in (("POST /api/v1/checkout/", checkout_ms), ("POST /api/v1/cart/lines/", cart_ms),
                         ("card at localstripe (not app)", card_ms)):
        if values:
            lines.append(f"  {name:<28}{statistics.median(values):8.1f} {percentile(values, 95):8.1f} "
                         f"{max(values):8.1f} {len(values):6d}")
    lines.append("")
    if errors:
        lines.append("errors (step, HTTP status, code):")
        lines += [f"  {step}: {status} {code or '-'} × {n}" for (step, status, code), n in sorted(errors.items())]
    else:
        lines.append("errors: none (every checkout answered 201)")
    placed = warmup_orders_in_db + orders
    lines.append(f"orders in the database: {orders_in_db} (expected {placed}: {orders} measured + "
                 f"{warmup_orders_in_db} from the warm-up) {'OK' if orders_in_db == placed else 'MISMATCH'}; "
                 f"card payments authorised: {authorised_in_db}")
    return lines


# Main -----------------------------------------------------------------------------------------


def main() -> int:
    args = parse_args()
    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL server, e.g. "
                         "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres")
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
    env.pop("CELERY_BROKER_URL", None)  # side effects run eagerly, as they would without a broker
    localstripe = server = None
    database_made = False
    load_before = os.getloadavg()[0]
    try:
        say(f"creating database {BENCH_DB} …")
        pg_version = recreate_database(admin_url, BENCH_DB)
        database_made = True
        say(f"starting localstripe on port {stripe_port} …")
        localstripe = start([sys.executable, "-m", "localstripe", "--port", str(stripe_port), "--from-scratch"],
                            env, logs / "localstripe.log", "localstripe", stripe_port)

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

        say(f"shopping: {args.shoppers} shoppers, {args.warmup:g} s warm-up then {args.seconds:g} s measured …")
        begin = time.monotonic()
        measure_from, until = begin + args.warmup, begin + args.warmup + args.seconds
        tallies = [Tally() for _ in range(args.shoppers)]
        threads = [
            threading.Thread(target=shop, args=(n,), kwargs={
                "port": port, "stripe_port": stripe_port, "skus": skus, "stores": stores,
                "measure_from": measure_from, "until": until, "tally": tallies[n], "seed": 1000 + n})
            for n in range(args.shoppers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        load_after = os.getloadavg()[0]

        from orders.models import Order, Payment

        orders_in_db = Order.objects.count()
        authorised = Payment.objects.filter(status=Payment.Status.AUTHORISED, method=Payment.Method.CARD).count()
        connections.close_all()

        say("\nverifying the ledger (manage.py verify_ledger) …")
        verified = subprocess.run([sys.executable, "manage.py", "verify_ledger", "--verbosity", "0"], cwd=ROOT,
                                  env=env, capture_output=True, text=True)
        ledger = (verified.stdout + verified.stderr).strip() or f"exit status {verified.returncode}"

        lines = ["", "=" * 100, f"reproduce: {command}", ""]
        lines += report(args, tallies, measure_from, sum(t.warmup_orders for t in tallies), orders_in_db, authorised,
                        (load_before, load_after))
        lines += ["", f"verify_ledger (exit {verified.returncode}): {ledger}", ""]
        lines += machine_info(pg_version, admin_url)
        lines += ["", f"reproduce: {command}", "=" * 100]
        say("\n".join(lines))
        return 0 if verified.returncode == 0 else 1
    finally:
        stop(server)
        stop(localstripe)
        if database_made:
            if "django.db" in sys.modules:
                from django.db import connections

                connections.close_all()
            if args.keep:
                say(f"kept database {BENCH_DB} (--keep); logs in {logs}")
            else:
                drop_database(admin_url, BENCH_DB)
                say(f"dropped database {BENCH_DB}; logs in {logs}")


if __name__ == "__main__":
    sys.exit(main())
