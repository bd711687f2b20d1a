"""Two tills selling the last unit at once, on PostgreSQL with real concurrent connections: both customers
are holding one, so both sales go through; the ledger books exactly one unit as found at the till, no
bucket goes below zero, and the ledger still adds up."""
import pytest

from backoffice.roles import STORE_STAFF, role_assign
from catalog.models import Channel
from inventory import services as stock
from inventory.models import StockLevel, StockMovement
from inventory.selectors import ledger_drift
from orders import services
from orders.models import Order, Payment
from tests.factories import PriceFactory, UserFactory, VariantFactory
from tests.inventory.test_concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_tills_selling_the_last_unit_at_once_both_sell_and_one_unit_is_booked_found(store):
    tee = VariantFactory(sku="TEE-LAST-1")
    for channel in Channel.objects.all():
        PriceFactory(variant=tee, channel=channel, amount="20.00")
    stock.stock_receive(location=store, variant=tee, quantity=1)
    tills = [role_assign(user=UserFactory(username=f"till{i}"), role=STORE_STAFF, stores=[store]) for i in (1, 2)]

    results = run_at_once(2, lambda i: services.till_sale(store=store, lines=[(tee, 1)], staff=tills[i],
                                                          payment_method=Payment.Method.CARD_PRESENT))

    assert all(isinstance(r, Order) for r in results), results
    found = StockMovement.objects.filter(reason=StockMovement.Reason.FOUND_AT_TILL)
    assert [(m.on_hand_delta, m.location) for m in found] == [(1, store)]
    assert found.get().reference in {f"order:{r.number}" for r in results}
    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.on_hand, level.committed, level.reserved, level.unavailable) == (0, 0, 0, 0)
    assert ledger_drift(location=store) == []
