"""Short picks through the staff API, on any database: each reason's ledger effect, the re-route of a delivery
(within the split limit), the pickup shopper's choices and their default, and what nowhere can supply."""
import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fulfillment.models import Fulfillment, LineProblem
from fulfillment.problems import line_problems_settle
from inventory import services as stock
from inventory.models import StockDiscrepancy, StockLevel, StockMovement
from inventory.selectors import ledger_drift
from notifications.models import OutboxMessage
from orders.models import Order, OrderEvent, OrderLine, Payment, RoutingPolicy
from orders.selectors import order_link
from tests.customers.conftest import app_client, register
from tests.factories import LocationFactory
from tests.fulfillment.test_ship_and_returns import NEAR_LONDON, place, send
from tests.journeys.test_pickup_and_returns import staff_of

pytestmark = pytest.mark.django_db


def level(location, variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def report(staff, fulfillment, line, reason, **body):
    return staff.post(f"/api/v1/staff/fulfillments/{fulfillment.pk}/problems/",
                      {"line_id": line.pk, "reason": reason, **body}, format="json")


@pytest.fixture
def phone(db):
    return app_client(register())


@pytest.fixture
def delivery(shelf, store, other_store, phone, stripe_double):
    """Two tees to a London address, sent from the London store (nearest); Manchester has 5 tees too."""
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 2), fulfilment="delivery", delivery_method="standard",
                   address=NEAR_LONDON)
    order = Order.objects.get(number=placed["number"])
    return order, Fulfillment.objects.get(order=order), order.lines.get()


def set_split_limit(limit: int) -> None:
    RoutingPolicy.objects.update(split_limit=limit)
    RoutingPolicy.objects.first().save()  # the policy is kept in memory: saving tells every process


# Each reason's effect on the ledger ----------------------------------------------------------


def test_not_found_corrects_the_store_to_what_is_on_the_shelf_and_sends_it_from_another_store(
        shelf, store, other_store, delivery):
    tee, _ = shelf
    order, parcel, line = delivery
    staff = staff_of(store)

    answered = report(staff, parcel, line, "not_found", on_shelf=3)

    assert answered.status_code == 201, answered.json()
    assert (answered.json()["outcome"], answered.json()["sent_from"]) == ("rerouted", other_store.code)
    # London showed 10, 2 promised to this order; staff say 3 are left: on hand 3, nothing promised any more
    assert (level(store, tee).on_hand, level(store, tee).committed, level(store, tee).available) == (3, 0, 3)
    assert (level(other_store, tee).committed, level(other_store, tee).available) == (2, 3)
    movement = StockMovement.objects.get(location=store, variant=tee, reason=StockMovement.Reason.NOT_FOUND)
    assert (movement.on_hand_delta, movement.committed_delta, movement.reference) == (-7, -2, f"order:{order.number}")
    assert movement.actor.username == "sam"
    assert StockDiscrepancy.objects.filter(pk=movement.pk).exists()  # the store manager looks into it
    line.refresh_from_db()
    assert (line.location, line.quantity, line.quantity_open) == (other_store, 2, 2)
    parcel.refresh_from_db()
    assert parcel.status == Fulfillment.Status.CANCELLED  # nothing left to pick in London
    manchester = Fulfillment.objects.get(order=order, location=other_store)
    assert (manchester.method, manchester.status, [fl.order_line for fl in manchester.lines.all()]) == (
        "ship", "new", [line])
    assert "not found at LDN-OXF: sent from MAN-ARN instead" in OrderEvent.objects.filter(order=order).last().note
    told = OutboxMessage.objects.get(template="line_rerouted", medium="email")
    assert "from Manchester" in told.body or "MAN" in told.body or other_store.city in told.body
    assert ledger_drift(location=store) == [] and ledger_drift(location=other_store) == []


@pytest.mark.parametrize("reason", ["damaged", "worn_display", "wrong_item"])
def test_damaged_worn_or_wrong_units_are_booked_unavailable_where_they_are(shelf, store, delivery, reason):
    tee, _ = shelf
    order, parcel, line = delivery

    answered = report(staff_of(store), parcel, line, reason, quantity=1)

    assert answered.status_code == 201, answered.json()
    assert (level(store, tee).on_hand, level(store, tee).unavailable, level(store, tee).committed) == (10, 1, 1)
    movement = StockMovement.objects.get(location=store, variant=tee, reason=StockMovement.Reason.DAMAGE)
    assert (movement.unavailable_delta, movement.committed_delta) == (1, -1)
    assert LineProblem.Reason(reason).label.lower() in movement.note


