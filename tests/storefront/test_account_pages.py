"""The account's own pages: a forgotten password reset through the emailed link (the same answer for any
email, slowed down like signing in), changing the password, the shopper's details, and the list of orders
saying where each order is in the same words as its order page."""
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import localtime
from rest_framework.authtoken.models import Token

from catalog.models import Channel
from customers import services as customer_services
from fulfillment import services as fulfillment_services
from inventory import services as stock
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from orders.models import Order
from orders.services import order_cancel
from tests.factories import card

from .conftest import PASSWORD
from .helpers import error_next_to, idempotency_key, page

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-secret-7"
ASKED = "If that email has an account, a reset link is on its way."


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def signed_in_elsewhere(email: str, password: str = PASSWORD) -> Client:
    other = Client()
    assert other.post("/account/sign-in/", {"email": email, "password": password}).status_code == 302
    return other


def signed_in_app(email: str) -> str:
    answer = Client().post("/api/v1/auth/token/", {"email": email, "password": PASSWORD},
                           content_type="application/json")
    assert answer.status_code == 200
    return answer.json()["token"]


def can_sign_in(email: str, password: str) -> bool:
    return Client().post("/account/sign-in/", {"email": email, "password": password}).status_code == 302


def reset_link(browser, email: str) -> str:
    """Ask for a reset on the page and follow the email that arrives: the path of its link."""
    browser.post("/account/forgot-password/", {"email": email})
    messages_deliver_pending()
    [sent] = mail.outbox
    link = re.search(r"https?://\S+/account/reset/\S+/", sent.body).group(0)
    return urlsplit(link).path


# Forgot password ---------------------------------------------------------------------------------


def test_the_sign_in_page_and_a_taken_email_on_registering_link_to_the_forgotten_password_page(browser, shopper):
    sign_in = page(browser.get("/account/sign-in/"))
    taken = browser.post("/account/register/", {"email": shopper.email, "password": "a-long-passphrase-7"})

    assert 'href="/account/forgot-password/"' in sign_in and "Forgot your password?" in sign_in
    assert "reset your password" in error_next_to(taken, "id_email")
    assert 'href="/account/forgot-password/">Forgot your password? Reset it by email</a>' in page(taken)


def test_asking_for_a_reset_answers_the_same_for_an_unknown_email_and_sends_it_nothing(browser, shopper):
    known = browser.post("/account/forgot-password/", {"email": "ADA@example.com"}, follow=True)
    unknown = browser.post("/account/forgot-password/", {"email": "nobody@example.com"}, follow=True)

    assert known.status_code == unknown.status_code == 200
    assert ASKED in page(known) and ASKED in page(unknown)
    assert without_csrf(page(known)) == without_csrf(page(unknown))
    assert list(OutboxMessage.objects.values_list("recipient", "template")) == [("ada@example.com", "password_reset")]


def test_the_emailed_link_sets_the_new_password_and_the_old_one_stops_working(browser, shopper):
    path = reset_link(browser, shopper.email)
    assert browser.get(path).status_code == 200

    done = browser.post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}, follow=True)

    assert done.redirect_chain[-1][0] == "/account/sign-in/"
    assert "Your password is changed. Sign in with your new password." in page(done)
    assert not can_sign_in(shopper.email, PASSWORD)
    assert can_sign_in(shopper.email, NEW_PASSWORD)


def test_the_reset_email_has_the_link_as_a_button_and_the_apps_reset_code(browser, shopper):
    path = reset_link(browser, shopper.email)

    [sent] = mail.outbox
    html, kind = sent.alternatives[0]
    assert (sent.subject, sent.to, kind) == ("Reset your password", ["ada@example.com"], "text/html")
    assert "Hearth &amp; Thread" in html and f'href="http://127.0.0.1:8000{path}"' in html
    assert re.search(r"uid=\S+ token=\S+", sent.body)


def test_a_reset_ends_every_other_session_and_app_token_of_the_login(browser, shopper):
    elsewhere = signed_in_elsewhere(shopper.email)
    signed_in_app(shopper.email)
    path = reset_link(browser, shopper.email)

    browser.post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})

    assert elsewhere.get("/account/").status_code == 302
    assert not Token.objects.filter(user=shopper.user).exists()


