"""The pickup counter through the staff API: every refusal (unknown, other store, collected, expired,
not ready, forged QR, a station guessing codes), the codes themselves, store scoping, pay at pickup,
the text a guest gets when it is ready, the reminder, and a parcel that cannot be "ready for pickup"."""
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail, signing
from rest_framework.test import APIClient

from core.exceptions import InvalidTransition
from fulfillment import services
from fulfillment.exceptions import PickupRefused
from fulfillment.models import Fulfillment
from fulfillment.services import pickups_expire, pickups_remind
from inventory import services as stock
from inventory.models import StockLevel
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from orders import stripe_gateway
from orders.models import Order, Payment
from tests.customers.conftest import app_client, register
from tests.factories import UserFactory
from tests.journeys.test_pickup_and_returns import order_from_the_app, staff_of
from tests.test_jobs import counting_sms  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

LOOKUP, COLLECT = "/api/v1/staff/pickups/lookup/", "/api/v1/staff/pickups/collect/"
NEAR_LONDON = {"name": "Ada Lovelace", "line1": "1 Strand", "city": "London", "postcode": "WC2N 5HR",
               "latitude": 51.508, "longitude": -0.125}


def shopper(email="ada@example.com", first_name="Ada") -> APIClient:
    return app_client(register(email, first_name))


def ready_pickup(counter, stripe_double, store, phone=None, **choice) -> Fulfillment:
    """A pickup order placed from the app, picked and marked ready through the staff API."""
    order = order_from_the_app(phone or shopper(), stripe_double, fulfilment="pickup", store=store.code, **choice)
    fulfillment = Fulfillment.objects.get(order__number=order["number"])
    assert counter.post(f"/api/v1/staff/fulfillments/{fulfillment.pk}/pick/").status_code == 200
    assert counter.post(f"/api/v1/staff/fulfillments/{fulfillment.pk}/ready/").status_code == 200
    fulfillment.refresh_from_db()
    return fulfillment


def scan(counter, store, code, *, url=LOOKUP, **extra):
    return counter.post(url, {"store": store.code, "code": code}, format="json", **extra)


def refusal(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["detail"].get("reason", "")


def snapshot(fulfillment: Fulfillment, store) -> tuple:
    """What a refused scan must leave alone: status, history, stock, payment."""
    fulfillment.refresh_from_db()
    payment = Payment.objects.get(order=fulfillment.order)
    levels = tuple(StockLevel.objects.filter(location=store).order_by("variant_id")
                   .values_list("on_hand", "committed", "reserved"))
    return (fulfillment.status, fulfillment.events.count(), levels, payment.status, payment.captured_amount,
            fulfillment.order.lines.get().quantity_fulfilled)


def a_wrong_code(right: str) -> str:
    return "ZZZZ2222" if right != "ZZZZ2222" else "YYYY3333"


# Refusals at the counter ------------------------------------------------------------------------


def test_a_wrong_code_is_refused_as_unknown_and_nothing_changes(shelf, store, stripe_double):
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store)
    before = snapshot(pickup, store)

    looked = scan(counter, store, a_wrong_code(pickup.pickup_code))
    collected = scan(counter, store, a_wrong_code(pickup.pickup_code), url=COLLECT)

    assert refusal(looked) == refusal(collected) == (409, "pickup_refused", "unknown_code")
    assert "No order has that pickup code" in looked.json()["message"]
    assert snapshot(pickup, store) == before
    intent = stripe_double.v1.payment_intents.retrieve(pickup.order.payment.stripe_payment_intent)
    assert intent.status == "requires_capture"