def test_a_partly_short_line_is_split_and_still_adds_up_to_what_was_paid(shelf, store, other_store, phone,
                                                                         stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 3), fulfilment="delivery", delivery_method="standard",
                   address=NEAR_LONDON)
    order = Order.objects.get(number=placed["number"])
    line = order.lines.get()
    paid = (line.total_amount, line.tax_amount)

    answered = report(staff_of(store), Fulfillment.objects.get(order=order), line, "damaged", quantity=1)

    assert answered.status_code == 201, answered.json()
    lines = list(order.lines.order_by("id"))
    assert [(l.location.code, l.quantity) for l in lines] == [("LDN-OXF", 2), ("MAN-ARN", 1)]
    assert (sum(l.total_amount for l in lines), sum(l.tax_amount for l in lines)) == paid
    assert {f.location.code: f.status for f in order.fulfillments.all()} == {"LDN-OXF": "new", "MAN-ARN": "new"}
    assert Fulfillment.objects.get(order=order, location=store).lines.get().quantity == 2


def test_both_parcels_sent_capture_the_order_total_once(shelf, store, other_store, delivery, stripe_double):
    order, parcel, line = delivery
    staff = staff_of(store, other_store)
    report(staff, parcel, line, "damaged", quantity=1)

    for fulfillment in order.fulfillments.exclude(status="cancelled"):
        send(staff, fulfillment, tracking_number=f"RM{fulfillment.pk}GB")

    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.captured_amount) == ("captured", order.total_amount)  # no extra charge
    order.refresh_from_db()
    assert order.status == Order.Status.FULFILLED


# Delivery: the split limit, and nowhere to send from --------------------------------------------


def test_a_reroute_splits_only_within_the_split_limit(shelf, store, other_store, warehouse, phone, stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=1)
    stock.stock_receive(location=warehouse, variant=tee, quantity=1)
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 2), fulfilment="delivery", delivery_method="standard",
                   address=NEAR_LONDON)
    order = Order.objects.get(number=placed["number"])
    set_split_limit(1)  # one parcel only: neither Manchester nor the warehouse has both

    answered = report(staff_of(store), Fulfillment.objects.get(order=order), order.lines.get(), "not_found")

    assert answered.json()["outcome"] == "cancelled"
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert Payment.objects.get(order=order).status == Payment.Status.VOIDED
    assert (level(other_store, tee).committed, level(warehouse, tee).committed) == (0, 0)
    assert OutboxMessage.objects.filter(template="line_dropped", medium="email").count() == 1


def test_within_a_split_limit_of_two_the_units_come_from_two_places(shelf, store, other_store, warehouse, phone,
                                                                    stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=1)
    stock.stock_receive(location=warehouse, variant=tee, quantity=1)
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 2), fulfilment="delivery", delivery_method="standard",
                   address=NEAR_LONDON)
    order = Order.objects.get(number=placed["number"])
    set_split_limit(2)

    answered = report(staff_of(store), Fulfillment.objects.get(order=order), order.lines.get(), "not_found")

    assert answered.json()["outcome"] == "rerouted"
    assert sorted((l.location.code, l.quantity_open) for l in order.lines.all()) == [("MAN-ARN", 1), ("WH-DAV", 1)]
    assert (level(other_store, tee).committed, level(warehouse, tee).committed) == (1, 1)


