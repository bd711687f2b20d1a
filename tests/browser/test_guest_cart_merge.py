"""A guest fills a basket, then signs in: the basket joins the account's basket (the same one the app
shows), with quantities added and capped by what the store can supply."""
from catalog.models import Channel
from customers import services as customer_services
from customers.models import Cart
from tests.factories import stock_the_shop

from .shop import add_to_basket

PASSWORD = "correct-horse-battery-9"


def test_a_guest_basket_joins_the_account_basket_at_sign_in(browser_page, screens, store):
    tee, _, hoodie = stock_the_shop(store=store)
    web = Channel.objects.get(code=Channel.WEB)
    ada = customer_services.customer_register(email="ada@example.com", password=PASSWORD, channel=web,
                                              first_name="Ada")
    on_her_phone = customer_services.cart_open_for_customer(customer=ada, channel=Channel.objects.get(code="mobile"))
    customer_services.cart_add_line(cart=on_her_phone, variant=hoodie, quantity=1, channel=web)

    page = browser_page
    page.goto("/shop/")
    add_to_basket(page, screens, product="Organic Tee", size="M", quantity=2)
    add_to_basket(page, screens, product="Harbour Hoodie", size="L", quantity=1)
    assert "3" in page.get_by_role("link", name="Basket").inner_text()
    screens.take(page, "guest basket")

    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill("ADA@example.com")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("#id_password-error").inner_text() == "That email and password do not match an account."
    screens.take(page, "wrong password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("You are signed in.").wait_for()
    assert "TEE-NAVY-M: added 2 from the cart you filled before signing in." in page.inner_text("main")
    screens.take(page, "signed in with merge notes")

    page.get_by_role("link", name="Basket").click()
    rows = {sku: page.get_by_role("row", name=sku) for sku in ("TEE-NAVY-M", "HOOD-GREY-L")}
    assert rows["TEE-NAVY-M"].get_by_label("Quantity of Organic Tee (M / Navy)").input_value() == "2"
    assert rows["HOOD-GREY-L"].get_by_label("Quantity of Harbour Hoodie (L / Grey)").input_value() == "2"
    screens.take(page, "one basket")
    cart = Cart.objects.get(customer=ada, status=Cart.Status.OPEN)
    assert sorted(cart.lines.values_list("variant__sku", "quantity")) == [("HOOD-GREY-L", 2), ("TEE-NAVY-M", 2)]
    assert Cart.objects.get(customer__isnull=True).status == Cart.Status.MERGED
