"""Ship-to-store, end to end through the APIs a shopper and store staff use: a store without the item offers it
from a later day, the order commits it at the warehouse, a transfer linked to the pickup takes it to the store,
the store receives it, the pickup becomes ready by itself, the shopper collects and the card is charged; the
ledger of both locations stays true. Also: a store's own part and the transfer's, a cancelled order's transfer,
and a transfer that arrives after the order was cancelled."""
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Channel
from fulfillment.models import Fulfillment
from inventory import services as stock
from inventory.hours import collect_from, kept_until, opening_hours_week
from inventory.models import StockLevel, Transfer
from inventory.selectors import ledger_drift
from notifications.models import OutboxMessage
from orders.models import Order, Payment
from orders.services import order_cancel
from tests.customers.conftest import app_client, register
from tests.factories import LocationFactory, PriceFactory, VariantFactory, card
from tests.journeys.test_pickup_and_returns import order_from_the_app, staff_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def far_store(db):
    """Manchester: offers pickup, holds nothing, sends nothing."""
    return LocationFactory(code="MAN-ARN", name="Manchester Arndale", latitude=53.4831, longitude=-2.2399,
                           ships_orders=False, offers_pickup=True, transfer_lead_days=1)


@pytest.fixture
def tee(db, warehouse):
    tee = VariantFactory(sku="TEE-NAVY-M")
    for channel in Channel.objects.all():
        PriceFactory(variant=tee, channel=channel, amount="20.00")
    stock.stock_receive(location=warehouse, variant=tee, quantity=5)
    return tee


def level(location, variant) -> tuple[int, int, int]:
    row = StockLevel.objects.get(location=location, variant=variant)
    return row.on_hand, row.committed, row.incoming


def test_a_store_without_the_item_gets_it_on_a_transfer_and_the_pickup_readies_itself(
        far_store, warehouse, tee, stripe_double):
    app = app_client(register())
    app.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 2}, format="json")
    quote = app.post("/api/v1/checkout/quote/", {"fulfilment": "pickup", "store": far_store.code}, format="json")
    assert quote.status_code == 200, quote.json()
    promised = quote.json()["collect_from"]
    assert quote.json()["ship_to_store"] is True
    assert promised == collect_from(store=far_store, sources=[warehouse]).isoformat()
    assert promised > timezone.localdate().isoformat()  # not today: it has to travel first

    order = app.post("/api/v1/checkout/", {"fulfilment": "pickup", "store": far_store.code, "payment_method": "card",
                                           "payment_method_id": card(stripe_double)}, format="json",
                     headers={"Idempotency-Key": str(uuid.uuid4())}).json()
    placed = Order.objects.get(number=order["number"])
    assert placed.collect_from.isoformat() == promised
    assert [line["location"] for line in order["lines"]] == ["WH-DAV"]
    assert level(warehouse, tee) == (5, 2, 0)  # committed at the source
    pickup = Fulfillment.objects.get(order=placed)
    assert pickup.location == far_store and pickup.method == "pickup"
    transfer = pickup.transfers.get()
    assert (transfer.source, transfer.destination, transfer.status) == (warehouse, far_store, "draft")
    assert list(transfer.lines.values_list("variant__sku", "quantity")) == [("TEE-NAVY-M", 2)]

    counter = staff_of(far_store)
    early = counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/ready/")
    assert early.status_code == 409 and early.json()["detail"]["reason"] == "awaiting_transfer"
    assert f"transfer T{transfer.pk} from Daventry DC arrives. T{transfer.pk} has not been sent yet" in early.json()["message"]

    stock.transfer_ship(transfer=transfer)
    assert level(warehouse, tee) == (3, 0, 0)  # left the warehouse, promised nowhere while on the road
    assert level(far_store, tee) == (0, 0, 2)
    assert placed.lines.get().in_transit is True

    stock.transfer_receive(transfer=transfer)
    assert level(far_store, tee) == (2, 2, 0)  # arrived and promised to the order at once
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY and len(pickup.pickup_code) == 8
    line = placed.lines.get()
    assert (line.location, line.in_transit) == (far_store, False)
    assert OutboxMessage.objects.filter(template="pickup_ready", reference=f"fulfillment:{pickup.pk}").exists()

    collected = counter.post("/api/v1/staff/pickups/collect/", {"store": far_store.code, "code": pickup.pickup_code},
                             format="json")
    assert collected.status_code == 200, collected.json()
    assert level(far_store, tee) == (0, 0, 0)
    payment = Payment.objects.get(order=placed)
    assert (payment.status, payment.captured_amount) == (Payment.Status.CAPTURED, placed.total_amount)
    assert ledger_drift(location=warehouse) == [] and ledger_drift(location=far_store) == []


