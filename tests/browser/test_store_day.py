"""Each role's day in the back office, in a real browser on the live server: store staff mark a pickup ready
from the store home, pack and ship a parcel with its tracking number, and take back a two-unit return at the
desk (one resellable, one damaged); pickup staff find an order by the customer's name and hand it over; and
the till loads a customer's online basket, sells it, and the app's cart is then empty."""
import re

import pytest

from backoffice.roles import PICKUP_STAFF, STORE_STAFF, role_assign
from fulfillment import services as fulfilment
from fulfillment.models import Fulfillment
from inventory import services as stock
from inventory.models import StockLevel
from orders.models import Refund
from tests.customers.conftest import app_client, register
from tests.factories import UserFactory, stock_the_shop
from tests.fulfillment.test_ship_and_returns import NEAR_LONDON
from tests.journeys.test_pickup_and_returns import order_from_the_app

from .shop import at

PASSWORD = "day-at-the-store-1"
NEAR_MANCHESTER = {"name": "Grace Hopper", "line1": "1 Deansgate", "city": "Manchester", "postcode": "M3 1AZ",
                   "latitude": 53.48, "longitude": -2.25}


@pytest.fixture
def shop(store, other_store):
    tee, _, hoodie = stock_the_shop(store=store)
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    return tee, hoodie


def signed_in_as(chromium, live_server, role: str, store, *, username: str):
    """A browser tab of a member of staff in this role at the store, signed in through the admin's form."""
    user = UserFactory(username=username)
    user.set_password(PASSWORD)
    user.save()
    role_assign(user=user, role=role, stores=[store])
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return page


def test_store_staff_mark_ready_pack_and_ship_and_take_back_a_return(chromium, live_server, screens, shop, store,
                                                                    other_store, stripe_double):
    tee, _ = shop
    pickup_number = order_from_the_app(app_client(register("ada@example.com", "Ada")), stripe_double,
                                       fulfilment="pickup", store=store.code)["number"]
    parcel_number = order_from_the_app(app_client(register("lin@example.com", "Lin")), stripe_double,
                                       fulfilment="delivery", delivery_method="standard", address=NEAR_LONDON)["number"]
    sent_from_manchester = order_from_the_app(app_client(register("grace@example.com", "Grace")), stripe_double,
                                              fulfilment="delivery", delivery_method="standard",
                                              address=NEAR_MANCHESTER)["number"]
    far = Fulfillment.objects.get(order__number=sent_from_manchester)
    assert far.location == other_store
    fulfilment.fulfillment_start_picking(fulfillment=far)
    fulfilment.fulfillment_pack(fulfillment=far, carrier="Royal Mail", tracking_number="RM123456789GB")
    fulfilment.fulfillment_ship(fulfillment=far)
    page = signed_in_as(chromium, live_server, STORE_STAFF, store, username="sam")
    page.on("dialog", lambda dialog: dialog.accept())

    # Mark the pickup ready: one click from the store home.
    page.wait_for_url(at("/admin/store/"))
    screens.take(page, "store home")
    page.get_by_role("row", name=re.compile(pickup_number)).get_by_role(
        "button", name="Picked: mark ready for pickup").click()
    page.get_by_text(re.compile(rf"{pickup_number}: ready for pickup with code \w+; the shopper is told\.")).wait_for()
    assert Fulfillment.objects.get(order__number=pickup_number).status == Fulfillment.Status.READY
    screens.take(page, "pickup marked ready")

    # Pack and ship the parcel: start picking, then the fulfilment's page with its pack form.
    page.get_by_role("row", name=re.compile(parcel_number)).get_by_role("button", name="Start picking").click()
    page.get_by_text(f"{parcel_number}: being picked.").wait_for()
    page.get_by_role("row", name=re.compile(parcel_number)).get_by_role("link", name="Pack…").click()
    page.get_by_label("Carrier").fill("DPD")
    page.get_by_label("Tracking number").fill("15501234567890")
    screens.take(page, "pack form")
    page.get_by_role("button", name="Pack").click()
    page.get_by_text(f"{parcel_number}: packed: DPD 15501234567890.").wait_for()
    page.get_by_role("button", name="Ship").click()  # its confirm() is accepted
    page.get_by_text(f"{parcel_number}: shipped; the shopper is told and the payment taken.").wait_for()
    screens.take(page, "parcel shipped")
    parcel = Fulfillment.objects.get(order__number=parcel_number)
    assert (parcel.status, parcel.tracking_number) == (Fulfillment.Status.SHIPPED, "15501234567890")

    # A parcel sent from Manchester comes back to this London store: one unit fine, one damaged.
    before = {loc.code: StockLevel.objects.get(location=loc, variant=tee) for loc in (store, other_store)}
    page.goto("/admin/store/")
    page.get_by_role("navigation", name="Store tools").get_by_role("link", name="Returns desk").click()
    page.get_by_label("Return code, order number, customer email or phone, or scan a code").fill(
        sent_from_manchester.lower())
    page.get_by_role("button", name="Find").click()
    returning = page.get_by_role("checkbox", name="Returning")
    returning.nth(0).check()
    returning.nth(1).check()
    page.get_by_label("Condition of TEE-NAVY-M, unit 1").select_option(label="Resellable — back on sale here")
    page.get_by_label("Condition of TEE-NAVY-M, unit 2").select_option(label="Damaged or faulty — kept off sale here")
    page.get_by_label("Reason for TEE-NAVY-M, unit 2").fill("Seam split")
    screens.take(page, "return units")
    page.get_by_role("button", name="Preview refund").click()
    screens.take(page, "refund preview")
    page.get_by_role("button", name=re.compile(r"Confirm and refund £")).click()
    page.get_by_text(re.compile(r"Return RT\w+ received")).wait_for()
    screens.take(page, "return received")

    here, there = (StockLevel.objects.get(location=loc, variant=tee) for loc in (store, other_store))
    assert (here.available - before[store.code].available, here.unavailable - before[store.code].unavailable) == (1, 1)
    assert (there.on_hand, there.available) == (before[other_store.code].on_hand, before[other_store.code].available)
    [refund] = Refund.objects.filter(payment__order__number=sent_from_manchester)
    assert refund.amount == 40 + far.order.delivery_amount  # the whole order came back: goods and delivery
    page.context.close()


