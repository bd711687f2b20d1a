"""A delivery checkout in a real browser: the shopper gives an address, picks a delivery option with its
price and arrival, sees the total with delivery and VAT, pays by card, the order is sent from a
location that can ship it, and the receipt breaks out the VAT per rate."""
import re
from decimal import Decimal

from orders.models import Order
from tests.factories import stock_the_shop

from .shop import GOOD_CARD, add_to_basket, fill_card


def test_a_shopper_has_an_order_delivered_and_pays_for_express(browser_page, screens, store, warehouse):
    stock_the_shop(store=store, warehouse=warehouse)
    page = browser_page
    page.goto("/shop/")
    add_to_basket(page, screens, product="Harbour Hoodie", size="L")
    page.get_by_role("link", name="Check out").click()

    page.get_by_role("radio", name="Deliver to an address").check()
    assert not page.get_by_label("Store to collect from").is_visible()
    page.get_by_role("button", name="Show delivery options and total").click()
    assert page.locator("#id_line1-error").inner_text() == "Enter the first line of the address."
    screens.take(page, "address missing")

    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Address line 1").fill("1 Deansgate")
    page.get_by_label("Town or city").fill("Manchester")
    page.get_by_label("Postcode", exact=True).fill("m3 1az")
    page.get_by_role("button", name="Show delivery options and total").click()
    standard = page.get_by_role("radio", name=re.compile("Standard delivery"))
    express = page.get_by_role("radio", name=re.compile("Express delivery"))
    assert standard.is_checked() and "£3.95" in standard.locator("..").inner_text()
    assert "£7.95" in express.locator("..").inner_text()
    assert page.locator("#order-total").inner_text() == "£48.95"
    screens.take(page, "delivery options")

    express.check()
    page.get_by_role("button", name="Show delivery options and total").click()
    assert page.locator("#order-total").inner_text() == "£52.95"
    page.get_by_label("Email for the confirmation").fill("grace@example.com")
    assert page.get_by_role("radio", name="Pay when you collect").is_disabled()
    fill_card(page, GOOD_CARD)
    screens.take(page, "delivery checkout")
    page.get_by_role("button", name=re.compile("Place order")).click()
    page.wait_for_url(re.compile(r"/orders/R\w+/\?key="))
    assert page.locator("#order-status").inner_text() == "Placed"
    assert "Delivering to Grace Hopper, 1 Deansgate, Manchester M3 1AZ" in page.inner_text("main")
    screens.take(page, "delivery order placed")

    page.get_by_role("link", name="Receipt with the VAT breakdown").click()
    assert page.title().startswith("Receipt R")
    # 45.00 hoodie + 7.95 express, all at 20%: VAT 7.50 + 1.33
    assert page.locator("#vat-summary tbody").inner_text().split() == ["20%", "£44.12", "£8.83", "£52.95"]
    screens.take(page, "receipt")

    order = Order.objects.get()
    assert (order.fulfilment, order.delivery_method.code, order.delivery_amount, order.total_amount) == (
        "delivery", "express", Decimal("7.95"), Decimal("52.95"))
    assert order.payment.authorised_amount == Decimal("52.95")
    assert {line.location for line in order.lines.all()} <= {store, warehouse}
