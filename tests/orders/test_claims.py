"""Claiming guest orders: someone who ordered as a guest and later registers (or signs in) with that email is
emailed one link; following it while signed in as that account adds every guest order placed with the email to
the account (its orders, on the web and in the app, and its timeline), once. A forged, changed, expired or
someone else's link is refused saying why, and adds nothing."""
import re
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from orders.claims import claim_token
from orders.models import Order
from tests.customers.conftest import PASSWORD, app_client, register

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://\S+/account/claim/([^/\s]+)/")


def collect_and_pay_later(app, store, **choice) -> str:
    """A tee ordered from the app (a guest's, or signed in) for pickup at the store, paid at pickup; its number."""
    assert app.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 1}, format="json").status_code == 201
    placed = app.post("/api/v1/checkout/", {"fulfilment": "pickup", "store": store.code,
                                            "payment_method": "pay_at_pickup", **choice},
                      format="json", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.json()
    return placed.json()["number"]


def guest_order(store, email: str) -> str:
    return collect_and_pay_later(APIClient(), store, email=email)


def claim_emails() -> list:
    """The claim emails sent so far (the outbox is delivered first)."""
    messages_deliver_pending()
    return [m for m in mail.outbox if LINK.search(m.body)]


def sign_in(email: str):
    """The app, signed in with a token (each sign-in is a fresh one)."""
    return app_client(Customer.objects.get(email__iexact=email))


def numbers(app) -> list[str]:
    return sorted(order["number"] for order in app.get("/api/v1/orders/").json()["results"])


def timeline_orders(app) -> list[tuple[str, str]]:
    return sorted((row["reference"], row["created_at"]) for row in app.get("/api/v1/me/timeline/").json()["results"]
                  if row["kind"] == "order_placed")


def placed_at(app, number: str) -> str:
    return app.get(f"/api/v1/orders/{number}/").json()["placed_at"]


@pytest.fixture
def two_guest_orders(shelf, store) -> list[str]:
    return sorted([guest_order(store, "ada@example.com"), guest_order(store, "ADA@example.COM")])


def test_a_guest_who_registers_in_the_app_gets_one_link_that_adds_both_orders_once(two_guest_orders):
    signed_up = APIClient().post("/api/v1/auth/register/", {"email": "Ada@Example.com", "password": PASSWORD,
                                                    "first_name": "Ada"}, format="json")
    assert signed_up.status_code == 201, signed_up.json()
    app = sign_in("ada@example.com")
    sign_in("ada@example.com")  # signing in again does not ask again
    assert numbers(app) == []  # "No orders yet"

    sent = claim_emails()
    assert len(sent) == 1 and sent[0].to == ["Ada@Example.com"]
    assert sent[0].subject == "Add your earlier orders to your account"
    assert all(number in sent[0].body for number in two_guest_orders)
    token = LINK.search(sent[0].body).group(1)

    claimed = app.post("/api/v1/me/orders/claim/", {"token": token}, format="json")

    assert claimed.status_code == 200, claimed.json()
    assert sorted(claimed.json()["claimed"]) == two_guest_orders
    assert claimed.json()["message"].startswith("2 orders added to your account:")
    assert numbers(app) == two_guest_orders
    shown = timeline_orders(app)
    assert shown == sorted((f"order:{n}", placed_at(app, n)) for n in two_guest_orders)  # when they were placed

    again = app.post("/api/v1/me/orders/claim/", {"token": token}, format="json")

    assert again.status_code == 200 and again.json()["claimed"] == []
    assert again.json()["message"] == ("Nothing more to add: the orders placed with your email are all in your "
                                       "account.")
    assert numbers(app) == two_guest_orders and timeline_orders(app) == shown


def test_a_guest_who_registers_on_the_web_follows_the_link_to_their_orders_page(two_guest_orders):
    browser = Client()
    browser.post("/account/register/", {"email": "ada@example.com", "password": PASSWORD, "first_name": "Ada"})
    assert "No orders yet" in browser.get("/account/").content.decode()
    link = LINK.search(claim_emails()[0].body)

    followed = browser.get(link.group(0).removeprefix("http://127.0.0.1:8000"), follow=True)

    page = followed.content.decode()
    assert followed.redirect_chain == [("/account/", 302)]
    assert "2 orders added to your account:" in page
    assert all(number in page for number in two_guest_orders) and "No orders yet" not in page
    assert len(claim_emails()) == 1


def test_signing_in_later_is_asked_once_and_again_only_about_a_newer_guest_order(shelf, store):
    ada = register()
    assert claim_emails() == []  # nothing to claim, nothing asked
    first = guest_order(store, "ada@example.com")

    sign_in("ada@example.com")
    sign_in("ada@example.com")
    assert len(claim_emails()) == 1

    second = guest_order(store, "ada@example.com")
    sign_in("ada@example.com")

    sent = claim_emails()
    assert len(sent) == 2 and first in sent[1].body and second in sent[1].body
    assert all(m.to == [ada.email] for m in sent)


def test_once_the_link_has_expired_the_next_sign_in_sends_a_fresh_one(two_guest_orders):
    register()
    sign_in("ada@example.com")
    assert len(claim_emails()) == 1
    OutboxMessage.objects.filter(template="orders_claim").update(created_at=timezone.now() - timedelta(days=8))

    sign_in("ada@example.com")

    sent = claim_emails()
    assert len(sent) == 2 and all(number in sent[1].body for number in two_guest_orders)


def test_the_web_link_sends_someone_signed_out_to_sign_in_and_back(two_guest_orders):
    register()
    link = f"/account/claim/{LINK.search(claim_emails()[0].body).group(1)}/"
    browser = Client()

    asked = browser.get(link)

    assert asked.status_code == 302
    assert asked["Location"] == f"/account/sign-in/?next={link.replace('/', '%2F').replace(':', '%3A')}"
    back = browser.post("/account/sign-in/", {"email": "ada@example.com", "password": PASSWORD, "next": link},
                        follow=True)
    assert "2 orders added to your account:" in back.content.decode()
    assert Order.objects.filter(customer__email="ada@example.com").count() == 2


def expired_token(customer) -> str:
    eight_days_ago = (timezone.now() - timedelta(days=8)).timestamp()
    with mock.patch("django.core.signing.time.time", return_value=eight_days_ago):
        return claim_token(customer)


@pytest.mark.parametrize("link_of, code, message", [
    (lambda ada, grace: "not-a-link", "claim_link_invalid",
     "This link is not one we sent, or it was changed: open the link from the email exactly as it is."),
    (lambda ada, grace: claim_token(ada)[:-1] + ("A" if claim_token(ada)[-1] != "A" else "B"), "claim_link_invalid",
     "This link is not one we sent, or it was changed: open the link from the email exactly as it is."),
    (lambda ada, grace: claim_token(grace), "claim_link_not_yours",
     "This link was sent to another account: sign in with the email address it was sent to, then open it again."),
    (lambda ada, grace: expired_token(ada), "claim_link_expired",
     "This link has expired: links to add orders work for 7 days. Sign in again and we will email you a new one."),
], ids=["forged", "altered", "another-account", "expired"])
def test_a_link_that_cannot_be_followed_is_refused_saying_why_and_adds_nothing(two_guest_orders, link_of, code,
                                                                                message):
    ada, grace = register(), register("grace@example.com", "Grace")
    token = link_of(ada, grace)

    refused = sign_in("ada@example.com").post("/api/v1/me/orders/claim/", {"token": token}, format="json")
    browser = Client()
    browser.force_login(ada.user)
    page = browser.get(f"/account/claim/{token}/")

    assert refused.status_code == 400
    assert (refused.json()["code"], refused.json()["message"]) == (code, message)
    assert page.status_code == 400 and message in page.content.decode().replace("&#x27;", "'")
    assert not Order.objects.filter(customer__isnull=False).exists()

