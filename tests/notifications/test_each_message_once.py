"""Each message is about one thing, so a second thing of the same order is told on its own: the second
parcel of a split order, a second return of one order. Told again about the same thing, nobody hears twice."""
import pytest

from fulfillment.services import (
    ReceivedUnits,
    fulfillment_pack,
    fulfillment_ship,
    fulfillment_start_picking,
    return_receive,
)
from inventory import services as stock
from notifications.delivery import messages_deliver_pending
from orders.services import ShipTo
from tests.factories import card
from tests.test_jobs import (  # noqa: F401  (counting_sms and goods are fixtures)
    cart_with,
    checkout,
    collected,
    counting_sms,
    emails,
    goods,
    messages,
    pickup_order,
    shopper,
)

pytestmark = pytest.mark.django_db

STRAND = ShipTo(name="Ada", line1="1 Strand", city="London", postcode="WC2N 5HR", latitude=51.508, longitude=-0.125)


def test_each_parcel_of_a_split_order_is_told_when_it_ships(goods, warehouse, stripe_double, counting_sms):
    tee, hoodie = goods  # 20 tees and 5 of the second tee at the store
    stock.stock_receive(location=warehouse, variant=hoodie, quantity=5)
    ada = shopper(phone="+447700900123")
    order = checkout(ada, cart_with(ada, (tee, 1), (hoodie, 7)), card_id=card(stripe_double), ship_to=STRAND)
    parcels = list(order.fulfillments.order_by("id"))
    assert len(parcels) == 2

    for parcel, tracking in zip(parcels, ("RM1GB", "RM2GB"), strict=True):
        fulfillment_start_picking(fulfillment=parcel)
        fulfillment_pack(fulfillment=parcel, carrier="Royal Mail", tracking_number=tracking)
        fulfillment_ship(fulfillment=parcel)
        fulfillment_ship(fulfillment=parcel)  # pressed twice
    messages_deliver_pending()

    told = emails("is on its way")
    assert [("RM1GB" in m.body, "RM2GB" in m.body) for m in told] == [(True, False), (False, True)]
    texts = [body for _, body in counting_sms if "has shipped" in body]
    assert [("RM1GB" in t, "RM2GB" in t) for t in texts] == [(True, False), (False, True)]


def test_a_second_return_of_one_order_is_told_on_its_own(goods, store):
    tee, _ = goods
    order = pickup_order(shopper(), store, tee, quantity=2)
    collected(order)
    line = order.lines.get()

    first, second = (return_receive(order=order, location=store,
                                    received=[ReceivedUnits(line_id=line.pk, quantity=1, condition="resellable")])
                     for _ in range(2))
    messages_deliver_pending()

    told = emails("We received your return")
    assert sorted(m.subject for m in told) == sorted(f"We received your return {r.code}" for r in (first, second))
    assert all("£20.00" in m.body for m in told)
    assert len(messages("return_refunded")) == 2
