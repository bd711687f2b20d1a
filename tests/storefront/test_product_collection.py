"""The product page says where and from when the shopper can collect: "In stock at <store> — collect today",
"Collect from <store> from Wednesday 2 December" when it must be sent there, or "Not available to collect";
the stores near them say the same with the distance; the store finder shows each store's opening hours."""
import re
from datetime import datetime
from html import unescape

import pytest
from django.utils import timezone

from inventory import services as stock

from .helpers import page

pytestmark = pytest.mark.django_db

MONDAY_MORNING = timezone.make_aware(datetime(2026, 11, 30, 10, 0))  # Monday 30 November 2026, 10:00 in London


def words(html: str) -> str:
    """The page's text as a shopper reads it: tags gone, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def said_about(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</p>', html, re.S)
    assert match, f"no #{element_id} on the page"
    return " ".join(unescape(re.sub(r"<[^>]+>", "", match.group(1))).split())


@pytest.fixture
def monday(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: MONDAY_MORNING)


@pytest.fixture
def shop(goods, store, warehouse):
    """The small shop; the warehouse has 10 of the tee in L (none in the stores), sent out in a working day.
    The stores ship no orders themselves."""
    for place in (store, *type(store).objects.filter(code="MAN-ARN")):
        place.ships_orders = False
        place.save()
    warehouse.transfer_lead_days = 1
    warehouse.save()
    tee_m, tee_l, hoodie = goods
    stock.stock_receive(location=warehouse, variant=tee_l, quantity=10)
    return goods


def product_page(browser, store_code: str, sku: str, **params) -> str:
    browser.post("/stores/choose/", {"store": store_code})
    response = browser.get("/shop/organic-tee/", {"sku": sku, **params})
    assert response.status_code == 200
    return page(response)


def test_in_stock_at_the_chosen_store_says_collect_today(browser, monday, shop, store):
    html = product_page(browser, "LDN-OXF", "TEE-NAVY-M")

    assert said_about(html, "collect-at-store") == "In stock at London Oxford Street — collect today"


def test_in_stock_late_in_the_day_says_collect_from_tomorrow(browser, monkeypatch, shop, store):
    monkeypatch.setattr(timezone, "now", lambda: MONDAY_MORNING.replace(hour=22, minute=30))
    html = product_page(browser, "LDN-OXF", "TEE-NAVY-M")

    assert said_about(html, "collect-at-store") == "In stock at London Oxford Street — collect from tomorrow"


def test_sent_from_the_warehouse_says_the_day_it_can_be_collected(browser, monday, shop, other_store):
    # Sent on Tuesday, a day on the road from Daventry, in Manchester on Wednesday.
    html = product_page(browser, "MAN-ARN", "TEE-NAVY-L")

    assert said_about(html, "collect-at-store") == "Collect from Manchester Arndale from Wednesday 2 December"
    assert said_about(html, "stock") == "In stock"  # the warehouse's 10, for delivery


def test_nowhere_has_it_says_not_available_to_collect(browser, monday, goods, store, other_store):
    html = product_page(browser, "MAN-ARN", "TEE-NAVY-L")

    assert said_about(html, "collect-at-store") == "Not available to collect"


def test_the_stores_near_the_shopper_say_when_each_can_hand_it_over_with_the_distance(
        browser, monday, shop, store, other_store):
    near_manchester = words(page(browser.get("/shop/organic-tee/", {"sku": "TEE-NAVY-L", "near": "M4 3AQ"})))
    in_stock_near_london = words(page(browser.get("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "near": "W1C 1DA"})))

    assert re.search(r"Manchester Arndale 0 miles Can be sent here: collect from Wednesday 2 December "
                     r".*London Oxford Street \d+(\.\d)? miles Can be sent here: collect from Wednesday 2 December",
                     near_manchester)
    assert "London Oxford Street 0 miles Only 5 left — collect today" in in_stock_near_london


def test_the_store_finder_shows_each_stores_opening_hours(browser, monday, goods, store, other_store):
    store.opening_hours = {"mon": "09:00-20:00", "tue": "09:00-20:00", "wed": "09:00-20:00", "thu": "09:00-21:00",
                           "fri": "09:00-20:00", "sat": "10:00-19:00", "sun": "closed"}
    store.save()

    html = page(browser.get("/stores/"))
    london = words(html[html.index("London Oxford Street"):html.index("Manchester Arndale")])

    assert ("Opening hours Monday (today) 09:00–20:00 Tuesday 09:00–20:00 Wednesday 09:00–20:00 "
            "Thursday 09:00–21:00 Friday 09:00–20:00 Saturday 10:00–19:00 Sunday Closed") in london
