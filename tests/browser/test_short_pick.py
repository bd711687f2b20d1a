"""A short pick in a real browser: store staff open the pick list, cannot find a tee, report it from its row
(a missing reason is refused next to the field), and see it sent from Manchester instead; a pickup shopper
whose tee was damaged opens the link from their message and chooses to collect it in Kensington."""
import re

import pytest

from backoffice.roles import STORE_STAFF
from fulfillment.models import Fulfillment, LineProblem
from inventory import services as stock
from inventory.models import StockLevel
from notifications.models import OutboxMessage
from tests.customers.conftest import app_client, register
from tests.factories import LocationFactory, stock_the_shop
from tests.fulfillment.test_ship_and_returns import NEAR_LONDON
from tests.journeys.test_pickup_and_returns import order_from_the_app

from .test_store_day import signed_in_as


@pytest.fixture
def shop(store, other_store):
    tee, _, hoodie = stock_the_shop(store=store)
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    return tee, hoodie


def test_staff_report_a_tee_not_found_from_the_pick_list_and_it_is_sent_from_another_store(
        chromium, live_server, screens, shop, store, other_store, stripe_double):
    tee, _ = shop
    number = order_from_the_app(app_client(register("lin@example.com", "Lin")), stripe_double,
                                fulfilment="delivery", delivery_method="standard", address=NEAR_LONDON)["number"]
    page = signed_in_as(chromium, live_server, STORE_STAFF, store, username="sam")
    page.wait_for_url(re.compile("/admin/store/"))

    page.goto(f"/scan/pick-list/{store.code}/")
    row = page.get_by_role("row", name=re.compile(number))
    row.get_by_text("Report a problem").click()
    screens.take(page, "pick list problem form")
    row.get_by_role("button", name="Report the problem").click()  # no reason chosen: the browser asks for one
    assert not LineProblem.objects.exists()
    row.get_by_label(re.compile("What is wrong with")).select_option(label="Not found")
    row.get_by_label(re.compile("how many are left on the shelf")).fill("1")
    row.get_by_role("button", name="Report the problem").click()

    page.get_by_text(re.compile(rf"{number}: 2 × {tee.sku} reported not found: sent from Manchester Arndale "
                                r"instead")).wait_for()
    screens.take(page, "reported and re-routed")
    assert page.get_by_role("row", name=re.compile(number)).count() == 0  # nothing left to pick here
    assert StockLevel.objects.get(location=store, variant=tee).on_hand == 1
    assert Fulfillment.objects.get(order__number=number, location=other_store).status == "new"


def test_a_pickup_shopper_chooses_another_store_from_the_link_in_their_message(
        chromium, live_server, screens, shop, store, other_store, stripe_double):
    tee, _ = shop
    kensington = LocationFactory(code="LDN-KEN", name="London Kensington", latitude=51.5009, longitude=-0.1925)
    stock.stock_receive(location=kensington, variant=tee, quantity=3)
    number = order_from_the_app(app_client(register("ada@example.com", "Ada")), stripe_double,
                                fulfilment="pickup", store=store.code)["number"]
    page = signed_in_as(chromium, live_server, STORE_STAFF, store, username="sam")
    page.wait_for_url(re.compile("/admin/store/"))
    page.goto(f"/scan/pick-list/{store.code}/")
    row = page.get_by_role("row", name=re.compile(number))
    row.get_by_text("Report a problem").click()
    row.get_by_label(re.compile("What is wrong with")).select_option(label="Damaged")
    row.get_by_role("button", name="Report the problem").click()
    page.get_by_text(re.compile("the shopper is asked to choose")).wait_for()

    body = OutboxMessage.objects.get(template="line_choose", medium="email").body
    link = re.search(r"https?://[^/\s]+(/orders/choose/\S+/)", body).group(1)
    shopper = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844},
                                   locale="en-GB").new_page()
    shopper.goto(link)
    screens.take(shopper, "shopper choice on a phone")
    shopper.get_by_label(re.compile("Collect from London Kensington")).check()
    shopper.get_by_role("button", name="Confirm my choice").click()
    shopper.get_by_text("You will collect them from London Kensington").wait_for()
    screens.take(shopper, "shopper choice made")
    assert LineProblem.objects.get().outcome == "collect_elsewhere"
    assert StockLevel.objects.get(location=kensington, variant=tee).committed == 2
