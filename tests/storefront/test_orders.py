"""The order page: reached by its owner or through the signed link, nobody else; it follows the pickup
to the code and QR and to collected; a return is requested from it, refusals next to the field."""
import pytest
from django.test import Client

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment, Return
from orders.models import Order

from .helpers import error_next_to, idempotency_key, page, title

pytestmark = pytest.mark.django_db


def place_pickup(client, store) -> str:
    client.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 2})
    key = idempotency_key(client.get("/checkout/"))
    placed = client.post("/checkout/", {"fulfilment": "pickup", "store": store.code, "email": "ada@example.com",
                                        "payment_method": "pay_at_pickup", "idempotency_key": key})
    assert placed.status_code == 302
    return placed["Location"]


def collect(order: Order) -> Fulfillment:
    fulfillment = order.fulfillments.get()
    fulfillment_services.fulfillment_start_picking(fulfillment=fulfillment)
    ready = fulfillment_services.fulfillment_mark_ready(fulfillment=fulfillment)
    return fulfillment_services.pickup_collect(fulfillment=ready, code=ready.pickup_code)


def test_the_signed_link_opens_the_order_and_a_missing_or_forged_key_does_not(browser, goods, store):
    link = place_pickup(browser, store)
    number = Order.objects.get().number
    assert Client().get(link).status_code == 200
    assert Client().get(f"/orders/{number}/").status_code == 404
    forged = Client().get(f"/orders/{number}/", {"key": link.split("key=")[1][:-3] + "abc"})
    assert forged.status_code == 404 and "use the link in your confirmation email" in page(forged)


def test_another_customer_cannot_see_an_order_but_its_owner_can(signed_in, goods, store, shopper):
    place_pickup(signed_in, store)
    number = Order.objects.get().number
    assert signed_in.get(f"/orders/{number}/").status_code == 200
    assert number in page(signed_in.get("/account/"))
    nosy = Client()
    from catalog.models import Channel
    from customers import services
    services.customer_register(email="eve@example.com", password="correct-horse-battery-9",
                               channel=Channel.objects.get(code="web"))
    nosy.post("/account/sign-in/", {"email": "eve@example.com", "password": "correct-horse-battery-9"})
    assert nosy.get(f"/orders/{number}/").status_code == 404


def test_the_page_follows_the_pickup_to_its_code_and_qr_then_collected(browser, goods, store):
    link = place_pickup(browser, store)
    order = Order.objects.get()
    assert title(browser.get(link)) == f"Order {order.number} · Placed · Hearth & Thread"
    fulfillment = order.fulfillments.get()
    fulfillment_services.fulfillment_start_picking(fulfillment=fulfillment)
    ready = fulfillment_services.fulfillment_mark_ready(fulfillment=fulfillment)
    html = page(browser.get(link))
    assert f'id="pickup-code">{ready.pickup_code}<' in html
    qr = html.split('class="qr" src="')[1].split('"')[0]
    image = browser.get(qr)
    assert image.status_code == 200 and image["Content-Type"] == "image/svg+xml"
    assert b'xmlns="http://www.w3.org/2000/svg"' in image.content, "a standalone SVG needs its namespace to show"
    fulfillment_services.pickup_collect(fulfillment=ready, code=ready.pickup_code)
    assert title(browser.get(link)) == f"Order {order.number} · Collected · Hearth & Thread"


def test_a_return_needs_a_reason_next_to_the_item_and_changes_nothing_without_one(browser, goods, store):
    link = place_pickup(browser, store)
    order = Order.objects.get()
    collect(order)
    line = order.lines.get()
    response = browser.post(link, {f"quantity_{line.pk}": 1, f"reason_{line.pk}": ""})
    assert response.status_code == 400
    assert error_next_to(response, f"id_reason_{line.pk}") == "Tell us why, so we can do better."
    assert not Return.objects.exists()


def test_a_return_request_gives_a_code_and_the_same_units_cannot_be_asked_twice(browser, goods, store):
    link = place_pickup(browser, store)
    order = Order.objects.get()
    collect(order)
    line = order.lines.get()
    response = browser.post(link, {f"quantity_{line.pk}": 2, f"reason_{line.pk}": "Does not fit"}, follow=True)
    code = Return.objects.get().code
    assert f"Your return {code} is booked." in page(response)
    assert f"<strong>{code}</strong> — Requested" in page(response)
    again = browser.post(link, {f"quantity_{line.pk}": 1, f"reason_{line.pk}": "Does not fit"})
    assert again.status_code == 400 and Return.objects.count() == 1


def test_nothing_can_be_returned_before_it_was_handed_over(browser, goods, store):
    link = place_pickup(browser, store)
    line = Order.objects.get().lines.get()
    response = browser.post(link, {f"quantity_{line.pk}": 1, f"reason_{line.pk}": "Does not fit"})
    assert "Items can be returned once you have them." in page(response)
    assert not Return.objects.exists()


def test_the_order_page_breaks_out_the_vat_inside_the_total(browser, goods, store):
    link = place_pickup(browser, store)  # 2 × 20.00 at the London store: VAT 40.00 × 20/120

    shown = page(Client().get(link))

    assert 'id="order-total">£40.00<' in shown and 'id="order-tax">£6.67<' in shown
