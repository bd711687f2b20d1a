"""The whole click-and-collect journey in a real browser: a shopper browses, searches, finds stock near
them, pays by card and follows the order; store staff mark it ready in one click from their store home and
hand it over at the counter; the shopper's order page then says it was collected."""
import re

from fulfillment.models import Fulfillment
from orders.models import Order
from tests.factories import stock_the_shop

from .shop import GOOD_CARD, at, choice, fill_card, store_staff

OXFORD_STREET = {"latitude": 51.5150, "longitude": -0.1420}


def test_a_shopper_collects_a_card_paid_order_from_a_store_they_found_nearby(chromium, live_server, screens, store,
                                                                             other_store):
    stock_the_shop(store=store)
    staff, password = store_staff(store=store)
    shopper = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB",
                                   geolocation=OXFORD_STREET, permissions=["geolocation"])
    shopper.set_default_timeout(15_000)
    page = shopper.new_page()

    page.goto("/")
    assert page.title() == "Clothing and homeware, online and in store · Hearth & Thread"
    screens.take(page, "home")

    page.get_by_label("Search the shop").fill("organic tee")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/shop/?q=organic+tee")
    assert page.get_by_role("link", name="Organic Tee").is_visible()
    assert page.get_by_role("link", name="Harbour Hoodie").count() == 0
    screens.take(page, "search results")

    page.get_by_role("link", name="Organic Tee").click()
    choice(page, "Size", "L").check()
    page.wait_for_url("**size=L**")
    assert choice(page, "Size", "L").is_checked()
    assert page.locator("#stock").inner_text() == "Out of stock"
    screens.take(page, "product page size L")
    choice(page, "Size", "M").check()
    page.wait_for_url("**size=M**")
    assert page.locator("#stock").inner_text() == "Only 5 left"
    page.get_by_role("button", name="Use my location").click()
    page.wait_for_url("**lat=**")
    stores_near = page.get_by_role("complementary", name="In stock at stores near you")
    assert "London Oxford Street" in stores_near.inner_text() and "Only 5 left" in stores_near.inner_text()
    screens.take(page, "stock near me")
    stores_near.get_by_role("button", name="Make this my store").first.click()
    page.get_by_text("Your store is now London Oxford Street.").wait_for()
    assert choice(page, "Size", "M").is_checked()
    assert page.locator("#collect-at-store").inner_text().startswith("In stock at London Oxford Street")
    page.get_by_label("Quantity").fill("2")
    screens.take(page, "product page with my store")
    page.get_by_role("button", name="Add to basket").click()
    page.wait_for_url(at("/cart/"))
    assert "Added 2 × Organic Tee (M / Navy) to your basket." in page.inner_text("main")
    assert page.locator("#subtotal").inner_text() == "£40.00"
    screens.take(page, "basket")

    page.get_by_role("link", name="Check out").click()
    page.wait_for_url(at("/checkout/"))
    assert page.get_by_role("radio", name="Collect from a store (free)").is_checked()
    assert page.get_by_label("Store to collect from").input_value() == store.code
    page.get_by_label("Email for the confirmation").fill("grace@example.com")
    fill_card(page, GOOD_CARD)
    screens.take(page, "checkout for pickup")
    page.get_by_role("button", name=re.compile("Place order")).click()
    page.wait_for_url(re.compile(r"/orders/R\w+/\?key="))
    order = Order.objects.get()
    assert page.title().startswith(f"Order {order.number} · Placed")
    assert page.locator("#order-status").inner_text() == "Placed"
    assert (order.fulfilment, order.pickup_store, order.total_amount, order.payment.status) == (
        "pickup", store, 40, "authorised")
    order_link = page.url
    screens.take(page, "order placed")

    counter = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    counter.set_default_timeout(15_000)
    desk = counter.new_page()
    desk.goto("/admin/")
    desk.get_by_label("Username").fill(staff.username)
    desk.get_by_label("Password").fill(password)
    desk.get_by_role("button", name="Log in").click()
    desk.wait_for_url(at("/admin/store/"))  # store staff land on their store's home
    screens.take(desk, "store home")
    desk.get_by_role("row", name=re.compile(order.number)).get_by_role(
        "button", name="Picked: mark ready for pickup").click()
    desk.get_by_text(f"{order.number}: ready for pickup with code").wait_for()
    screens.take(desk, "marked ready from the store home")
    code = Fulfillment.objects.get(order=order).pickup_code

    page.goto(order_link)
    assert page.locator("#order-status").inner_text() == "Ready to collect"
    assert page.locator("#pickup-code").inner_text() == code
    assert page.get_by_role("img", name=f"QR code for pickup code {code}").evaluate("img => img.naturalWidth") > 0
    screens.take(page, "ready with pickup code and QR")

    desk.goto("/scan/")
    desk.get_by_label(re.compile("Scan the QR code")).fill(code.lower())
    desk.get_by_role("button", name="Find the order").click()
    assert "2" in desk.get_by_role("row", name=re.compile("Organic Tee")).inner_text()
    screens.take(desk, "scan station found the order")
    desk.get_by_role("button", name=f"Hand over order {order.number}").click()
    desk.get_by_text(f"Order {order.number} handed over. Thank you!").wait_for()
    screens.take(desk, "handed over")

    page.reload()
    assert page.locator("#order-status").inner_text() == "Collected"
    assert page.title().startswith(f"Order {order.number} · Collected")
    screens.take(page, "shopper sees collected")
    order.refresh_from_db()
    assert (order.status, order.payment.status) == ("fulfilled", "captured")
    shopper.close()
    counter.close()
