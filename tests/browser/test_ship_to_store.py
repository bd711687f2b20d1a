"""Ship-to-store and "I'm here" in a real browser: a shopper chooses a store that does not have the tee, sees the
day it can be collected, pays by card; the store's manager receives the transfer by its number at the station
and shelves the order, which became ready by itself; the shopper taps "I'm here" on their phone; the counter
sees them arrive without reloading and hands the order over with the code."""
import re

from backoffice.roles import STORE_MANAGER
from fulfillment.models import Fulfillment
from inventory import services as stock
from inventory.hours import collect_from
from inventory.models import StockLevel
from inventory.selectors import ledger_drift
from orders.models import Order
from tests.factories import LocationFactory, stock_the_shop

from .shop import GOOD_CARD, at, fill_card
from .test_store_day import signed_in_as


def test_a_shopper_collects_from_a_store_that_had_to_have_it_sent(chromium, live_server, screens, store, warehouse):
    manchester = LocationFactory(code="MAN-ARN", name="Manchester Arndale", city="Manchester", latitude=53.4831,
                                 longitude=-2.2399, ships_orders=False, offers_pickup=True)
    tee, _, _ = stock_the_shop(store=store, warehouse=warehouse)
    store.offers_pickup = store.ships_orders = False  # London's tees are for London's own shoppers
    store.save()
    promised = collect_from(store=manchester, sources=[warehouse])

    shopper = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="en-GB",
                                   is_mobile=True, has_touch=True)
    shopper.set_default_timeout(15_000)
    page = shopper.new_page()
    page.goto("/shop/organic-tee/?sku=TEE-NAVY-M")
    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to basket").click()
    page.wait_for_url(at("/cart/"))
    page.get_by_role("link", name="Check out").click()
    page.wait_for_url(at("/checkout/"))
    page.get_by_role("radio", name="Collect from a store (free)").check()
    choice = page.get_by_label("Store to collect from")
    assert re.search(rf"Manchester Arndale.*Collect from {promised:%A} {promised.day} {promised:%B}",
                     choice.locator("option", has_text="Manchester").inner_text())
    choice.select_option(manchester.code)
    when = page.locator("#pickup-when")
    when.get_by_text(re.compile(f"{promised:%A} {promised.day} {promised:%B}")).wait_for()
    assert "from another of our locations" in when.inner_text()
    page.get_by_label("Email for the confirmation").fill("grace@example.com")
    page.get_by_label(re.compile("Someone else collecting")).fill("Bob Smith")
    fill_card(page, GOOD_CARD)
    screens.take(page, "checkout collect from a later day")
    page.get_by_role("button", name=re.compile("Place order")).click()
    page.wait_for_url(re.compile(r"/orders/R\w+/\?key="))
    order = Order.objects.get()
    order_link = page.url
    assert (order.pickup_store, order.collect_from, order.collector_name) == (manchester, promised, "Bob Smith")
    assert "on their way to the store from Daventry DC" in page.inner_text("main")
    screens.take(page, "order placed items on their way")

    pickup = Fulfillment.objects.get(order=order)
    transfer = pickup.transfers.get()
    stock.transfer_ship(transfer=transfer)  # the warehouse sends it (its own screens are the admin's)

    desk = signed_in_as(chromium, live_server, STORE_MANAGER, manchester, username="mo")
    desk.wait_for_url(re.compile("/admin/store/"))
    desk.goto("/scan/")
    desk.get_by_role("link", name="Receive a transfer").click()
    desk.get_by_label(re.compile("Scan or type the transfer number")).fill(f"T{transfer.pk}")
    desk.get_by_role("button", name="Find the transfer").click()
    assert order.number in desk.inner_text("main")
    screens.take(desk, "transfer found at the station")
    desk.get_by_role("button", name=f"Receive transfer T{transfer.pk}").click()
    desk.get_by_text(re.compile(f"{order.number}.*ready")).first.wait_for()
    desk.get_by_label(re.compile(f"Where did you put order {order.number}")).fill("B4")
    desk.get_by_role("button", name="Save the shelf").click()
    screens.take(desk, "received and shelved")
    pickup.refresh_from_db()
    assert (pickup.status, pickup.shelf) == ("ready_for_pickup", "B4")
    level = StockLevel.objects.get(location=manchester, variant=tee)
    assert (level.on_hand, level.committed, level.incoming) == (2, 2, 0)

    desk.goto(f"/scan/?store={manchester.code}")
    here_now = desk.locator("section.here-now")
    assert "Nobody has said they are here" in here_now.inner_text()

    page.goto(order_link)
    assert page.locator("#pickup-code").inner_text() == pickup.pickup_code
    page.get_by_label("Bay number (optional)").fill("3")
    page.get_by_label("Your car (optional)").fill("Blue Golf")
    page.get_by_role("button", name="I'm here").click()
    page.get_by_text(re.compile(r"We know you.re here \(bay 3, Blue Golf\)")).wait_for()
    screens.take(page, "shopper said I'm here")

    arrival = here_now.locator(".arrival", has_text=order.number)
    arrival.wait_for(timeout=15_000)  # the counter refreshes itself: nobody reloads it
    assert "Bob Smith collecting for" in arrival.inner_text() and "B4" in arrival.inner_text()
    screens.take(desk, "counter sees the arrival")
    arrival.get_by_role("link", name=f"Open order {order.number}").click()
    desk.get_by_label(re.compile("Scan the QR code")).fill(pickup.pickup_code)
    desk.get_by_role("button", name="Find the order").click()
    desk.get_by_role("button", name=f"Hand over order {order.number}").click()
    desk.get_by_text(f"Order {order.number} handed over. Thank you!").wait_for()
    screens.take(desk, "handed over")

    order.refresh_from_db()
    assert (order.status, order.payment.status) == ("fulfilled", "captured")
    assert ledger_drift(location=manchester) == [] and ledger_drift(location=warehouse) == []
    shopper.close()