def test_the_stores_own_part_waits_for_the_transfer_then_readies_when_it_arrives(
        far_store, warehouse, tee, stripe_double):
    stock.stock_receive(location=far_store, variant=tee, quantity=1)
    app = app_client(register())
    order = order_from_the_app(app, stripe_double, fulfilment="pickup", store=far_store.code)  # two tees
    assert sorted((line["location"], line["quantity"]) for line in order["lines"]) == [("MAN-ARN", 1), ("WH-DAV", 1)]
    pickup = Fulfillment.objects.get(order__number=order["number"])
    counter = staff_of(far_store)
    counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/")
    assert counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/ready/").status_code == 409  # picked, waiting
    transfer = pickup.transfers.get()
    stock.transfer_ship(transfer=transfer)
    stock.transfer_receive(transfer=transfer)
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY
    assert level(far_store, tee) == (2, 2, 0)
    assert ledger_drift(location=warehouse) == [] and ledger_drift(location=far_store) == []


def test_a_store_that_has_not_picked_its_own_part_is_not_readied_by_the_transfer(
        far_store, warehouse, tee, stripe_double):
    stock.stock_receive(location=far_store, variant=tee, quantity=1)
    order = order_from_the_app(app_client(register()), stripe_double, fulfilment="pickup", store=far_store.code)
    pickup = Fulfillment.objects.get(order__number=order["number"])
    transfer = pickup.transfers.get()
    stock.transfer_ship(transfer=transfer)
    stock.transfer_receive(transfer=transfer)
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.NEW  # the tee on its own shelf is still to pick
    counter = staff_of(far_store)
    counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/")
    assert counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/ready/").json()["status"] == "ready_for_pickup"


def test_cancelling_before_the_transfer_leaves_drops_it_and_frees_the_warehouse(
        far_store, warehouse, tee, stripe_double):
    order = order_from_the_app(app_client(register()), stripe_double, fulfilment="pickup", store=far_store.code)
    placed = Order.objects.get(number=order["number"])
    transfer = Fulfillment.objects.get(order=placed).transfers.get()
    order_cancel(order=placed, note="changed my mind")
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.CANCELLED
    assert level(warehouse, tee) == (5, 0, 0)
    assert ledger_drift(location=warehouse) == []


def test_units_on_the_road_when_the_order_is_cancelled_arrive_as_the_stores_own_stock(
        far_store, warehouse, tee, stripe_double):
    order = order_from_the_app(app_client(register()), stripe_double, fulfilment="pickup", store=far_store.code)
    placed = Order.objects.get(number=order["number"])
    pickup = Fulfillment.objects.get(order=placed)
    transfer = pickup.transfers.get()
    stock.transfer_ship(transfer=transfer)
    order_cancel(order=placed, note="changed my mind")
    assert level(warehouse, tee) == (3, 0, 0)
    stock.transfer_receive(transfer=transfer)
    assert level(far_store, tee) == (2, 0, 0)  # the store's to sell
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.CANCELLED
    assert ledger_drift(location=warehouse) == [] and ledger_drift(location=far_store) == []


def test_nowhere_has_it_refuses_naming_the_store(far_store, warehouse, tee):
    app = app_client(register())
    app.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 5}, format="json")
    stock.stock_adjust(location=warehouse, variant=tee, delta=-3, note="breakage")
    quote = app.post("/api/v1/checkout/quote/", {"fulfilment": "pickup", "store": far_store.code}, format="json")
    assert quote.status_code == 409, quote.json()
    assert quote.json()["detail"]["lines"][0]["location"] == "MAN-ARN"