def test_pickup_staff_find_an_order_by_the_customers_name_and_hand_it_over(chromium, live_server, screens, shop,
                                                                          store, stripe_double):
    ada = register("ada@example.com", "Ada")
    ada.last_name = "Lovelace"
    ada.save()
    number = order_from_the_app(app_client(ada), stripe_double, fulfilment="pickup", store=store.code)["number"]
    waiting = Fulfillment.objects.get(order__number=number)
    fulfilment.fulfillment_start_picking(fulfillment=waiting)
    fulfilment.fulfillment_mark_ready(fulfillment=waiting)
    page = signed_in_as(chromium, live_server, PICKUP_STAFF, store, username="pat")

    page.get_by_role("navigation", name="Store tools").get_by_role("link", name="Pickup counter").click()
    assert number in page.get_by_role("region", name=re.compile("Waiting at this counter")).inner_text()
    page.get_by_label(re.compile("Scan the QR code")).fill("lovelace")
    page.get_by_role("button", name="Find the order").click()
    assert "Who may collect" in page.inner_text("main") and "Ada" in page.inner_text("main")
    screens.take(page, "found by name")
    page.get_by_role("button", name=f"Hand over order {number}").click()
    page.get_by_text(f"Order {number} handed over. Thank you!").wait_for()
    screens.take(page, "handed over")
    waiting.refresh_from_db()
    assert waiting.status == Fulfillment.Status.COLLECTED
    page.context.close()


def test_the_till_sells_a_customers_online_basket_and_the_app_then_shows_it_empty(chromium, live_server, screens,
                                                                                shop, store):
    ada = register("ada@example.com", "Ada")
    ada.phone = "+447700900123"
    ada.save()
    app = app_client(ada)
    app.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 2}, format="json")
    assert app.get("/api/v1/cart/").json()["item_count"] == 2
    page = signed_in_as(chromium, live_server, STORE_STAFF, store, username="sam")

    page.get_by_role("navigation", name="Store tools").get_by_role("link", name="Till").click()
    page.get_by_label("Email or phone number").fill("07700 900123")
    page.get_by_role("button", name="Find the customer").click()
    page.get_by_role("button", name="Load into the till").click()
    assert "£40.00" in page.locator("#till-total").inner_text()
    screens.take(page, "online basket at the till")
    page.get_by_label("Cash tendered").fill("50")
    page.get_by_role("button", name=re.compile(r"Take £40\.00 and sell")).click()
    page.get_by_text("Change due £10.00").wait_for()
    screens.take(page, "sold with change due")

    cart = app.get("/api/v1/cart/").json()
    assert (cart["item_count"], cart["lines"]) == (0, [])
    assert StockLevel.objects.get(location=store, variant=shop[0]).on_hand == 3
    page.context.close()