def test_an_order_waiting_at_another_store_is_refused_naming_that_store(shelf, store, other_store, stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    counter = staff_of(store, other_store)  # works at both, but this counter is in London
    pickup = ready_pickup(counter, stripe_double, other_store)
    before = snapshot(pickup, other_store)

    looked = scan(counter, store, pickup.pickup_code)
    collected = scan(counter, store, pickup.pickup_code, url=COLLECT)

    assert refusal(looked) == refusal(collected) == (409, "pickup_refused", "other_store")
    assert looked.json()["detail"]["store"] == "MAN-ARN"
    assert "Manchester Arndale" in looked.json()["message"]
    assert snapshot(pickup, other_store) == before
    assert scan(counter, other_store, pickup.pickup_code).status_code == 200


def test_an_order_already_collected_is_refused_the_second_time(shelf, store, stripe_double):
    tee, _ = shelf
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store)
    assert scan(counter, store, pickup.pickup_code, url=COLLECT).status_code == 200

    looked = scan(counter, store, pickup.pickup_code)
    again = scan(counter, store, pickup.pickup_code, url=COLLECT)

    assert refusal(looked) == refusal(again) == (409, "pickup_refused", "already_collected")
    assert looked.json()["message"].startswith("Already collected on ")
    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.on_hand, level.committed) == (8, 0)  # the units left once
    assert list(pickup.events.values_list("from_status", "to_status")) == [
        ("new", "picking"), ("picking", "ready_for_pickup"), ("ready_for_pickup", "collected")]


def test_a_pickup_past_its_hold_is_refused_as_expired(shelf, store, stripe_double):
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store)
    assert pickups_expire(now=pickup.expires_at + timedelta(minutes=1)) == 1

    looked = scan(counter, store, pickup.pickup_code)
    collected = scan(counter, store, pickup.pickup_code, url=COLLECT)

    assert refusal(looked) == refusal(collected) == (409, "pickup_refused", "expired")
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.EXPIRED


def test_a_pickup_still_being_picked_is_refused_as_not_ready(shelf, store, stripe_double):
    """No code is issued before "ready", so only a signed token can name a pickup still in picking."""
    counter = staff_of(store)
    order = order_from_the_app(shopper(), stripe_double, fulfilment="pickup", store=store.code)
    pickup = Fulfillment.objects.get(order__number=order["number"])
    counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/")
    before = snapshot(pickup, store)

    looked = scan(counter, store, services.pickup_qr_token(pickup))
    collected = scan(counter, store, services.pickup_qr_token(pickup), url=COLLECT)

    assert refusal(looked) == refusal(collected) == (409, "pickup_refused", "not_ready")
    assert snapshot(pickup, store) == before


def test_a_forged_qr_token_is_treated_as_an_unknown_code(shelf, store, stripe_double):
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store)
    genuine = services.pickup_qr_token(pickup)
    payload = {"f": pickup.pk, "c": pickup.pickup_code}
    value, signature = genuine.rsplit(":", 1)
    middle = len(value) // 2
    forgeries = [
        signing.dumps(payload, salt="some.other.salt", compress=True),
        signing.dumps(payload, salt=services.QR_SALT, key="not-the-secret-key", compress=True),
        value[:middle] + ("A" if value[middle] != "A" else "B") + value[middle + 1:] + ":" + signature,
        value + ":" + signature[::-1],
    ]
    before = snapshot(pickup, store)

    for forged in forgeries:
        assert refusal(scan(counter, store, forged)) == (409, "pickup_refused", "unknown_code"), forged
    assert refusal(scan(counter, store, forgeries[0], url=COLLECT)) == (409, "pickup_refused", "unknown_code")

    assert snapshot(pickup, store) == before
    cleared = staff_of(store, username="kim")  # another station: the forgeries above used up sam's tries
    assert scan(cleared, store, genuine).json()["order"] == pickup.order.number


def test_typed_codes_are_accepted_in_lower_case_and_with_spaces_or_hyphens(shelf, store, stripe_double):
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store)
    code = pickup.pickup_code

    typed_codes = (code.lower(), f"{code[:4]} {code[4:]}", f"{code[:4]}-{code[4:]}",
                   f"  {code[:4].lower()} - {code[4:]}  ")
    for typed in typed_codes:
        looked = scan(counter, store, typed)
        assert looked.status_code == 200, (typed, looked.json())
        assert looked.json()["order"] == pickup.order.number
    handed = scan(counter, store, f"{code[:4].lower()}-{code[4:].lower()}", url=COLLECT)

    assert handed.status_code == 200 and handed.json()["status"] == "collected"


