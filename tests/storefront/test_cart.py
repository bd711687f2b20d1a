"""The basket page: changing and removing lines, refusals shown on the line with nothing changed, and
the reminder email's link that opens the very same cart."""
import pytest

from catalog.models import Channel
from customers import services as customer_services
from customers.models import Cart
from customers.selectors import cart_resume_link

from .helpers import error_next_to, page

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(browser, goods):
    browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 2})
    return Cart.objects.get().lines.get()


def test_a_quantity_beyond_the_stock_is_refused_on_its_line_and_the_line_keeps_its_quantity(browser, filled):
    response = browser.post("/cart/", {"line": filled.pk, "action": "update", "quantity": 9})
    assert response.status_code == 400
    assert error_next_to(response, f"qty-{filled.pk}") == "Only 5 × TEE-NAVY-M available for delivery."
    filled.refresh_from_db()
    assert filled.quantity == 2


def test_a_quantity_that_is_not_a_number_is_refused_on_its_line(browser, filled):
    response = browser.post("/cart/", {"line": filled.pk, "action": "update", "quantity": "lots"})
    assert response.status_code == 400
    assert error_next_to(response, f"qty-{filled.pk}") == "Choose a whole number from 1 to 99."
    filled.refresh_from_db()
    assert filled.quantity == 2


def test_changing_and_removing_lines(browser, filled):
    browser.post("/cart/", {"line": filled.pk, "action": "update", "quantity": 3})
    assert "£60.00" in page(browser.get("/cart/"))
    browser.post("/cart/", {"line": filled.pk, "action": "remove"})
    assert "Your basket is empty." in page(browser.get("/cart/"))


def test_someone_elses_line_cannot_be_changed_from_this_browser(browser, filled, goods):
    stranger = browser.__class__()
    response = stranger.post("/cart/", {"line": filled.pk, "action": "remove"}, follow=True)
    assert "That item is no longer in your basket." in page(response)
    assert Cart.objects.get().lines.count() == 1


def test_the_reminder_link_opens_the_guest_cart_in_a_new_browser(browser, filled):
    link = cart_resume_link(filled.cart)
    elsewhere = browser.__class__()
    response = elsewhere.get(link.removeprefix("http://127.0.0.1:8000").split("?")[0],
                             {"resume": link.split("resume=")[1]})
    assert response.status_code == 200 and "Organic Tee (M / Navy)" in page(response)
    assert "Organic Tee (M / Navy)" in page(elsewhere.get("/cart/")), "the browser now keeps that cart"


def test_a_customers_reminder_link_asks_a_stranger_to_sign_in(browser, goods, shopper):
    web = Channel.objects.get(code=Channel.WEB)
    cart = customer_services.cart_open_for_customer(customer=shopper, channel=web)
    customer_services.cart_add_line(cart=cart, variant=goods[0], quantity=1, channel=web)
    response = browser.get("/cart/", {"resume": cart_resume_link(cart).split("resume=")[1]})
    assert "Sign in to check out" in page(response)


def test_a_broken_or_used_reminder_link_says_the_basket_is_gone(browser, goods):
    response = browser.get("/cart/", {"resume": "not-a-signed-value"})
    assert response.status_code == 404
    assert "This basket has already been checked out or is no longer available." in page(response)


def test_the_basket_shows_the_vat_inside_its_subtotal(browser, filled):
    shown = page(browser.get("/cart/"))

    # 2 × Organic Tee at 20.00, UK standard rate: 40.00 × 20/120
    assert 'id="subtotal">£40.00<' in shown and 'id="vat">£6.67<' in shown