def test_a_used_or_made_up_reset_link_says_so_and_offers_a_new_one(browser, shopper):
    path = reset_link(browser, shopper.email)
    browser.post(path, {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})

    for link in (path, "/account/reset/MQ/not-a-token/"):
        refused = browser.get(link)
        assert refused.status_code == 400
        assert "This reset link is invalid or has expired; ask for a new one." in page(refused)
        assert 'href="/account/forgot-password/">Email me a new link</a>' in page(refused)
    again = browser.post(path, {"password": "yet-another-secret-9", "password_again": "yet-another-secret-9"})
    assert again.status_code == 400 and can_sign_in(shopper.email, NEW_PASSWORD)


@pytest.mark.parametrize("typed, field, message", [
    ({"password": NEW_PASSWORD, "password_again": "a-brand-new-secret-8"}, "id_password_again",
     "This is not the same as the new password above; type it again."),
    ({"password": "12345678", "password_again": "12345678"}, "id_password", "This password is too common."),
    ({"password": "short", "password_again": "short"}, "id_password", "This password is too short."),
    ({"password": NEW_PASSWORD}, "id_password_again", "Type the new password again."),
])
def test_a_new_password_that_will_not_do_is_refused_next_to_the_field_and_changes_nothing(
        browser, shopper, typed, field, message):
    path = reset_link(browser, shopper.email)

    refused = browser.post(path, typed)

    assert refused.status_code == 400
    assert message in error_next_to(refused, field)
    assert browser.get(path).status_code == 200  # the link still works (until the next sign-in)
    assert can_sign_in(shopper.email, PASSWORD)


def test_asking_for_resets_is_slowed_down_like_signing_in(browser, shopper):
    for _ in range(10):  # the auth rate: 10 a minute
        assert browser.post("/account/forgot-password/", {"email": shopper.email}).status_code == 302

    blocked = browser.post("/account/forgot-password/", {"email": shopper.email})

    assert blocked.status_code == 429
    assert "Too many attempts from here or for this account; wait a while and try again." in page(blocked)
    assert OutboxMessage.objects.filter(template="password_reset").count() == 10


# Password change ---------------------------------------------------------------------------------


def test_a_wrong_current_password_is_refused_next_to_it_and_changes_nothing(signed_in, shopper):
    refused = signed_in.post("/account/password/", {"current_password": "not-my-password", "password": NEW_PASSWORD,
                                                    "password_again": NEW_PASSWORD})

    assert refused.status_code == 400
    assert error_next_to(refused, "id_current_password") == "That is not your current password."
    assert can_sign_in(shopper.email, PASSWORD) and not can_sign_in(shopper.email, NEW_PASSWORD)


def test_changing_the_password_keeps_this_browser_signed_in_and_signs_out_the_others(signed_in, shopper):
    elsewhere = signed_in_elsewhere(shopper.email)
    signed_in_app(shopper.email)

    changed = signed_in.post("/account/password/", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                    "password_again": NEW_PASSWORD}, follow=True)

    assert "Your password is changed. You are still signed in here" in page(changed)
    assert signed_in.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302
    assert not Token.objects.filter(user=shopper.user).exists()
    assert not can_sign_in(shopper.email, PASSWORD) and can_sign_in(shopper.email, NEW_PASSWORD)


def test_a_weak_new_password_is_refused_next_to_it_with_the_validators_words(signed_in, shopper):
    refused = signed_in.post("/account/password/", {"current_password": PASSWORD, "password": "ada@example.com",
                                                    "password_again": "ada@example.com"})

    assert refused.status_code == 400
    assert "The password is too similar to the" in error_next_to(refused, "id_password")
    assert can_sign_in(shopper.email, PASSWORD)


def test_the_account_nav_leads_to_the_details_and_the_password_pages(signed_in):
    nav = page(signed_in.get("/account/"))

    assert 'href="/account/details/"' in nav and 'href="/account/password/"' in nav
    assert signed_in.get("/account/password/").status_code == 200


# Details -----------------------------------------------------------------------------------------


def test_the_details_page_changes_the_name_and_mobile_and_refuses_a_bad_number_next_to_it(signed_in, shopper):
    saved = signed_in.post("/account/details/", {"first_name": "Augusta", "last_name": "King",
                                                 "phone": "07700 900123"}, follow=True)
    refused = signed_in.post("/account/details/", {"first_name": "Ada", "last_name": "", "phone": "12"})

    assert "Your details are saved." in page(saved)
    assert refused.status_code == 400 and error_next_to(refused, "id_phone")
    shopper.refresh_from_db()
    assert (shopper.first_name, shopper.last_name, shopper.phone) == ("Augusta", "King", "+447700900123")
    assert "it cannot be changed here" in page(saved)


