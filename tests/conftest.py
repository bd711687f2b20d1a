"""Shared fixtures. Tests marked `postgres` need real row locks and are skipped, with the reason
printed, when the suite runs on SQLite."""
import pytest
from django.conf import settings
from django.core.cache import cache

from catalog.models import Channel
from tests.factories import LocationFactory, VariantFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config, items):
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... to run locking tests")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    return f"database: {settings.DATABASES['default']['ENGINE']} ({settings.DATABASES['default']['NAME']})"


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Rate limits count in the cache; each test starts with none spent."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def web(db):
    return Channel.objects.get(code=Channel.WEB)


@pytest.fixture
def till(db):
    return Channel.objects.get(code=Channel.TILL)


@pytest.fixture
def store(db):
    return LocationFactory(code="LDN-OXF", name="London Oxford Street", latitude=51.5154, longitude=-0.1410)


@pytest.fixture
def other_store(db):
    return LocationFactory(code="MAN-ARN", name="Manchester Arndale", latitude=53.4831, longitude=-2.2399)


@pytest.fixture
def variant(db):
    return VariantFactory(sku="TEE-NAVY-M")


@pytest.fixture
def other_variant(db):
    return VariantFactory(sku="TEE-NAVY-L")
