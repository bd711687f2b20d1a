"""Sorting the catalogue in a real browser: choosing an order in "Sort by" shows the products in that order at once
(the select submits itself), keeping the search; the page fits a phone."""
from tests.factories import stock_the_shop


def test_choosing_an_order_reorders_the_results_and_keeps_the_search(browser_page, screens, store):
    stock_the_shop(store=store)  # Organic Tee 20.00, Harbour Hoodie 45.00
    page = browser_page

    page.goto("/shop/")
    page.get_by_label("Sort by").select_option("price_desc")
    page.wait_for_url("**sort=price_desc**")
    assert page.locator(".tile .name").all_inner_texts() == ["Harbour Hoodie", "Organic Tee"]
    screens.take(page, "by price high to low")

    page.get_by_label("Search", exact=True).fill("tee")
    page.get_by_role("button", name="Show products").click()
    page.wait_for_url("**q=tee**")
    assert "sort=price_desc" in page.url
    page.get_by_label("Sort by").select_option("name")
    page.wait_for_url("**sort=name**")
    assert "q=tee" in page.url
    assert page.get_by_role("link", name="Organic Tee").is_visible()

    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screens.take(page, "sorted search on a phone")
