"""Browsing without a browser: search and filters, the product page's stock near you, the store finder,
and adding to the basket refused next to the field with nothing changed."""
import re

import pytest

from customers.models import Cart, CartLine
from tests.factories import ProductFactory

from .helpers import error_next_to, page, title

pytestmark = pytest.mark.django_db


def test_the_home_page_is_the_shop_with_a_meaningful_title(browser, goods):
    response = browser.get("/")
    assert response.status_code == 200
    assert title(response) == "Clothing and homeware, online and in store · Hearth & Thread"
    assert "Organic Tee" in page(response) and "Harbour Hoodie" in page(response)


def test_search_finds_by_name_brand_or_sku_and_filters_narrow_it(browser, goods):
    assert "Harbour Hoodie" not in page(browser.get("/shop/", {"q": "organic"}))
    assert "Organic Tee" in page(browser.get("/shop/", {"q": "organic"}))
    assert "Harbour Hoodie" in page(browser.get("/shop/", {"q": "HOOD-GREY"}))
    by_brand = page(browser.get("/shop/", {"brand": "fjordline"}))
    assert "Harbour Hoodie" in by_brand and "Organic Tee" not in by_brand
    nothing = browser.get("/shop/", {"q": "chandelier"})
    assert "Nothing matches that." in page(nothing) and title(nothing) == "Search: chandelier · Hearth & Thread"


def test_the_brand_filter_offers_the_brands_one_can_buy(browser, goods):
    ProductFactory(name="Unpriced Lamp", brand="Lumen")  # nothing of it is sold: its brand would find nothing

    html = page(browser.get("/shop/"))

    brands = html.split('<select id="brand" name="brand">')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)"', brands) == ["", "Fjordline", "Northwind"]


def test_the_product_page_shows_each_size_with_the_price_and_the_stores_near_a_postcode(browser, goods, store):
    response = browser.get("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "near": "W1C 1DA"})
    html = page(response)
    assert title(response) == "Organic Tee (Navy, M) · Hearth & Thread"
    assert re.findall(r'name="size" id="[^"]+" value="(\w+)"', html) == ["M", "L"]
    assert '<p class="price" id="price" data-price>£20.00</p>' in html
    assert "Nearest to W1C (London)" in html
    assert "London Oxford Street" in html and "Only 5 left" in html


def test_a_postcode_or_town_with_none_of_our_stores_still_finds_the_nearest(browser, goods, store, other_store):
    """Neither store is in Leeds (LS) or York: the area's town places the shopper, and Manchester is nearer."""
    for typed, said in (("LS1 4AP", "LS postcode area (Leeds)"), ("ls6", "LS postcode area (Leeds)"), ("York", "York")):
        html = page(browser.get("/stores/", {"near": typed}))
        assert f"Stores nearest to {said}" in html, typed
        assert html.index("Manchester Arndale") < html.index("London Oxford Street"), typed
    html = page(browser.get("/stores/", {"near": "BN1 1AA"}))  # Brighton: London is nearer
    assert html.index("London Oxford Street") < html.index("Manchester Arndale")


def test_a_place_we_cannot_find_is_said_next_to_the_postcode_field(browser, goods):
    response = browser.get("/shop/organic-tee/", {"near": "Atlantis"})
    assert error_next_to(response, "id_near") == (
        "We could not find 'Atlantis'. Try a postcode like M4 3AQ or a town like Leeds.")


def test_the_store_finder_lists_the_nearest_store_first(browser, goods, store, other_store):
    html = page(browser.get("/stores/", {"near": "Manchester"}))
    assert html.index("Manchester Arndale") < html.index("London Oxford Street")
    html = page(browser.get("/stores/", {"lat": "51.51", "lng": "-0.14"}))
    assert html.index("London Oxford Street") < html.index("Manchester Arndale")


def test_choosing_a_store_shows_its_stock_on_the_product_page(browser, goods, store):
    browser.post("/stores/choose/", {"store": store.code})
    html = page(browser.get("/shop/organic-tee/"))
    assert "Your store: <strong>London Oxford Street</strong>" in html
    assert "In stock</span> at London Oxford Street — collect" in html


def test_adding_more_than_can_be_supplied_says_so_next_to_the_quantity_and_adds_nothing(browser, goods):
    response = browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 6})
    assert response.status_code == 400
    assert error_next_to(response, "id_quantity") == "Only 5 × TEE-NAVY-M available for delivery."
    assert not CartLine.objects.exists()


@pytest.mark.parametrize("quantity, message", [
    ("0", "Choose a whole number from 1 to 99."), ("two", "Choose a whole number from 1 to 99."),
    ("", "Say how many you want."),
])
def test_a_quantity_that_is_not_a_sensible_number_is_refused_next_to_the_field(browser, goods, quantity, message):
    response = browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": quantity})
    assert response.status_code == 400 and error_next_to(response, "id_quantity") == message
    assert not Cart.objects.exists()


def test_a_variant_of_another_product_cannot_be_added_from_this_page(browser, goods):
    response = browser.post("/shop/organic-tee/", {"sku": "HOOD-GREY-L", "quantity": 1})
    assert response.status_code == 400
    assert error_next_to(response, "sku") == "That size and colour is not sold online; choose another."
    assert not CartLine.objects.exists()


def test_adding_to_the_basket_puts_it_in_the_same_cart_the_api_shows(browser, goods):
    response = browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 2})
    assert response.status_code == 302 and response["Location"] == "/cart/"
    assert "Added 2 × Organic Tee (M / Navy) to your basket." in page(browser.get("/cart/"))
    api = browser.get("/api/v1/cart/").json()
    assert [(line["sku"], line["quantity"]) for line in api["lines"]] == [("TEE-NAVY-M", 2)]
