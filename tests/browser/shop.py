"""Shared steps for the storefront's browser journeys: a store staff login, and what a shopper does on the
product, basket and checkout pages (the shop itself is tests.factories.stock_the_shop)."""
import re
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model

from backoffice.roles import STORE_STAFF, role_assign

GOOD_CARD = "4242 4242 4242 4242"
# The local Stripe double declines charges on 4000 0000 0000 0341 ("attaches, but charges fail");
# it accepts 4000 0000 0000 0002, which real Stripe declines (see the report on issue #8).
DECLINED_CARD = "4000 0000 0000 0341"


def at(path: str):
    """For wait_for_url: the page at exactly `path`. A glob like "**/scan/**" also matches the sign-in page
    that names it in ?next=, so a wait would pass before the browser left the page it is meant to leave."""
    return lambda url: urlsplit(url).path == path


def store_staff(*, store, username="counter", password="counter-pass-1"):
    """A login in the Store staff role at the store: moves its fulfilments on in the admin, uses the scan station."""
    user = get_user_model().objects.create_user(username, password=password)
    return role_assign(user=user, role=STORE_STAFF, stores=[store]), password


def choice(page, option: str, value: str):
    """The picker's radio button for one value of an option ("Size", "M")."""
    return page.get_by_role("group", name=re.compile(f"^{option}")).get_by_role("radio", name=value, exact=True)


def add_to_basket(page, screens, *, product: str, size: str, quantity: int = 1):
    page.get_by_role("link", name="Shop", exact=True).click()
    page.get_by_role("link", name=product).first.click()
    choice(page, "Size", size).check()  # the picker shows that size's price and stock without a reload
    page.get_by_label("Quantity").fill(str(quantity))
    screens.take(page, f"product page {product} {size}")
    page.get_by_role("button", name="Add to basket").click()
    page.wait_for_url(at("/cart/"))


def fill_card(page, number: str):
    """Type the card into Stripe.js's card Element: offline that is the local double's emulation, whose
    fields are plain inputs in #card named by their placeholders (Stripe's own puts them in its frame)."""
    card = page.locator("#card")
    for field, value in (("number", number.replace(" ", "")), ("exp_month", "12"), ("exp_year", "34"),
                         ("cvc", "123")):
        card.locator(f"input[placeholder={field}]").fill(value)