def test_collect_from_counts_the_lead_time_the_road_and_the_stores_open_days(far_store, warehouse):
    monday_morning = timezone.make_aware(timezone.datetime(2026, 11, 30, 9, 0))
    far_store.opening_hours = {"mon": "09:00-17:30", "tue": "closed", "wed": "09:00-17:30", "thu": "09:00-17:30",
                               "fri": "09:00-17:30", "sat": "09:00-17:30", "sun": "closed"}
    warehouse.transfer_lead_days = 1
    # Sent on Tuesday, a day on the road (well under 250 miles), in on Wednesday: the store opens then.
    assert collect_from(store=far_store, sources=[warehouse], now=monday_morning).isoformat() == "2026-12-02"
    warehouse.transfer_lead_days = 2  # in on Thursday
    assert collect_from(store=far_store, sources=[warehouse], now=monday_morning).isoformat() == "2026-12-03"
    saturday_evening = monday_morning + timedelta(days=5, hours=8)  # Sat 17:00: too late today, closed Sunday
    assert collect_from(store=far_store, now=saturday_evening).isoformat() == "2026-12-07"


def test_the_collect_by_date_counts_only_the_days_the_store_opens(far_store):
    far_store.opening_hours = {"mon": "09:00-17:30", "tue": "closed", "wed": "09:00-17:30", "thu": "09:00-17:30",
                               "fri": "09:00-17:30", "sat": "10:00-16:00", "sun": "closed"}
    ready = timezone.make_aware(timezone.datetime(2026, 12, 3, 11, 0))  # a Thursday
    # Three open days after Thursday: Friday, Saturday, (Sunday closed) Monday; kept until Monday's close.
    assert timezone.localtime(kept_until(far_store, ready, 3)).strftime("%a %d %H:%M") == "Mon 07 17:30"
    assert [day for day, hours in opening_hours_week(far_store) if hours == "Closed"] == ["Tuesday", "Sunday"]


def test_the_app_lists_where_the_whole_cart_can_be_collected_nearest_first(far_store, warehouse, tee, store):
    stock.stock_receive(location=store, variant=tee, quantity=2)
    app = app_client(register())
    app.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 2}, format="json")
    listed = app.get("/api/v1/cart/pickup-stores/", {"near": "53.48,-2.24"})  # Manchester
    assert listed.status_code == 200, listed.json()
    rows = {row["code"]: row for row in listed.json()}
    assert [row["code"] for row in listed.json()][:2] == ["MAN-ARN", "LDN-OXF"]  # nearest first
    assert rows["MAN-ARN"]["in_stock"] is False
    assert rows["MAN-ARN"]["collect_from"] == collect_from(store=far_store, sources=[warehouse]).isoformat()
    assert rows["LDN-OXF"]["in_stock"] is True
    assert rows["LDN-OXF"]["collect_from"] == collect_from(store=store).isoformat()
    assert 0 < rows["MAN-ARN"]["distance_miles"] < 1
    stock.stock_adjust(location=warehouse, variant=tee, delta=-5, note="all sold at the warehouse's own outlet")
    stock.stock_adjust(location=store, variant=tee, delta=-1, note="sold at the till")  # 1 left: not enough
    assert {row["collect_from"] for row in app.get("/api/v1/cart/pickup-stores/").json()} == {None}
    assert app.get("/api/v1/cart/pickup-stores/", {"near": "95,0"}).status_code == 400


def test_im_here_from_the_app_tells_the_counter_once_and_notes_it_on_the_timeline(shelf, store, stripe_double):
    from customers.models import Interaction

    ada = register("ada@example.com")
    phone = app_client(ada)
    order = order_from_the_app(phone, stripe_double, fulfilment="pickup", store=store.code)
    too_soon = phone.post(f"/api/v1/orders/{order['number']}/here/", {"bay": "3"}, format="json")
    assert too_soon.status_code == 409 and too_soon.json()["detail"]["reason"] == "not_ready"
    counter = staff_of(store)
    pickup = Fulfillment.objects.get(order__number=order["number"])
    counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/")
    counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/ready/")
    here = phone.post(f"/api/v1/orders/{order['number']}/here/", {"bay": "3", "car": "Blue Golf"}, format="json")
    assert here.status_code == 200, here.json()
    assert (here.json()["arrival_bay"], here.json()["arrival_note"]) == ("3", "Blue Golf")
    again = phone.post(f"/api/v1/orders/{order['number']}/here/", {"bay": "9"}, format="json")
    assert again.json()["arrival_bay"] == "3" and again.json()["arrived_at"] == here.json()["arrived_at"]
    assert Interaction.objects.filter(customer=ada, kind="at_store").count() == 1
    long_bay = phone.post(f"/api/v1/orders/{order['number']}/here/", {"bay": "x" * 21}, format="json")
    assert long_bay.status_code == 400 and "bay" in long_bay.json()["detail"]["fields"]
    assert app_client(register("eve@example.com")).post(f"/api/v1/orders/{order['number']}/here/").status_code == 404