def test_after_five_wrong_codes_a_station_is_refused_even_the_right_code(shelf, store, stripe_double):
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store)
    wrong = a_wrong_code(pickup.pickup_code)

    answers = [refusal(scan(counter, store, wrong)) for _ in range(5)]
    sixth = scan(counter, store, pickup.pickup_code)
    collect = scan(counter, store, pickup.pickup_code, url=COLLECT)

    assert answers == [(409, "pickup_refused", "unknown_code")] * 5
    assert (sixth.status_code, sixth.json()["code"]) == (429, "too_many_wrong_codes")
    assert (collect.status_code, collect.json()["code"]) == (429, "too_many_wrong_codes")
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY
    other_counter = scan(counter, store, pickup.pickup_code, REMOTE_ADDR="10.0.0.2")
    assert other_counter.status_code == 200  # only the guessing station is slowed down


# The codes --------------------------------------------------------------------------------------


def test_a_pickup_code_is_eight_characters_without_0_o_1_i_or_l(shelf, store, stripe_double):
    phone = shopper()
    pickup = ready_pickup(staff_of(store), stripe_double, store, phone=phone)
    shown = phone.get(f"/api/v1/orders/{pickup.order.number}/fulfillments/").json()[0]["pickup_code"]
    drawn = "".join(services._new_code() for _ in range(2000))

    assert shown == pickup.pickup_code
    assert re.fullmatch(r"[A-Z2-9]{8}", shown)
    allowed = set("ABCDEFGHJKMNPQRSTUVWXYZ23456789")
    assert set(shown) <= allowed
    assert set(drawn) == allowed  # every readable character is used, and nothing else
    assert not set("0O1IL") & set(drawn)


def test_two_ready_pickups_never_share_a_code_a_clash_draws_again(shelf, store, stripe_double, monkeypatch):
    counter = staff_of(store)
    first = ready_pickup(counter, stripe_double, store)
    second_order = order_from_the_app(shopper("grace@example.com", "Grace"), stripe_double, fulfilment="pickup",
                                      store=store.code)
    second = Fulfillment.objects.get(order__number=second_order["number"])
    services.fulfillment_start_picking(fulfillment=second)
    draws = iter([first.pickup_code, first.pickup_code, "XYZW2345"])
    monkeypatch.setattr(services, "_new_code", lambda: next(draws))

    ready = services.fulfillment_mark_ready(fulfillment=second)

    assert first.pickup_code != "XYZW2345"
    assert ready.pickup_code == "XYZW2345"
    second.refresh_from_db()
    assert (second.status, second.pickup_code) == (Fulfillment.Status.READY, "XYZW2345")
    assert list(second.events.values_list("to_status", flat=True)) == ["picking", "ready_for_pickup"]
    assert OutboxMessage.objects.filter(template="pickup_ready", reference=f"fulfillment:{second.pk}",
                                        medium="email").count() == 1


def test_two_ready_pickups_never_share_a_code_when_every_draw_clashes_it_fails_clearly(
    shelf, store, stripe_double, monkeypatch,
):
    counter = staff_of(store)
    first = ready_pickup(counter, stripe_double, store)
    second_order = order_from_the_app(shopper("grace@example.com", "Grace"), stripe_double, fulfilment="pickup",
                                      store=store.code)
    second = Fulfillment.objects.get(order__number=second_order["number"])
    counter.post(f"/api/v1/staff/fulfillments/{second.pk}/pick/")
    monkeypatch.setattr(services, "_new_code", lambda: first.pickup_code)

    with pytest.raises(PickupRefused, match="Could not issue a unique pickup code; try again."):
        services.fulfillment_mark_ready(fulfillment=second)
    through_the_api = counter.post(f"/api/v1/staff/fulfillments/{second.pk}/ready/")

    assert (through_the_api.status_code, through_the_api.json()["code"]) == (409, "pickup_refused")
    second.refresh_from_db()
    assert (second.status, second.pickup_code) == (Fulfillment.Status.PICKING, "")
    assert not OutboxMessage.objects.filter(template="pickup_ready", reference=f"fulfillment:{second.pk}").exists()
    assert Fulfillment.objects.filter(pickup_code=first.pickup_code).count() == 1


