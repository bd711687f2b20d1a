"""The price a channel charges at a moment: one window in force per variant, channel and store, never two."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Price
from catalog.selectors import price_get
from tests.conftest import ON_POSTGRES
from tests.factories import PriceFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_a_sale_window_between_two_regular_prices_is_the_price_while_it_runs(web, till):
    variant = VariantFactory()
    now = timezone.now()
    start, end = now - timedelta(days=1), now + timedelta(days=1)
    PriceFactory(variant=variant, channel=web, amount="30.00", valid_until=start)
    PriceFactory(variant=variant, channel=web, amount="22.50", valid_from=start, valid_until=end)
    PriceFactory(variant=variant, channel=web, amount="30.00", valid_from=end)
    PriceFactory(variant=variant, channel=till, amount="30.00")

    assert str(price_get(variant=variant, channel=web).amount) == "22.50"
    assert str(price_get(variant=variant, channel=web, at=end).amount) == "30.00"  # windows are [from, until)
    assert str(price_get(variant=variant, channel=web, at=start - timedelta(seconds=1)).amount) == "30.00"
    assert str(price_get(variant=variant, channel=till).amount) == "30.00"


def test_a_variant_with_no_price_on_a_channel_has_none(web):
    assert price_get(variant=VariantFactory(), channel=web) is None


def test_a_price_window_that_ends_before_it_starts_is_refused_by_the_database(web):
    now = timezone.now()
    with pytest.raises(IntegrityError):
        PriceFactory(channel=web, valid_from=now, valid_until=now - timedelta(hours=1))


def test_an_overlapping_window_is_refused_with_a_message_naming_the_price_it_clashes_with(web):
    variant = VariantFactory(sku="TEE-NAVY-M")
    now = timezone.now()
    PriceFactory(variant=variant, channel=web, amount="30.00")
    sale = Price(variant=variant, channel=web, amount="22.50", valid_from=now, valid_until=now + timedelta(days=3))

    with pytest.raises(ValidationError) as refused:
        sale.full_clean()

    message = " ".join(refused.value.messages)
    assert "TEE-NAVY-M already has a Web storefront price of 30.00 GBP from always until further notice" in message
    assert "may not overlap" in message


def test_windows_that_touch_or_belong_to_another_channel_or_store_do_not_clash(web, till, store):
    variant = VariantFactory()
    now = timezone.now()
    PriceFactory(variant=variant, channel=web, amount="30.00", valid_until=now)
    PriceFactory(variant=variant, channel=till, amount="30.00")

    Price(variant=variant, channel=web, amount="25.00", valid_from=now).full_clean()
    Price(variant=variant, channel=till, location=store, amount="28.00").full_clean()


@pytest.mark.skipif(not ON_POSTGRES, reason="the exclusion constraint is PostgreSQL's")
def test_the_database_refuses_an_overlap_that_skips_validation(web, store):
    variant = VariantFactory()
    now = timezone.now()
    PriceFactory(variant=variant, channel=web, amount="30.00", valid_from=now)
    PriceFactory(variant=variant, channel=web, location=store, amount="29.00", valid_from=now)  # a store's own

    with pytest.raises(IntegrityError, match="price_windows_do_not_overlap"), transaction.atomic():
        Price.objects.bulk_create([Price(variant=variant, channel=web, amount="20.00",
                                         valid_from=now + timedelta(days=1), valid_until=now + timedelta(days=2))])
    assert Price.objects.filter(variant=variant).count() == 2


def test_a_store_price_wins_at_that_store_and_only_there(till, store, other_store):
    variant = VariantFactory()
    PriceFactory(variant=variant, channel=till, amount="30.00")
    PriceFactory(variant=variant, channel=till, location=store, amount="27.00")

    assert str(price_get(variant=variant, channel=till, location=store).amount) == "27.00"
    assert str(price_get(variant=variant, channel=till, location=other_store).amount) == "30.00"
    assert str(price_get(variant=variant, channel=till).amount) == "30.00"