def test_the_shopper_names_someone_else_to_collect(shelf, store, stripe_double):
    phone = app_client(register("ada@example.com"))
    order = order_from_the_app(phone, stripe_double, fulfilment="pickup", store=store.code, collector_name="Bob Smith")
    assert order["collector_name"] == "Bob Smith"
    changed = phone.post(f"/api/v1/orders/{order['number']}/collector/", {"name": "  Carol   Jones "}, format="json")
    assert changed.status_code == 200 and changed.json()["collector_name"] == "Carol Jones"
    assert phone.post(f"/api/v1/orders/{order['number']}/collector/", {"name": ""}, format="json").json()[
        "collector_name"] == ""
    delivered = order_from_the_app(phone, stripe_double, fulfilment="delivery", delivery_method="standard",
                                   address={"name": "Ada", "line1": "1 Strand", "city": "London",
                                            "postcode": "WC2N 5HR"})
    refused = phone.post(f"/api/v1/orders/{delivered['number']}/collector/", {"name": "Bob"}, format="json")
    assert refused.status_code == 422 and refused.json()["detail"]["field"] == "collector_name"


def test_the_list_of_stores_reads_stock_once_and_says_what_checkout_would_route(
        far_store, warehouse, tee, store, django_assert_max_num_queries):
    from orders.routing import route_pickup
    from orders.selectors import pickup_options

    web = Channel.objects.get(code=Channel.WEB)
    hoodie = VariantFactory(sku="HOOD-GREY-L")
    PriceFactory(variant=hoodie, channel=web, amount="45.00")
    stock.stock_receive(location=store, variant=tee, quantity=2)
    stock.stock_receive(location=far_store, variant=hoodie, quantity=1)  # a store that ships nothing has one
    others = [LocationFactory(code=f"STR-{n}", latitude=52 + n / 10, longitude=-1.5, ships_orders=n % 2 == 0)
              for n in range(6)]
    stock.stock_receive(location=others[2], variant=hoodie, quantity=3)
    lines = [(tee, 2), (hoodie, 1)]
    with django_assert_max_num_queries(5):  # the stores, the stock, and the routing policy and places (kept after)
        options = pickup_options(lines=lines, channel=web, latitude=53.48, longitude=-2.24)
    assert len(options) == 8
    for option in options:
        try:
            expected = route_pickup(lines=lines, store=option.store, channel=web).collect_from
        except Exception:
            expected = None
        assert option.collect_from == expected, option.store.code
    assert {o.store.code for o in options if o.all_there} == set()  # nowhere holds both now
    assert all(o.collect_from for o in options)  # everywhere can have them sent


def test_a_pickup_the_store_cannot_fill_is_placed_once_with_its_voucher_used_once(far_store, warehouse, tee,
                                                                                 stripe_double):
    from decimal import Decimal

    from orders.models import Voucher

    voucher = Voucher.objects.create(code="LASTONE", kind="fixed", value=Decimal("5.00"), max_uses=1)
    stock.stock_receive(location=far_store, variant=tee, quantity=1)  # one of the two: the first try is refused
    order = order_from_the_app(app_client(register()), stripe_double, fulfilment="pickup", store=far_store.code,
                               voucher="LASTONE")
    placed = Order.objects.get(number=order["number"])
    assert placed.discount_amount == Decimal("5.00") and placed.routing["rule"] == "ship_to_store"
    voucher.refresh_from_db()
    assert voucher.uses == 1 and Order.objects.count() == 1
    assert level(far_store, tee) == (1, 1, 0) and level(warehouse, tee) == (5, 1, 0)
    assert ledger_drift(location=warehouse) == [] and ledger_drift(location=far_store) == []
