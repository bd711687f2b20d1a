"""What each channel may sell where, and the nearest stores that have a variant."""
import pytest

from inventory import services
from inventory.models import Location
from inventory.selectors import stores_nearest_with_variant, variant_availability
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db

LONDON = (51.5072, -0.1276)


def test_online_channels_see_available_minus_safety_stock_and_the_till_sees_it_all(store, variant, web, till):
    services.stock_receive(location=store, variant=variant, quantity=5)
    services.stock_set_safety_stock(location=store, variant=variant, quantity=2)

    online = variant_availability(variant=variant, channel=web).get()
    counter = variant_availability(variant=variant, channel=till).get()

    assert (online.sellable, counter.sellable) == (3, 5)


def test_nearest_stores_come_nearest_first_with_distance(store, other_store, variant, till):
    edinburgh = LocationFactory(code="EDI-PRI", latitude=55.9521, longitude=-3.1965)
    for location in (edinburgh, other_store, store):
        services.stock_receive(location=location, variant=variant, quantity=2)

    rows = list(stores_nearest_with_variant(variant=variant, channel=till, latitude=LONDON[0], longitude=LONDON[1]))

    assert [r.location.code for r in rows] == ["LDN-OXF", "MAN-ARN", "EDI-PRI"]
    assert rows[0].distance_km < 2
    assert 255 < rows[1].distance_km < 270  # London to Manchester, as the crow flies
    assert 525 < rows[2].distance_km < 540


def test_nearest_stores_leave_out_stores_without_enough_warehouses_and_closed_stores(store, other_store, variant, web):
    warehouse = LocationFactory(code="WH-DAV", kind=Location.Kind.WAREHOUSE, latitude=52.26, longitude=-1.16)
    closed = LocationFactory(code="LDN-OLD", is_active=False, latitude=51.51, longitude=-0.13)
    services.stock_receive(location=store, variant=variant, quantity=1)
    services.stock_set_safety_stock(location=store, variant=variant, quantity=1)
    for location in (other_store, warehouse, closed):
        services.stock_receive(location=location, variant=variant, quantity=3)

    rows = stores_nearest_with_variant(variant=variant, channel=web, latitude=LONDON[0], longitude=LONDON[1], quantity=2)

    assert [r.location.code for r in rows] == ["MAN-ARN"]