# The list of orders ------------------------------------------------------------------------------


def buy(client, shopper, tee, **form) -> Order:
    """The signed-in shopper buys one tee (put in their cart by the service) through the checkout page."""
    web = Channel.objects.get(code=Channel.WEB)
    cart = customer_services.cart_open_for_customer(customer=shopper, channel=web)
    customer_services.cart_add_line(cart=cart, variant=tee, quantity=1, channel=web)
    key = idempotency_key(client.get("/checkout/"))
    placed = client.post("/checkout/", {"email": shopper.email, "idempotency_key": key, **form})
    assert placed.status_code == 302, page(placed)
    return Order.objects.latest("id")


def said_on_the_order_page(client, order: Order) -> str:
    return re.search(r'id="order-status"[^>]*>([^<]+)<', page(client.get(f"/orders/{order.number}/"))).group(1)


def said_in_the_list(html: str, order: Order) -> str:
    return re.search(rf'data-order-status="{order.number}">([^<]+)<', html).group(1)


def test_the_list_of_orders_says_where_each_is_in_the_words_of_its_order_page(
        signed_in, shopper, goods, store, warehouse, stripe_double):
    tee = goods[0]
    stock.stock_receive(location=warehouse, variant=tee, quantity=5)
    pickup = {"fulfilment": "pickup", "store": store.code, "payment_method": "pay_at_pickup"}
    placed, preparing, ready, collected, cancelled = (buy(signed_in, shopper, tee, **pickup) for _ in range(5))
    for order in (preparing, ready, collected):
        fulfillment_services.fulfillment_start_picking(fulfillment=order.fulfillments.get())
    for order in (ready, collected):
        fulfillment_services.fulfillment_mark_ready(fulfillment=order.fulfillments.get())
    code = collected.fulfillments.get().pickup_code
    fulfillment_services.pickup_collect(fulfillment=collected.fulfillments.get(), code=code)
    order_cancel(order=cancelled)
    sent = buy(signed_in, shopper, tee, fulfilment="delivery", name="Ada Lovelace", line1="12 St James's Square",
               city="London", postcode="SW1Y 4JH", country="GB", delivery_method="standard", payment_method="card",
               payment_method_id=card(stripe_double))
    parcel = sent.fulfillments.get()
    fulfillment_services.fulfillment_start_picking(fulfillment=parcel)
    fulfillment_services.fulfillment_pack(fulfillment=parcel, carrier="Royal Mail", tracking_number="RM123GB")
    fulfillment_services.fulfillment_ship(fulfillment=parcel)

    listed = page(signed_in.get("/account/"))

    words = {order: said_in_the_list(listed, order) for order in (placed, preparing, ready, collected, cancelled, sent)}
    assert list(words.values()) == ["Placed", "Being prepared", "Ready to collect", "Collected", "Cancelled",
                                    "Sent"]
    for order, said in words.items():
        assert said_on_the_order_page(signed_in, order) == said


def test_the_list_of_orders_shows_money_in_pounds_and_dates_in_british_order(signed_in, shopper, goods, store):
    order = buy(signed_in, shopper, goods[2], fulfilment="pickup", store=store.code, payment_method="pay_at_pickup")

    listed = page(signed_in.get("/account/"))

    assert "£45.00" in listed
    assert localtime(order.placed_at).strftime("%-d %b %Y") in listed


def test_the_list_of_orders_reads_the_same_number_of_queries_for_one_order_or_many(signed_in, shopper, goods, store):
    pickup = {"fulfilment": "pickup", "store": store.code, "payment_method": "pay_at_pickup"}
    buy(signed_in, shopper, goods[0], **pickup)
    signed_in.get("/account/")  # the session and the channel cached alike for both counts
    with CaptureQueriesContext(connection) as one:
        signed_in.get("/account/")
    for _ in range(3):
        buy(signed_in, shopper, goods[0], **pickup)
    with CaptureQueriesContext(connection) as four:
        listed = signed_in.get("/account/")

    assert page(listed).count("data-order-status=") == 4
    assert 0 < len(four.captured_queries) == len(one.captured_queries)
