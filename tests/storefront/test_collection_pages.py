"""Collecting from a store on the shop's pages. At checkout the store list says, for the whole basket, when each
store can have it (today from its own shelves; from a later day when another location sends it; not at all), the
chosen store offers its collection times, and a booked time and a collector are kept on the order; a full time is
refused next to its field and places nothing. The order page says when to collect and what is still on its way,
takes "I'm here" once (or says why not yet) and names who collects."""
import re
from datetime import date
from html import unescape

import pytest
from django.test import Client

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, FulfillmentEvent
from inventory.hours import collect_from
from inventory.models import WEEKDAYS, CollectionWindow
from orders.models import Order

from .helpers import error_next_to, idempotency_key, page

pytestmark = pytest.mark.django_db


def said(day: date) -> str:
    """A date as the pages say it: Wednesday 2 December."""
    return f"{day:%A} {day.day} {day:%B}"


def text(response) -> str:
    return unescape(page(response))


def store_option(response, store) -> str:
    """The store list's entry for the store, as the shopper reads it, and whether it can be chosen."""
    match = re.search(rf'<option value="{store.code}"([^>]*)>(.*?)</option>', page(response), re.S)
    assert match is not None, f"{store.name} is not in the store list"
    return unescape(match.group(2)) + (" [cannot be chosen]" if "disabled" in match.group(1) else "")


def windows_offered(response) -> dict[str, str]:
    """{value: label} of the collection times the page offers, "Any time in opening hours" as ""."""
    found = re.findall(r'<label class="choice" for="window-[^"]+"><input type="radio" name="collect_window" '
                       r'id="window-[^"]+" value="([^"]*)"[^>]*> <span>(.*?)</span></label>', page(response), re.S)
    return {value: re.sub(r"<[^>]+>", "", unescape(label)) for value, label in found}


@pytest.fixture
def basket(browser, goods):
    """Two tees in the basket (the London store holds 5, Manchester none); the checkout's form key."""
    browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 2})
    return idempotency_key(browser.get("/checkout/"))


@pytest.fixture
def windows(store):
    """The London store hands over collection orders 10:00–12:00 and 19:00–21:00 every day, one order each."""
    return [CollectionWindow.objects.create(location=store, weekday=day, starts=starts, ends=ends, capacity=1)
            for day in WEEKDAYS for starts, ends in (("10:00", "12:00"), ("19:00", "21:00"))]


def pickup(place, key, **changes):
    return {"fulfilment": "pickup", "store": place.code, "email": "grace@example.com",
            "payment_method": "pay_at_pickup", "idempotency_key": key, **changes}


def place(client, store, **changes) -> str:
    key = idempotency_key(client.get("/checkout/"))
    placed = client.post("/checkout/", pickup(store, key, **changes))
    assert placed.status_code == 302, text(placed)
    return placed["Location"]


def test_the_store_list_says_in_stock_where_the_store_holds_it_and_from_when_another_can_have_it_sent(
        browser, basket, store, other_store):
    shown = browser.get("/checkout/")

    assert "In stock — collect" in store_option(shown, store)
    sent_from_london = collect_from(store=other_store, sources=[store])
    assert store_option(shown, other_store) == f"Manchester Arndale — London · Collect from {said(sent_from_london)}"


def test_a_store_nothing_can_reach_says_so_and_cannot_be_chosen(browser, basket, store, other_store):
    store.ships_orders = False  # London keeps its tees for its own counter: nobody can send Manchester any
    store.save(update_fields=["ships_orders"])

    shown = browser.get("/checkout/")

    assert store_option(shown, other_store) == "Manchester Arndale — London · Not available here [cannot be chosen]"
    assert store_option(shown, store).startswith("London Oxford Street — London · In stock — collect")
    forced = browser.post("/checkout/", pickup(other_store, basket))  # a page from before London stopped sending
    assert forced.status_code == 409
    assert error_next_to(forced, "id_store").startswith("Not enough in stock at Manchester Arndale: Organic Tee")
    assert not Order.objects.exists()


def test_the_store_list_is_nearest_first_from_where_the_shopper_last_looked(browser, basket, store, other_store):
    browser.get("/stores/", {"near": "M4 3AQ"})

    shown = text(browser.get("/checkout/"))

    assert shown.index("Manchester Arndale — London · 0") < shown.index("London Oxford Street — London · 162")
    assert "Nearest first from M4 3AQ." in shown


