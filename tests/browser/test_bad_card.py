"""A declined card in a real browser: the checkout says so next to the card field, nothing is ordered
and no stock is held; the shopper pays with another card and the order goes through."""
import re

from inventory.models import StockLevel
from orders.models import Order
from tests.factories import stock_the_shop

from .shop import DECLINED_CARD, GOOD_CARD, add_to_basket, fill_card


def test_a_declined_card_is_refused_next_to_the_card_field_and_another_card_works(browser_page, screens, store):
    tee, _, _ = stock_the_shop(store=store)
    page = browser_page
    page.goto("/shop/")
    add_to_basket(page, screens, product="Organic Tee", size="M")
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Store to collect from").select_option(store.code)
    page.get_by_label("Email for the confirmation").fill("ada@example.com")
    fill_card(page, DECLINED_CARD)
    page.get_by_role("button", name=re.compile("Place order")).click()

    card_error = page.locator("#card-error")
    card_error.wait_for()
    assert "declined" in card_error.inner_text().lower()
    assert page.locator("#card").get_attribute("aria-invalid") == "true"
    assert page.title().startswith("Checkout")
    screens.take(page, "card declined")
    assert not Order.objects.exists()
    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.reserved, level.committed) == (0, 0)

    fill_card(page, GOOD_CARD)
    page.get_by_role("button", name=re.compile("Place order")).click()
    page.wait_for_url(re.compile(r"/orders/R\w+/\?key="))
    assert page.locator("#order-status").inner_text() == "Placed"
    screens.take(page, "paid with another card")
    assert Order.objects.get().payment.status == "authorised"


def test_card_details_stripe_refuses_are_said_by_the_card_and_never_reach_the_shop(browser_page, screens, store):
    stock_the_shop(store=store)
    page = browser_page
    page.goto("/shop/")
    add_to_basket(page, screens, product="Organic Tee", size="M")
    page.get_by_role("link", name="Check out").click()
    page.get_by_label("Email for the confirmation").fill("ada@example.com")
    page.get_by_label("Store to collect from").select_option(store.code)
    sent_to_shop = []
    page.on("request", lambda request: sent_to_shop.append(request.post_data or "")
            if request.method == "POST" and "/checkout/" in request.url else None)
    page.locator("#card input[placeholder=number]").fill("4242")
    page.get_by_role("button", name=re.compile("Place order")).click()

    card_error = page.locator("#card-error")
    card_error.wait_for()
    assert card_error.inner_text().startswith("Your card was not accepted")
    screens.take(page, "card number too short")
    assert page.url.endswith("/checkout/") and not Order.objects.exists()
    assert sent_to_shop == []  # Stripe said no before anything was sent to the shop
