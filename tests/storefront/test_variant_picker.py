"""The product page's picker without JavaScript: one choice per option (colour, then size in natural order),
each value saying when it cannot be had with the other choices, "Show this choice" naming the variant and its
price, stock in words instead of counts, and "Add to basket" adding the variant the choices name."""
import re
from html import unescape

import pytest

from customers.models import CartLine

from .helpers import error_next_to, page, title
from .picker_goods import stock_the_picker_shop

pytestmark = pytest.mark.django_db

CHOICE = re.compile(r'<label class="picker-value([^"]*)"[^>]*>\s*<input type="radio" name="([^"]+)" id="[^"]+" '
                    r'value="([^"]*)"( checked)?.*?data-note>(.*?)</span>', re.S)


@pytest.fixture
def goods(warehouse):
    return stock_the_picker_shop(warehouse=warehouse)


def choices(html: str, option: str) -> list[tuple[str, bool, str]]:
    """(value, chosen, what it says) of each value of one option, in the page's order."""
    return [(unescape(value), bool(checked), unescape(note)) for _, name, value, checked, note in CHOICE.findall(html)
            if name == option]


def words(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def said(html: str, element_id: str) -> str:
    match = re.search(rf'<p [^>]*id="{element_id}"[^>]*>(.*?)</p>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return words(match.group(1))


def sku_to_add(html: str) -> str:
    return re.search(r'<input type="hidden" name="sku" value="([^"]*)" data-sku>', html).group(1)


def test_sizes_come_in_natural_order_and_colours_as_the_product_lists_them(browser, goods):
    jumper = page(browser.get("/shop/fisherman-jumper/"))
    trousers = page(browser.get("/shop/wide-leg-trousers/"))

    assert [value for value, _, _ in choices(jumper, "size")] == ["XS", "S", "M", "L", "XL", "XXL"]
    assert [value for value, _, _ in choices(jumper, "colour")] == ["Burgundy", "Navy"]
    assert jumper.index("<legend>Colour") < jumper.index("<legend>Size")
    assert [value for value, _, _ in choices(trousers, "size")] == ["8", "10", "12", "14", "16"]


def test_sizes_a_colour_is_not_made_in_or_has_none_of_are_marked_not_hidden(browser, goods):
    html = page(browser.get("/shop/fisherman-jumper/", {"colour": "Navy", "size": "S"}))

    assert choices(html, "size") == [
        ("XS", False, "Not made in this colour"), ("S", True, ""), ("M", False, ""), ("L", False, ""),
        ("XL", False, "Out of stock"), ("XXL", False, "Not made in this colour")]
    assert choices(html, "colour") == [("Burgundy", False, ""), ("Navy", True, "")]
    assert choices(page(browser.get("/shop/fisherman-jumper/", {"colour": "Burgundy", "size": "XXL"})), "colour") == [
        ("Burgundy", True, ""), ("Navy", False, "Not made in this size")]


def test_show_this_choice_without_javascript_names_the_variant_and_its_price(browser, goods):
    """The basket form sent by GET, as a browser without JavaScript sends it: the old SKU, the token and the
    new choice. The page comes back at a plain address of the choice, showing that variant."""
    sent = browser.get("/shop/fisherman-jumper/", {"csrfmiddlewaretoken": "x", "colour": "Navy", "size": "M",
                                                   "sku": "FJ-BUR-L", "quantity": "2"})
    assert sent.status_code == 302 and sent["Location"] == "/shop/fisherman-jumper/?colour=Navy&size=M&quantity=2"

    response = browser.get(sent["Location"])
    html = page(response)
    assert title(response) == "Fisherman Jumper (Navy, M) · Hearth & Thread"
    assert said(html, "price") == "£54.99" and sku_to_add(html) == "FJ-NAV-M"
    assert ("Navy", True, "") in choices(html, "colour") and ("M", True, "") in choices(html, "size")
    assert 'name="quantity" min="1" max="99" inputmode="numeric"\n             value="2"' in html
    assert said(page(browser.get("/shop/fisherman-jumper/", {"colour": "Burgundy", "size": "M"})), "price") == "£49.00"


def test_a_link_naming_the_sku_still_chooses_that_variant(browser, goods):
    html = page(browser.get("/shop/fisherman-jumper/", {"sku": "FJ-NAV-L"}))

    assert ("Navy", True, "") in choices(html, "colour") and ("L", True, "") in choices(html, "size")
    assert sku_to_add(html) == "FJ-NAV-L"


@pytest.mark.parametrize("size, said_about_stock", [
    ("S", "In stock"),  # 20 for delivery
    ("M", "Only 3 left"),
    ("L", "Out of stock online — in stock at 4 stores"),
    ("XL", "Out of stock"),
])
def test_stock_is_said_in_words_not_counts(browser, goods, size, said_about_stock):
    html = page(browser.get("/shop/fisherman-jumper/", {"colour": "Navy", "size": size, "near": "Leeds"}))

    assert said(html, "stock") == said_about_stock
    assert not re.search(r"\b\d+ (in stock|for delivery|available|at )", words(html))


def test_the_stores_near_you_say_in_stock_in_words(browser, goods):
    html = words(page(browser.get("/shop/fisherman-jumper/", {"colour": "Navy", "size": "L", "near": "Leeds"})))

    assert re.search(r"Leeds Briggate \d+(\.\d)? miles Only 1 left — collect today|Leeds Briggate \d+(\.\d)? miles "
                     r"Only 1 left — collect from", html), html


def test_a_combination_not_made_is_said_next_to_the_choice_with_nothing_to_add(browser, goods):
    response = browser.get("/shop/fisherman-jumper/", {"colour": "Navy", "size": "XXL"})
    html = page(response)

    assert error_next_to(response, "sku") == "That colour is not made in that size. Choose another colour or size."
    assert ("Navy", True, "Not made in this size") in choices(html, "colour")
    assert ("XXL", True, "Not made in this colour") in choices(html, "size")
    assert sku_to_add(html) == "" and said(html, "price") == ""


def test_add_to_basket_adds_the_variant_the_choices_name(browser, goods):
    """Without JavaScript the hidden SKU is the page's last choice; the radios are what the shopper sees."""
    response = browser.post("/shop/fisherman-jumper/", {"colour": "Navy", "size": "M", "sku": "FJ-BUR-L",
                                                        "quantity": "2"})

    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert [(line.variant.sku, line.quantity) for line in CartLine.objects.all()] == [("FJ-NAV-M", 2)]
    assert "Added 2 × Fisherman Jumper" in page(browser.get("/cart/"))


def test_adding_a_combination_not_made_is_refused_next_to_the_choice(browser, goods):
    response = browser.post("/shop/fisherman-jumper/", {"colour": "Navy", "size": "XXL", "sku": "FJ-NAV-M",
                                                        "quantity": "1"})

    assert response.status_code == 400
    assert error_next_to(response, "sku") == "That colour is not made in that size. Choose another colour or size."
    assert not CartLine.objects.exists()


def test_adding_more_than_is_left_is_refused_next_to_the_quantity_keeping_the_choice(browser, goods):
    response = browser.post("/shop/fisherman-jumper/", {"colour": "Navy", "size": "M", "quantity": "4"})
    html = page(response)

    assert response.status_code == 400
    assert error_next_to(response, "id_quantity") == "Only 3 × FJ-NAV-M available for delivery."
    assert ("M", True, "") in choices(html, "size") and said(html, "stock") == "Only 3 left"
    assert not CartLine.objects.exists()
