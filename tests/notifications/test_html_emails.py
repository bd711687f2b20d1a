"""Emails as a shopper's mail program shows them: an HTML part in the shop's layout with its name and each
item's picture (a full address, so it loads from the inbox; none for an item without a picture), beside the
plain-text part that says the same; names escaped in the HTML and left as they are in the text."""
import re
from datetime import timedelta
from io import BytesIO

import pytest
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.utils import timezone
from PIL import Image

from catalog.models import Channel
from catalog.services import product_image_add
from customers import services as customer_services
from customers.selectors import recipient_for
from fulfillment import services as fulfillment_services
from fulfillment.services import ReceivedUnits
from inventory import services as stock
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from notifications.recipients import Recipient
from notifications.services import message_queue
from orders.engagement import abandoned_cart_reminders
from orders.models import Order
from tests.factories import CategoryFactory, PriceFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"
CANDLE = "Fig & Cedar <Candle>"
SHOP = "Hearth &amp; Thread"  # the shop's name as HTML writes it


def png(colour: str) -> SimpleUploadedFile:
    out = BytesIO()
    Image.new("RGB", (400, 500), colour).save(out, "PNG")
    return SimpleUploadedFile(f"{colour}.png", out.getvalue(), content_type="image/png")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def shelf(db, store):
    """A candle with a picture and a mug without one, priced on every channel; 10 of each at the store."""
    home = CategoryFactory(name="Home", slug="home")
    candle = VariantFactory(product=ProductFactory(name=CANDLE, slug="fig-cedar-candle", category=home),
                            sku="CANDLE-FIG", options={})
    mug = VariantFactory(product=ProductFactory(name="Stoneware Mug", slug="stoneware-mug", category=home),
                         sku="MUG-SAND", options={})
    product_image_add(product=candle.product, upload=png("peru"), alt="A candle in a glass jar")
    for variant in (candle, mug):
        for channel in Channel.objects.all():
            PriceFactory(variant=variant, channel=channel, amount="18.00")
        stock.stock_receive(location=store, variant=variant, quantity=10)
    return candle, mug


@pytest.fixture
def shopper(db):
    web = Channel.objects.get(code=Channel.WEB)
    return customer_services.customer_register(email="ada@example.com", password=PASSWORD, channel=web,
                                               first_name="Ada")


def pickup_order(shopper, store, *variants) -> Order:
    """One of each variant, bought on the web for collection at `store`, paid at the counter."""
    web = Channel.objects.get(code=Channel.WEB)
    cart = customer_services.cart_open_for_customer(customer=shopper, channel=web)
    for variant in variants:
        customer_services.cart_add_line(cart=cart, variant=variant, quantity=1, channel=web)
    browser = Client()
    browser.post("/account/sign-in/", {"email": shopper.email, "password": PASSWORD})
    key = re.search(r'name="idempotency_key" value="([^"]+)"', browser.get("/checkout/").content.decode()).group(1)
    placed = browser.post("/checkout/", {"fulfilment": "pickup", "store": store.code, "email": shopper.email,
                                         "payment_method": "pay_at_pickup", "idempotency_key": key})
    assert placed.status_code == 302
    return Order.objects.latest("id")


def made_ready(order: Order):
    pickup = order.fulfillments.get()
    fulfillment_services.fulfillment_start_picking(fulfillment=pickup)
    return fulfillment_services.fulfillment_mark_ready(fulfillment=pickup)


def sent(template: str):
    """The email of this template as it was sent: (its subject and text, its HTML)."""
    messages_deliver_pending()
    subject = OutboxMessage.objects.get(template=template, medium="email").subject
    [email] = [m for m in mail.outbox if m.subject == subject]
    [(html, kind)] = email.alternatives
    assert kind == "text/html"
    return f"{email.subject}\n{email.body}", html


def pictures(html: str) -> list[str]:
    return re.findall(r'<img src="([^"]+)"', html)


def assert_shows_the_candle_with_its_picture(text: str, html: str, *, named_in_text: bool = True) -> None:
    """The HTML shows the candle (its name escaped) with its picture and the mug without one; the text, where
    it names the items, has the name as it is."""
    assert SHOP in html
    assert "Fig &amp; Cedar &lt;Candle&gt;" in html and CANDLE not in html
    assert (CANDLE in text) is named_in_text and "&amp;" not in text and "&lt;" not in text
    [picture] = pictures(html)  # the mug has none, and shows none
    assert picture.startswith(f"{settings.SITE_URL}/media/")


def test_the_order_confirmation_has_an_html_part_with_the_shop_and_each_picture(shopper, store, shelf):
    candle, mug = shelf
    order = pickup_order(shopper, store, candle, mug)

    text, html = sent("order_confirmation")

    assert_shows_the_candle_with_its_picture(text, html)
    assert "Stoneware Mug" in html and "1 × Stoneware Mug (MUG-SAND)" in text
    assert "Total: £36.00" in text and "£36.00" in html
    assert f'href="{settings.SITE_URL}/orders/{order.number}/?key=' in html


def test_a_pickup_is_told_ready_reminded_and_collected_with_its_pictures(shopper, store, shelf):
    candle, mug = shelf
    order = pickup_order(shopper, store, candle, mug)
    ready = made_ready(order)
    fulfillment_services.pickups_remind(now=ready.expires_at - timedelta(hours=12))
    fulfillment_services.pickup_collect(fulfillment=ready, code=ready.pickup_code)

    for template in ("pickup_ready", "pickup_reminder", "pickup_collected"):
        text, html = sent(template)
        assert_shows_the_candle_with_its_picture(text, html, named_in_text=False)
        assert order.number in text and order.number in html
    text, html = sent("pickup_ready")
    assert f"Your pickup code: {ready.pickup_code}" in text and f">{ready.pickup_code}</strong>" in html