def test_a_code_is_free_again_once_its_pickup_is_collected_and_then_names_the_new_pickup(
    shelf, store, stripe_double, monkeypatch,
):
    counter = staff_of(store)
    monkeypatch.setattr(services, "_new_code", lambda: "ABCD2345")
    first = ready_pickup(counter, stripe_double, store)
    assert scan(counter, store, "ABCD2345", url=COLLECT).status_code == 200

    second = ready_pickup(counter, stripe_double, store, phone=shopper("grace@example.com", "Grace"))
    looked = scan(counter, store, "abcd-2345")

    assert first.pickup_code == second.pickup_code == "ABCD2345"
    assert looked.status_code == 200 and looked.json()["order"] == second.order.number


# Who may use the counter ------------------------------------------------------------------------


def test_staff_of_another_store_get_404_for_its_fulfilments_and_do_not_see_them_queued(
    shelf, store, other_store, stripe_double,
):
    order = order_from_the_app(shopper(), stripe_double, fulfilment="pickup", store=store.code)
    pickup = Fulfillment.objects.get(order__number=order["number"])
    manchester = staff_of(other_store, username="mo")

    answers = {step: manchester.post(f"/api/v1/staff/fulfillments/{pickup.pk}/{step}/").status_code
               for step in ("pick", "ready", "ship", "delivered")}
    packed = manchester.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pack/",
                             {"carrier": "DPD", "tracking_number": "X1"}, format="json")
    queue = manchester.get("/api/v1/staff/fulfillments/").json()["results"]

    assert answers == {"pick": 404, "ready": 404, "ship": 404, "delivered": 404}
    assert packed.status_code == 404
    assert queue == []
    pickup.refresh_from_db()
    assert (pickup.status, pickup.events.count()) == (Fulfillment.Status.NEW, 0)
    london = staff_of(store, username="sam")
    assert [f["order"] for f in london.get("/api/v1/staff/fulfillments/").json()["results"]] == [order["number"]]


def test_a_user_who_is_not_staff_is_forbidden_the_staff_api(shelf, store, stripe_double):
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store)
    not_staff = UserFactory(username="visitor", is_staff=False)
    store.staff.add(not_staff)  # on the store's list, but not a member of staff
    visitor = APIClient()
    visitor.force_authenticate(not_staff)
    a_shopper = shopper("grace@example.com", "Grace")

    for client in (visitor, a_shopper):
        assert scan(client, store, pickup.pickup_code).status_code == 403
        assert scan(client, store, pickup.pickup_code, url=COLLECT).status_code == 403
        assert client.get("/api/v1/staff/fulfillments/").status_code == 403
        assert client.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/").status_code == 403
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY


# Money, reminders, and what a parcel cannot be ----------------------------------------------------


def test_a_pay_at_pickup_order_is_captured_for_its_total_at_the_counter_without_stripe(
    shelf, store, stripe_double, monkeypatch,
):
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store, payment_method="pay_at_pickup")

    def no_stripe():
        raise AssertionError("Stripe must not be called for a pay-at-pickup order")

    monkeypatch.setattr(stripe_gateway, "_client", no_stripe)
    handed = scan(counter, store, pickup.pickup_code, url=COLLECT)

    assert handed.status_code == 200 and handed.json()["status"] == "collected"
    order = Order.objects.get(pk=pickup.order_id)
    payment = order.payment
    assert order.status == Order.Status.FULFILLED
    assert (payment.method, payment.status, payment.captured_amount) == (
        Payment.Method.PAY_AT_PICKUP, Payment.Status.CAPTURED, order.total_amount)
    assert order.total_amount == Decimal("40.00")
    assert payment.stripe_payment_intent is None


