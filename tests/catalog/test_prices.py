"""The price a channel charges at a moment: the window in force that started last."""
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from catalog.selectors import price_get
from tests.factories import PriceFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_a_sale_price_window_wins_over_the_open_ended_price_while_it_runs(web, till):
    variant = VariantFactory()
    now = timezone.now()
    PriceFactory(variant=variant, channel=web, amount="30.00")
    PriceFactory(variant=variant, channel=web, amount="22.50", valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=1))
    PriceFactory(variant=variant, channel=till, amount="30.00")

    assert str(price_get(variant=variant, channel=web).amount) == "22.50"
    assert str(price_get(variant=variant, channel=web, at=now + timedelta(days=2)).amount) == "30.00"
    assert str(price_get(variant=variant, channel=till).amount) == "30.00"


def test_a_variant_with_no_price_on_a_channel_has_none(web):
    assert price_get(variant=VariantFactory(), channel=web) is None


def test_a_price_window_that_ends_before_it_starts_is_refused_by_the_database(web):
    now = timezone.now()
    with pytest.raises(IntegrityError):
        PriceFactory(channel=web, valid_from=now, valid_until=now - timedelta(hours=1))