def test_a_return_is_told_when_asked_for_and_when_refunded_with_its_pictures(shopper, store, shelf):
    candle, mug = shelf
    order = pickup_order(shopper, store, candle, mug)
    ready = made_ready(order)
    fulfillment_services.pickup_collect(fulfillment=ready, code=ready.pickup_code)
    line = order.lines.get(variant=candle)
    asked = fulfillment_services.return_request(order=order, lines={line.pk: (1, "Changed my mind")},
                                                channel=Channel.objects.get(code=Channel.WEB))
    fulfillment_services.return_receive(order=order, location=store, return_request=asked,
                                        received=[ReceivedUnits(line.pk, 1, "resellable")])

    for template in ("return_requested", "return_refunded"):
        text, html = sent(template)
        assert asked.code in text and asked.code in html
        assert SHOP in html and "Fig &amp; Cedar &lt;Candle&gt;" in html
        assert [p.startswith(f"{settings.SITE_URL}/media/") for p in pictures(html)] == [True]
    text, html = sent("return_refunded")
    assert "£18.00" in text and "£18.00" in html


def test_a_parcel_on_its_way_is_told_with_its_pictures(shopper, store, shelf):
    candle, mug = shelf
    order = pickup_order(shopper, store, candle, mug)
    lines = list(order.lines.all())

    with transaction.atomic():
        message_queue(template="order_shipped", to=recipient_for(shopper), reference="fulfillment:test", context={
            "order": order, "order_link": "https://shop.example/o", "lines": lines,
            "fulfillment": {"location": store, "carrier": "Royal Mail", "tracking_number": "RM123GB",
                            "tracking_url": "https://track.example/RM123GB?a=1&b=2"}})

    text, html = sent("order_shipped")
    assert_shows_the_candle_with_its_picture(text, html)
    assert "Track it: https://track.example/RM123GB?a=1&b=2" in text
    assert 'href="https://track.example/RM123GB?a=1&amp;b=2"' in html


@pytest.mark.parametrize("template, context", [
    ("line_choose", {"choice_link": "https://shop.example/choose", "problem": {
        "quantity": 1, "choose_by": timezone.now() + timedelta(hours=24),
        "fulfillment": {"location": {"name": "Oxford Street"}}}}),
    ("line_rerouted", {"parts": [{"quantity": 1, "place": "Manchester"}], "problem": {
        "quantity": 1, "fulfillment": {"location": {"name": "Oxford Street"}}}}),
    ("line_dropped", {"rest": True, "problem": {"quantity": 1, "outcome": "dropped"}}),
])
def test_a_line_that_cannot_be_sent_is_told_with_its_picture(shopper, store, shelf, template, context):
    candle, mug = shelf
    order = pickup_order(shopper, store, candle, mug)

    with transaction.atomic():
        message_queue(template=template, to=recipient_for(shopper), reference="problem:test", context={
            "order": order, "order_link": "https://shop.example/o", "line": order.lines.get(variant=candle),
            **context})

    text, html = sent(template)
    assert_shows_the_candle_with_its_picture(text, html)
    assert order.number in text


def test_a_basket_reminder_shows_the_basket_with_its_pictures_and_why_it_was_sent(shopper, shelf):
    candle, mug = shelf
    web = Channel.objects.get(code=Channel.WEB)
    customer_services.customer_set_consent(customer=shopper, channel=web, email=True)
    cart = customer_services.cart_open_for_customer(customer=shopper, channel=web)
    for variant in (candle, mug):
        customer_services.cart_add_line(cart=cart, variant=variant, quantity=1, channel=web)

    assert abandoned_cart_reminders(now=timezone.now() + timedelta(days=2)) == 1

    text, html = sent("abandoned_cart")
    assert_shows_the_candle_with_its_picture(text, html)
    assert "You receive this because you said yes to offers by email." in html


def test_an_email_without_its_own_html_has_its_text_in_the_shops_layout():
    with transaction.atomic():
        message_queue(template="low_stock", to=Recipient(email="store@example.com"), context={
            "store": {"name": "Oxford Street", "code": "LDN-OXF"},
            "rows": [{"sku": "CANDLE-FIG", "name": CANDLE, "available": 1, "reorder_point": 3}]})

    text, html = sent("low_stock")

    assert "CANDLE-FIG Fig & Cedar <Candle>: 1 available (reorder at 3)" in text
    assert SHOP in html and "Fig &amp; Cedar &lt;Candle&gt;" in html
    assert f'<a href="{settings.SITE_URL}/admin/inventory/transfer/add/"' in html


def test_a_message_queued_before_emails_had_html_is_sent_as_the_plain_text_it_was(db):
    OutboxMessage.objects.create(medium="email", recipient="ada@example.com", template="order_shipped",
                                 subject="On its way", body="Your parcel left today.")

    assert messages_deliver_pending() == 1

    [email] = mail.outbox
    assert (email.body, email.alternatives) == ("Your parcel left today.", [])


def test_a_text_message_has_no_html_part(shopper, store, shelf):
    shopper.phone = "+447700900123"
    shopper.save(update_fields=["phone"])
    pickup_order(shopper, store, shelf[0])

    by_medium = dict(OutboxMessage.objects.filter(template="order_confirmation").values_list("medium", "html_body"))

    assert by_medium["sms"] == "" and SHOP in by_medium["email"]