def test_a_guest_who_gave_a_mobile_number_gets_a_text_with_the_code_when_it_is_ready(shelf, store, stripe_double,
                                                                                     counting_sms):
    guest = APIClient()
    token = guest.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M"}, format="json").json()["token"]
    guest.credentials(HTTP_X_CART_TOKEN=token)
    order = order_from_the_app(guest, stripe_double, fulfilment="pickup", store=store.code, email="guest@example.com",
                               phone="+447700900555")  # "for a text when it is ready"
    pickup = Fulfillment.objects.get(order__number=order["number"])
    counter = staff_of(store)
    counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/")
    counter.post(f"/api/v1/staff/fulfillments/{pickup.pk}/ready/")
    pickup.refresh_from_db()
    messages_deliver_pending()

    [(to, text)] = [(to, body) for to, body in counting_sms if "is ready at London Oxford Street" in body]
    assert to == "+447700900555" and f"Pickup code {pickup.pickup_code}" in text
    link = urlsplit(re.search(r"https?://\S+", text).group(0))
    opened = APIClient().get(link.path, parse_qs(link.query))
    assert opened.status_code == 200 and pickup.pickup_code in opened.content.decode()
    assert [m.to for m in mail.outbox if "ready to collect" in m.subject] == [["guest@example.com"]]


def test_the_reminder_goes_once_a_day_before_the_hold_runs_out(shelf, store, stripe_double):
    pickup = ready_pickup(staff_of(store), stripe_double, store)
    messages_deliver_pending()
    mail.outbox.clear()

    too_early = pickups_remind(now=pickup.expires_at - timedelta(days=2))
    due = pickups_remind(now=pickup.expires_at - timedelta(hours=12))
    again = pickups_remind(now=pickup.expires_at - timedelta(hours=11))
    later = pickups_remind(now=pickup.expires_at - timedelta(hours=1))

    assert (too_early, due, again, later) == (0, 1, 0, 0)
    messages_deliver_pending()
    reminders = [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert len(reminders) == 1 and reminders[0].to == ["ada@example.com"]
    assert pickup.order.number in reminders[0].subject and pickup.pickup_code in reminders[0].body
    assert OutboxMessage.objects.filter(template="pickup_reminder").count() == 1
    pickup.refresh_from_db()
    assert pickup.reminder_sent_at == pickup.expires_at - timedelta(hours=12)


def test_a_ship_fulfilment_cannot_be_marked_ready_for_pickup(shelf, store, stripe_double):
    counter = staff_of(store)
    order = order_from_the_app(shopper(), stripe_double, fulfilment="delivery", delivery_method="standard", address=NEAR_LONDON)
    parcel = Fulfillment.objects.get(order__number=order["number"])
    counter.post(f"/api/v1/staff/fulfillments/{parcel.pk}/pick/")

    refused = counter.post(f"/api/v1/staff/fulfillments/{parcel.pk}/ready/")

    assert (refused.status_code, refused.json()["code"]) == (409, "invalid_transition")
    with pytest.raises(InvalidTransition):
        services.fulfillment_mark_ready(fulfillment=parcel)
    parcel.refresh_from_db()
    assert (parcel.method, parcel.status, parcel.pickup_code) == ("ship", Fulfillment.Status.PICKING, "")
    assert not OutboxMessage.objects.filter(template="pickup_ready").exists()


def test_the_lookup_shows_the_counter_who_the_pickup_is_for(shelf, store, stripe_double):
    counter = staff_of(store)
    pickup = ready_pickup(counter, stripe_double, store)

    seen = scan(counter, store, pickup.pickup_code).json()

    assert seen["email"] == "ada@example.com"
    assert seen["customer_name"] == "Ada", "the counter checks the name on the order before handing it over"
