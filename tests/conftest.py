"""Shared fixtures. Tests marked `postgres` need real row locks and are skipped, with the reason
printed, when the suite runs on SQLite; on PostgreSQL (as in CI) any skip fails the run. One local Stripe
double (localstripe) serves the whole run."""
import pytest
import stripe
from django.conf import settings
from django.core.cache import cache

from catalog.models import Channel
from inventory import services as stock
from orders.stripe_double import free_port, start_local_stripe
from tests.factories import LocationFactory, PriceFactory, VariantFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config, items):
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... to run locking tests")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


SKIPPED_ON_POSTGRES: list[str] = []


def pytest_runtest_logreport(report):
    """On PostgreSQL (CI) every test must run: a skip there means a service or tool CI needs is missing."""
    if ON_POSTGRES and report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else getattr(report, "wasxfail", "")
        SKIPPED_ON_POSTGRES.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if SKIPPED_ON_POSTGRES and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if SKIPPED_ON_POSTGRES:
        terminalreporter.section("skipped on PostgreSQL, where nothing may skip", sep="=", red=True, bold=True)
        for line in SKIPPED_ON_POSTGRES:
            terminalreporter.write_line(line)


def pytest_report_header(config):
    return f"database: {settings.DATABASES['default']['ENGINE']} ({settings.DATABASES['default']['NAME']})"


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Rate limits count in the cache; each test starts with none spent."""
    cache.clear()
    yield
    cache.clear()


SEED_MIGRATIONS = [("catalog.migrations.0002_default_channels", "create_channels"),
                   ("catalog.migrations.0004_whole_catalog_range", "create"),
                   ("catalog.migrations.0007_tax_rates", "create"),
                   ("orders.migrations.0004_delivery_methods", "create"),
                   ("backoffice.migrations.0002_roles", "create_roles"),
                   ("backoffice.migrations.0003_store_manager_discrepancies_and_cancels", "grant")]


@pytest.fixture(autouse=True)
def seed_rows(request):
    """A test that commits (transaction=True, or through the live server) ends with a flush that empties
    every table, the migrations' own rows included; serialized_rollback did not bring them back after a
    live-server test. Each such test starts by re-running the data migrations (they are idempotent), so
    it sees what a fresh install has: channels, the whole-catalogue range, tax rates, delivery methods, roles."""
    marker = request.node.get_closest_marker("django_db")
    committing = (marker and marker.kwargs.get("transaction")) or "live_server" in request.fixturenames
    if not committing:
        yield
        return
    request.getfixturevalue("transactional_db")
    from importlib import import_module

    from django.apps import apps

    for module, function in SEED_MIGRATIONS:
        getattr(import_module(module), function)(apps, None)
    yield


@pytest.fixture
def web(db):
    return Channel.objects.get(code=Channel.WEB)


@pytest.fixture
def till(db):
    return Channel.objects.get(code=Channel.TILL)


@pytest.fixture
def store(db):
    """Holds ready pickups 3 days, well inside a card authorisation's 7: its card pickups are charged when
    collected (a longer hold charges them when ready; tests/orders/test_authorisation_lapse.py)."""
    return LocationFactory(code="LDN-OXF", name="London Oxford Street", latitude=51.5154, longitude=-0.1410,
                           pickup_hold_days=3)


@pytest.fixture
def other_store(db):
    return LocationFactory(code="MAN-ARN", name="Manchester Arndale", latitude=53.4831, longitude=-2.2399)


@pytest.fixture
def variant(db):
    return VariantFactory(sku="TEE-NAVY-M")


@pytest.fixture
def other_variant(db):
    return VariantFactory(sku="TEE-NAVY-L")


@pytest.fixture(scope="session", autouse=True)
def stripe_double():
    """localstripe on a free port; the Stripe SDK is pointed at it through STRIPE_API_BASE."""
    port = free_port()
    server = start_local_stripe(port)
    base = f"http://127.0.0.1:{port}"
    previous = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = base
    yield stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses={"api": base})
    settings.STRIPE_API_BASE = previous
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def warehouse(db):
    return LocationFactory(code="WH-DAV", name="Daventry DC", kind="warehouse", latitude=52.2565, longitude=-1.1627,
                           ships_orders=True, offers_pickup=False, sells_in_store=False)


@pytest.fixture
def shelf(db, store, other_store):
    """A tee (20.00) and a hoodie (45.00) on every channel; stock at the London store."""
    tee, hoodie = VariantFactory(sku="TEE-NAVY-M"), VariantFactory(sku="HOOD-GREY-L")
    for variant, amount in ((tee, "20.00"), (hoodie, "45.00")):
        for channel in Channel.objects.all():
            PriceFactory(variant=variant, channel=channel, amount=amount)
    stock.stock_receive(location=store, variant=tee, quantity=10)
    stock.stock_receive(location=store, variant=hoodie, quantity=3)
    return tee, hoodie