def test_when_nowhere_has_it_the_line_is_cancelled_and_the_rest_still_goes(shelf, store, phone, stripe_double):
    tee, hoodie = shelf
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 1), ("HOOD-GREY-L", 1), fulfilment="delivery",
                   delivery_method="standard", address=NEAR_LONDON)
    order = Order.objects.get(number=placed["number"])
    hood = order.lines.get(sku="HOOD-GREY-L")

    answered = report(staff_of(store), Fulfillment.objects.get(order=order), hood, "damaged")

    assert answered.json()["outcome"] == "cancelled"
    hood.refresh_from_db()
    assert (hood.quantity_cancelled, hood.quantity_open) == (1, 0)
    order.refresh_from_db()
    assert order.status == Order.Status.PLACED
    assert (level(store, hoodie).committed, level(store, hoodie).unavailable) == (0, 1)
    dropped = OutboxMessage.objects.get(template="line_dropped", medium="email")
    assert "rest of your order is not affected" in dropped.body
    parcel = Fulfillment.objects.get(order=order)
    send(staff_of(store), parcel)
    payment = Payment.objects.get(order=order)
    assert payment.captured_amount == order.total_amount - hood.total_amount  # the hoodie is never charged


# Pickup: the shopper's choice ------------------------------------------------------------------


@pytest.fixture
def kensington(db):
    """A store 2.4 miles from Oxford Street that offers pickup."""
    return LocationFactory(code="LDN-KEN", name="London Kensington", latitude=51.5009, longitude=-0.1925)


@pytest.fixture
def pickup(shelf, store, other_store, kensington, phone, stripe_double):
    """Two tees to collect in London; Kensington has 2 and Manchester (too far to offer) 4."""
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=4)
    stock.stock_receive(location=kensington, variant=tee, quantity=2)
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 2), fulfilment="pickup", store=store.code)
    order = Order.objects.get(number=placed["number"])
    return order, Fulfillment.objects.get(order=order), order.lines.get()


def choice_path(problem: LineProblem) -> str:
    body = OutboxMessage.objects.get(template="line_choose", medium="email", reference=f"problem:{problem.pk}").body
    return re.search(r"https?://[^/\s]+(/orders/choose/\S+/)", body).group(1)


def test_a_pickup_short_asks_the_shopper_to_choose_with_a_signed_link(store, pickup, client):
    order, counter, line = pickup

    answered = report(staff_of(store), counter, line, "not_found")

    assert answered.json()["outcome"] == "awaiting_choice"
    problem = LineProblem.objects.get()
    page = client.get(choice_path(problem))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Collect from London Kensington" in text and "2.4 miles from London Oxford Street" in text
    assert "Manchester" not in text  # 162 miles away is no help to someone collecting in London
    assert "Have it delivered, free" in text and "Drop it and get my money back" in text
    assert client.get("/orders/choose/not-a-token/").status_code == 404


def test_the_shopper_collects_elsewhere_once_however_often_the_link_is_used(shelf, store, kensington, pickup,
                                                                          client):
    tee, _ = shelf
    order, counter, line = pickup
    report(staff_of(store), counter, line, "damaged")
    path = choice_path(LineProblem.objects.get())

    far = client.post(path, {"choice": "collect:MAN-ARN"})
    assert far.status_code == 422 and LineProblem.objects.get().outcome == "awaiting_choice"
    chosen = client.post(path, {"choice": f"collect:{kensington.code}"})
    again = client.post(path, {"choice": "drop"})

    assert chosen.status_code == 200 and "You will collect them from London Kensington" in chosen.content.decode()
    assert "You will collect them from London Kensington" in again.content.decode()
    problem = LineProblem.objects.get()
    assert (problem.outcome, problem.sent_from) == ("collect_elsewhere", kensington)
    assert level(kensington, tee).committed == 2
    there = Fulfillment.objects.get(order=order, location=kensington)
    assert (there.method, there.status) == ("pickup", "new")
    assert Payment.objects.get(order=order).status == Payment.Status.AUTHORISED


def test_the_shopper_can_have_it_delivered_free_to_an_address_they_give(store, kensington, pickup, client):
    order, counter, line = pickup
    report(staff_of(store), counter, line, "not_found")
    path = choice_path(LineProblem.objects.get())

    missing = client.post(path, {"choice": "deliver", "name": "Ada Lovelace"})
    chosen = client.post(path, {"choice": "deliver", "name": "Ada Lovelace", "line1": "1 Strand",
                                "city": "London", "postcode": "wc2n 5hr"})

    assert missing.status_code == 422 and "Enter the first line of the address." in missing.content.decode()
    assert chosen.status_code == 200, chosen.content.decode()
    order.refresh_from_db()
    assert (order.ship_to_line1, order.ship_to_postcode, order.total_amount) == ("1 Strand", "WC2N 5HR",
                                                                                  Decimal("40.00"))
    sent = Fulfillment.objects.get(order=order, location=kensington)  # the nearest that ships, to the address
    assert sent.method == "ship" and LineProblem.objects.get().outcome == "deliver"


