"""Channels, tax rates and delivery rates are kept in each process's memory, and a change to any of them is
seen at once: by this process, and by every other one through the token in the shared cache."""
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import TaxRate
from catalog.selectors import channel_named
from core import reference
from orders.models import DeliveryRate
from orders.pricing import delivery_options, tax_rates

pytestmark = pytest.mark.django_db


def standard_rate() -> Decimal:
    return tax_rates("gb")["standard"]


def test_a_tax_rate_is_read_once_and_a_change_to_it_is_seen_at_once():
    before = standard_rate()
    with CaptureQueriesContext(connection) as queries:
        assert standard_rate() == before and channel_named("web").code == "web"
        channel_named("web")
    reads = len(queries)
    with CaptureQueriesContext(connection) as queries:
        assert standard_rate() == before and channel_named("web").code == "web"
    assert len(queries) == 0 < reads

    rate = TaxRate.objects.get(country="GB", tax_class="standard")
    rate.rate = Decimal("17.50")
    rate.save()  # as the admin would

    assert standard_rate() == Decimal("17.50")


def test_a_change_another_process_made_is_seen_at_once(django_capture_on_commit_callbacks):
    assert standard_rate() == Decimal("20.00")
    TaxRate.objects.filter(country="GB", tax_class="standard").update(rate=Decimal("5.00"))  # no signal...
    assert standard_rate() == Decimal("20.00")  # ...so this process still answers from memory

    cache.set(reference.TOKEN_KEY, "another process changed a rate", None)  # what its save wrote

    assert standard_rate() == Decimal("5.00")


def test_a_delivery_price_change_is_charged_on_the_next_quote(django_capture_on_commit_callbacks):
    def standard() -> Decimal:
        options = delivery_options(kind="delivery", country="GB", currency="GBP", goods_amount=Decimal("10"),
                                   weight_grams=500, postcode="SW1A 1AA")
        return next(o.amount for o in options if o.method.code == "standard")

    before = standard()
    with django_capture_on_commit_callbacks(execute=True):
        for rate in DeliveryRate.objects.filter(method__code="standard", country="GB"):
            rate.price_amount += Decimal("1.00")
            rate.save()

    assert standard() == before + Decimal("1.00")


def test_with_a_cache_that_keeps_nothing_nothing_is_kept(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    assert standard_rate() == Decimal("20.00")
    TaxRate.objects.filter(country="GB", tax_class="standard").update(rate=Decimal("5.00"))
    assert standard_rate() == Decimal("5.00")
