"""The thread that runs through a shopper's channels, over HTTP: she arrives on the web from an Instagram post,
looks at a tee, fills a guest basket, signs up with her mobile and says yes to texts only, and leaves; the
reminder job texts her once, with a single-use voucher and a link to the same basket; she opens it in the app,
where the basket is waiting, pays with the voucher; the store ships and she is texted the tracking; after
delivery one review request comes by text; the order and analytics say where she came from; and running
every job again sends nothing more."""
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.roles import MERCHANDISER, STORE_MANAGER, STORE_STAFF, role_assign
from customers.models import Cart, Customer
from fulfillment.models import Fulfillment
from notifications.models import OutboxMessage
from orders.models import Order, Voucher
from tests.factories import UserFactory, card, stock_the_shop
from tests.fulfillment.test_ship_and_returns import NEAR_LONDON
from tests.test_jobs import counting_sms, every_job  # noqa: F401  (counting_sms is a fixture)

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-9"


def test_from_an_instagram_post_to_a_review_by_text(store, stripe_double, counting_sms):  # noqa: F811
    stock_the_shop(store=store)
    web = Client()

    # The web: from a social post, a look at the tee, a guest basket; then she signs up, texts only.
    web.get("/?utm_source=instagram&utm_medium=social&utm_campaign=autumn-knits")
    web.get("/shop/organic-tee/", HTTP_REFERER="http://testserver/")
    web.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 2})
    signed_up = web.post("/account/register/", {"first_name": "Ada", "email": "ada@example.com",
                                                "phone": "07700 900123", "password": PASSWORD, "sms_consent": "on"})
    assert signed_up.status_code == 302, signed_up.content.decode()[:500]
    ada = Customer.objects.get(email="ada@example.com")
    assert (ada.phone, ada.consents_to("sms"), ada.consents_to("email")) == ("+447700900123", True, False)
    assert [line["sku"] for line in web.get("/api/v1/cart/").json()["lines"]] == ["TEE-NAVY-M"]

    # She leaves; a day later the reminder goes, by text, once.
    Cart.objects.filter(customer=ada).update(updated_at=timezone.now() - settings.ABANDONED_CART_AFTER
                                             - timedelta(hours=1))
    later = timezone.now()
    every_job(later)
    every_job(later)
    [(to, reminder)] = counting_sms
    assert to == "+447700900123" and "BACK-" in reminder
    code = re.search(r"BACK-\w+", reminder).group(0)
    link = re.search(r"https?://\S+", reminder).group(0)
    tags = parse_qs(urlsplit(link).query)
    assert (tags["utm_source"], tags["utm_medium"]) == (["basket-reminder"], ["sms"])
    assert Voucher.objects.get(code=code).max_uses == 1

    # The app, opened from the text: the same basket; she pays with the voucher for delivery.
    app = APIClient(HTTP_X_VISITOR_ID=str(uuid.uuid4()))
    token = app.post("/api/v1/auth/token/", {"email": "ada@example.com", "password": PASSWORD}, format="json")
    app.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    app.get("/api/v1/cart/", HTTP_X_ATTRIBUTION=urlsplit(link).query + "&landing=/cart/")
    assert [(line["sku"], line["quantity"]) for line in app.get("/api/v1/cart/").json()["lines"]] == [("TEE-NAVY-M", 2)]
    placed = app.post("/api/v1/checkout/", {
        "fulfilment": "delivery", "delivery_method": "standard", "address": NEAR_LONDON, "voucher": code,
        "payment_method": "card", "payment_method_id": card(stripe_double),
    }, format="json", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.json()
    order = Order.objects.get(number=placed.json()["number"])
    assert order.discount_amount > 0 and order.channel.code == "mobile"
    every_job(later)
    assert [b for _, b in counting_sms if f"thank you for order {order.number}" in b]  # the confirmation, by text

    # The store ships; she is texted the tracking.
    staff = APIClient()
    staff.force_authenticate(role_assign(user=UserFactory(username="sam"), role=STORE_STAFF, stores=[store]))
    parcel = Fulfillment.objects.get(order=order)
    staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/pick/")
    staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/pack/", {"carrier": "DPD", "tracking_number": "15501234567"},
               format="json")
    staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/ship/")
    staff.post(f"/api/v1/staff/fulfillments/{parcel.pk}/delivered/")
    every_job(later)
    assert [b for _, b in counting_sms if "15501234567" in b]

    # After delivery, one review request, by text (the only medium she said yes to).
    review_due = timezone.now() + settings.REVIEW_REQUEST_DELAY + timedelta(hours=1)
    every_job(review_due)
    reviews = OutboxMessage.objects.filter(template="review_request")
    assert [(m.medium, m.recipient) for m in reviews] == [("sms", "+447700900123")]

    # Where she came from: the order, its page and analytics say so.
    order.refresh_from_db()
    assert (order.attribution["first"]["source"], order.attribution["first"]["campaign"]) == (
        "instagram", "autumn-knits")
    assert (order.attribution["last"]["source"], order.attribution["last"]["medium"]) == ("basket-reminder", "sms")
    manager, head_office = Client(), Client()
    manager.force_login(role_assign(user=UserFactory(username="mia"), role=STORE_MANAGER, stores=[store]))
    head_office.force_login(role_assign(user=UserFactory(username="mo"), role=MERCHANDISER))
    page = manager.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert re.search(r"First: <strong>instagram / social</strong> \(autumn-knits\)", page)
    assert re.search(r"Last, before ordering: <strong>basket-reminder / sms</strong>", page)
    analytics = head_office.get("/admin/analytics/").content.decode()
    assert re.search(r"basket-reminder.{0,200}sms.{0,200}>1<", analytics, re.S)

    # Every job again, and again: nothing more is sent.
    sent_before, outbox_before = len(counting_sms), OutboxMessage.objects.count()
    for moment in (later, review_due, review_due + timedelta(days=1)):
        every_job(moment)
    assert (len(counting_sms), OutboxMessage.objects.count()) == (sent_before, outbox_before)