def test_without_a_choice_in_time_the_units_are_dropped_and_not_charged(shelf, store, pickup, client):
    tee, _ = shelf
    order, counter, line = pickup
    report(staff_of(store), counter, line, "not_found")
    problem = LineProblem.objects.get()

    assert line_problems_settle(now=problem.choose_by - timedelta(minutes=1)) == 0
    assert line_problems_settle(now=problem.choose_by + timedelta(minutes=1)) == 1
    assert line_problems_settle(now=problem.choose_by + timedelta(minutes=2)) == 0

    problem.refresh_from_db()
    assert problem.outcome == "dropped"
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED  # it was the whole order: the card hold is let go
    assert Payment.objects.get(order=order).status == Payment.Status.VOIDED
    assert level(store, tee).committed == 0
    page = client.post(choice_path(problem), {"choice": "drop"})
    assert "been taken off your order" in page.content.decode()


# Bad input changes nothing ---------------------------------------------------------------------


def test_a_report_that_cannot_apply_says_why_and_changes_nothing(shelf, store, other_store, delivery):
    tee, _ = shelf
    order, parcel, line = delivery
    staff = staff_of(store)
    before = list(StockMovement.objects.values_list("pk", flat=True))

    wrong_reason = report(staff, parcel, line, "lost")
    too_many = report(staff, parcel, line, "damaged", quantity=3)
    stale = report(staff, parcel, line, "damaged", open_seen=1)
    elsewhere = report(staff_of(other_store, username="kim"), parcel, line, "damaged")
    not_this_line = staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/problems/",
                               {"line_id": 999999, "reason": "damaged"}, format="json")

    assert wrong_reason.status_code == 400 and "reason" in wrong_reason.json()["detail"]["fields"]
    assert too_many.status_code == 409 and "1 to 2" in too_many.json()["message"]
    assert stale.status_code == 409 and "Reload" in stale.json()["message"]
    assert elsewhere.status_code == 404
    assert not_this_line.status_code == 409
    assert list(StockMovement.objects.values_list("pk", flat=True)) == before
    assert not LineProblem.objects.exists() and level(store, tee).committed == 2


def test_the_same_report_sent_twice_with_its_key_applies_once(shelf, store, delivery):
    tee, _ = shelf
    order, parcel, line = delivery
    staff = staff_of(store)
    key = str(uuid.uuid4())

    first = staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/problems/",
                       {"line_id": line.pk, "reason": "damaged", "quantity": 1}, format="json",
                       headers={"Idempotency-Key": key})
    second = staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/problems/",
                        {"line_id": line.pk, "reason": "damaged", "quantity": 1}, format="json",
                        headers={"Idempotency-Key": key})

    assert first.json()["id"] == second.json()["id"]
    assert LineProblem.objects.count() == 1 and level(store, tee).unavailable == 1


# Capacity and the routing decision -------------------------------------------------------------


def test_a_store_at_capacity_or_closed_today_is_skipped_for_new_delivery_orders(shelf, store, other_store, phone,
                                                                                stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    store.daily_ship_capacity = 1
    store.save()
    first = place(phone, stripe_double, ("TEE-NAVY-M", 1), fulfilment="delivery", delivery_method="standard",
                  address=NEAR_LONDON)
    second = place(phone, stripe_double, ("TEE-NAVY-M", 1), fulfilment="delivery", delivery_method="standard",
                   address=NEAR_LONDON)
    other_store.ship_days = [day for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                             if day != ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[timezone.localdate().weekday()]]
    other_store.save()
    third = place(phone, stripe_double, ("TEE-NAVY-M", 1), fulfilment="delivery", delivery_method="standard",
                  address=NEAR_LONDON)

    sent_from = {n: Order.objects.get(number=n).lines.get().location.code
                 for n in (first["number"], second["number"], third["number"])}
    assert sent_from == {first["number"]: "LDN-OXF", second["number"]: "MAN-ARN", third["number"]: "LDN-OXF"}
    decided = Order.objects.get(number=second["number"]).routing
    assert decided["rule"] == "skip_at_capacity" and "MAN-ARN" in decided["said"]
    assert Order.objects.get(number=first["number"]).routing["rule"] == "nearest"
    # with everyone at capacity or closed, the order still goes: the nearest
    assert Order.objects.get(number=third["number"]).routing["rule"] == "nearest"


def test_a_pickup_store_is_not_skipped_at_capacity(shelf, store, phone, stripe_double):
    store.daily_ship_capacity = 0
    store.save()
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 1), fulfilment="pickup", store=store.code)
    assert Order.objects.get(number=placed["number"]).lines.get().location == store