def test_the_chosen_store_shows_its_hours_and_the_collection_time_booked_is_kept_on_the_order(
        browser, basket, store, windows):
    store.opening_hours = {day: "00:00-23:59" for day in WEEKDAYS}
    store.save(update_fields=["opening_hours"])
    shown = browser.post("/checkout/", pickup(store, basket, action="quote"))
    assert "<tr><td>Monday</td><td>00:00–23:59</td></tr>" in page(shown)
    offered = windows_offered(shown)
    assert offered[""] == "Any time in opening hours"
    value, label = next((v, label) for v, label in offered.items() if v)
    window, day = CollectionWindow.objects.get(pk=value.split(":")[0]), date.fromisoformat(value.split(":")[1])
    assert label == f"{day:%a} {day.day} {day:%b}, {window.starts:%H:%M}–{window.ends:%H:%M} (1 left)"

    placed = browser.post("/checkout/", pickup(store, basket, collect_window=value))

    assert placed.status_code == 302
    order = Order.objects.get()
    assert (order.collect_window, order.collect_on) == (window, day)
    assert (f"Your collection time: {said(day)}, {window.starts:%H:%M}–{window.ends:%H:%M}"
            in re.sub(r"</?strong>", "", text(browser.get(placed["Location"]))))


def test_a_full_collection_time_is_refused_next_to_it_and_places_no_order(browser, basket, store, windows):
    first = Client()
    first.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 1})
    value = next(v for v in windows_offered(first.post("/checkout/", pickup(
        store, idempotency_key(first.get("/checkout/")), action="quote"))) if v)
    place(first, store, collect_window=value)  # its one place is taken
    window, day = CollectionWindow.objects.get(pk=value.split(":")[0]), date.fromisoformat(value.split(":")[1])

    refused = browser.post("/checkout/", pickup(store, basket, collect_window=value))

    assert refused.status_code == 422
    assert error_next_to(refused, "id_collect_window") == (
        f"{window} on {day.day} {day:%B} has just been fully booked; choose another window.")
    assert Order.objects.count() == 1
    assert value not in windows_offered(refused)


def test_a_collection_time_of_another_store_is_refused_next_to_it(browser, basket, store, other_store, windows):
    elsewhere = CollectionWindow.objects.create(location=other_store, weekday="mon", starts="10:00", ends="12:00")

    refused = browser.post("/checkout/", pickup(store, basket, collect_window=f"{elsewhere.pk}:2030-01-07"))

    assert error_next_to(refused, "id_collect_window") == (
        "London Oxford Street has no such collection time; choose one of those listed for it.")
    assert not Order.objects.exists()


def test_someone_else_collecting_is_kept_and_shown_on_the_order_page_and_can_be_changed_back(
        browser, basket, store):
    link = place(browser, store, collector_name="  Grace   Hopper ")
    order = Order.objects.get()
    assert order.collector_name == "Grace Hopper"
    assert "<strong>Grace Hopper</strong> is collecting this order" in page(browser.get(link))

    changed = browser.post(link, {"action": "collector", "collector_name": ""}, follow=True)

    order.refresh_from_db()
    assert order.collector_name == ""
    assert "You are collecting this order yourself." in text(changed)


def test_a_ship_to_store_order_says_from_when_and_what_is_on_its_way(browser, basket, store, other_store):
    link = place(browser, other_store)

    shown = re.sub(r"</?strong>", "", text(browser.get(link)))

    ready = Order.objects.get().collect_from
    assert ready == collect_from(store=other_store, sources=[store])
    assert f"Ready to collect from {said(ready)}" in shown
    assert "Some items are on their way to the store from London Oxford Street." in shown


def test_im_here_tells_the_store_once_and_says_staff_are_coming(browser, basket, store):
    link = place(browser, store)
    pickup_ = Order.objects.get().fulfillments.get()
    fulfillment_services.fulfillment_start_picking(fulfillment=pickup_)
    fulfillment_services.fulfillment_mark_ready(fulfillment=pickup_)
    assert "I'm here</button>" in text(browser.get(link))

    here = browser.post(link, {"action": "here", "fulfillment": pickup_.pk, "bay": "3", "car": "blue Golf"},
                        follow=True)

    assert "We know you're here (bay 3, blue Golf): staff are bringing your order out." in text(here)
    assert "I'm here</button>" not in text(here)
    arrived = Fulfillment.objects.get(pk=pickup_.pk)
    again = browser.post(link, {"action": "here", "fulfillment": pickup_.pk, "bay": "9", "car": ""}, follow=True)
    assert "We know you're here (bay 3, blue Golf)" in text(again)
    pickup_.refresh_from_db()
    assert (pickup_.arrived_at, pickup_.arrival_bay) == (arrived.arrived_at, "3")
    assert FulfillmentEvent.objects.filter(fulfillment=pickup_, note__startswith="shopper is here").count() == 1


def test_im_here_before_the_order_is_ready_says_why_and_changes_nothing(browser, basket, store):
    link = place(browser, store)
    pickup_ = Order.objects.get().fulfillments.get()

    refused = browser.post(link, {"action": "here", "fulfillment": pickup_.pk, "bay": "3", "car": ""})

    assert refused.status_code == 409
    assert ("Your order is not ready to collect yet: we will text and email you with the code when it is."
            in text(refused))
    pickup_.refresh_from_db()
    assert pickup_.arrived_at is None