def test_operations_can_rank_locations_ahead_of_distance(shelf, store, other_store, phone, stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    policy = RoutingPolicy.objects.get()
    policy.rules.filter(rule="location_rank").update(position=0)
    policy.save()
    other_store.routing_rank = 1
    other_store.save()

    placed = place(phone, stripe_double, ("TEE-NAVY-M", 1), fulfilment="delivery", delivery_method="standard",
                   address=NEAR_LONDON)

    order = Order.objects.get(number=placed["number"])
    assert order.lines.get().location == other_store and order.routing["rule"] == "location_rank"


def test_a_problem_is_reported_from_the_pick_list_page(shelf, store, delivery, client):
    order, parcel, line = delivery
    user = staff_of(store).handler._force_user
    client.force_login(user)
    page = client.get(f"/scan/pick-list/{store.code}/")
    assert "Report a problem" in page.content.decode()

    refused = client.post(f"/scan/pick-list/{store.code}/", {
        "fulfillment": parcel.pk, "line": line.pk, "reason": "", "units": "2", "open_seen": "2"})
    done = client.post(f"/scan/pick-list/{store.code}/", {
        "fulfillment": parcel.pk, "line": line.pk, "reason": "damaged", "units": "2", "open_seen": "2",
        "key": "k1"}, follow=True)

    assert refused.status_code == 409 and "Choose what is wrong" in refused.content.decode()
    assert "sent from Manchester Arndale instead" in done.content.decode()
    assert LineProblem.objects.get().outcome == "rerouted"
    assert OrderLine.objects.get(pk=line.pk).location.code == "MAN-ARN"


def test_reroutes_skip_a_location_whose_parcel_is_already_packed(shelf, store, other_store, phone, stripe_double):
    tee, hoodie = shelf
    stock.stock_receive(location=other_store, variant=hoodie, quantity=3)
    third = LocationFactory(code="BHM-BUL", name="Birmingham Bullring", latitude=52.4778, longitude=-1.8940)
    stock.stock_receive(location=third, variant=tee, quantity=3)
    stock.stock_receive(location=other_store, variant=tee, quantity=3)
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 1), ("HOOD-GREY-L", 5), fulfilment="delivery",
                   delivery_method="standard", address=NEAR_LONDON)
    order = Order.objects.get(number=placed["number"])
    manchester = Fulfillment.objects.get(order=order, location=other_store)
    staff = staff_of(store, other_store)
    staff.post(f"/api/v1/staff/fulfillments/{manchester.pk}/pick/")
    staff.post(f"/api/v1/staff/fulfillments/{manchester.pk}/pack/", {"carrier": "DPD", "tracking_number": "D1"},
               format="json")

    tee_line = order.lines.get(sku="TEE-NAVY-M")
    report(staff, Fulfillment.objects.get(order=order, location=store), tee_line, "not_found")

    tee_line.refresh_from_db()
    assert tee_line.location == third  # Manchester is nearer but its parcel is closed


def test_the_order_page_asks_for_the_choice_while_it_waits(store, pickup, client):
    order, counter, line = pickup
    report(staff_of(store), counter, line, "not_found")
    problem = LineProblem.objects.get()

    waiting = client.get(order_link(order)).content.decode()
    client.post(choice_path(problem), {"choice": "drop"})
    after = client.get(order_link(order)).content.decode()

    assert f"We could not find 2 × {line.name}" in waiting
    on_page = re.search(r'href="[^"]*(/orders/choose/[^"]+/)"', waiting).group(1)
    assert on_page.split(":")[0] == choice_path(problem).split(":")[0]  # the same problem, signed a moment apart
    assert "We could not find" not in after
