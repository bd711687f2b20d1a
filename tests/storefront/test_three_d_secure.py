"""Card payments whose bank checks it is the shopper (3-D Secure), on the web without a browser: the page
makes the card with the Stripe double's API (as Stripe.js does) and completes the bank's check at the double
(as localstripe's Stripe.js does when the shopper confirms or fails in its window). The order is recorded
when the card is authorised, from the page coming back or Stripe's webhook, once; a failed, abandoned or
declined check charges nothing, frees the stock and leaves the basket to try again."""
import re
from decimal import Decimal
from html import unescape

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from customers.models import Cart
from inventory.models import Reservation, StockLevel
from orders.models import CheckoutAttempt, Order, Payment
from orders.services import checkouts_settle_unfinished
from tests.factories import card
from tests.orders.test_webhooks import deliver, stripe_event

from .helpers import error_next_to, idempotency_key, page

pytestmark = pytest.mark.django_db

NEEDS_CHECK = "4000002760003184"  # the bank asks; the card is fine once the shopper confirms
DECLINED_AFTER_CHECK = "4000008260003178"  # the bank asks, then declines for want of funds


@pytest.fixture
def at_checkout(browser, goods):
    browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 2})
    return idempotency_key(browser.get("/checkout/"))


def place(browser, store, stripe_double, key, number=NEEDS_CHECK):
    return browser.post("/checkout/", {
        "fulfilment": "pickup", "store": store.code, "email": "grace@example.com", "payment_method": "card",
        "payment_method_id": card(stripe_double, number), "idempotency_key": key})


def bank_check(response) -> dict:
    """What the 'confirm it's you' page hands its script: the client secret and where to come back."""
    html = page(response)
    assert response.status_code == 200 and "Your bank wants to confirm" in html, html[:500]
    section = re.search(r'<section class="card" id="bank-check"(.*?)>', html, re.S).group(1)
    return {name: unescape(value) for name, value in re.findall(r'data-([a-z-]+)="([^"]*)"', section)}


def shopper_answers(check: dict, *, confirms: bool) -> requests.Response:
    """The shopper confirms (or fails) in the bank's window: what localstripe's Stripe.js posts."""
    intent = check["client-secret"].split("_secret_")[0]
    return requests.post(f"{settings.STRIPE_API_BASE}/v1/payment_intents/{intent}/_authenticate",
                         params={"success": "true" if confirms else "false"},
                         json={"key": settings.STRIPE_PUBLISHABLE_KEY, "client_secret": check["client-secret"]},
                         timeout=10)


def come_back(browser, check: dict):
    return browser.get(check["finish-url"].removeprefix("http://testserver"))


def held(store, goods) -> tuple[int, int]:
    level = StockLevel.objects.get(location=store, variant__sku="TEE-NAVY-M")
    return level.reserved, level.committed


def intent_of(check: dict, stripe_double):
    return stripe_double.v1.payment_intents.retrieve(check["client-secret"].split("_secret_")[0])


def test_a_card_whose_bank_asks_is_placed_once_the_shopper_confirms(browser, at_checkout, store, goods, stripe_double):
    check = bank_check(place(browser, store, stripe_double, at_checkout))
    assert not Order.objects.exists()
    assert held(store, goods) == (2, 0)  # put aside while the bank checks

    assert shopper_answers(check, confirms=True).status_code == 200
    landed = come_back(browser, check)

    order = Order.objects.get()
    assert landed.status_code == 302 and landed.url.startswith(f"/orders/{order.number}/")
    assert order.payment.status == Payment.Status.AUTHORISED
    intent = intent_of(check, stripe_double)
    assert intent.status == "requires_capture" and intent.id == order.payment.stripe_payment_intent
    assert intent.amount == int(order.total_amount * 100) == 4000
    assert held(store, goods) == (0, 2)
    assert Cart.objects.get().status == Cart.Status.ORDERED
    assert "Thank you! Your order" in page(browser.get(landed.url))
    assert come_back(browser, check).url.startswith(f"/orders/{order.number}/")  # opened twice: the same order
    assert Order.objects.count() == 1


def test_the_form_sent_again_while_the_bank_checks_shows_the_same_check_and_holds_nothing_more(
        browser, at_checkout, store, goods, stripe_double):
    form = {"fulfilment": "pickup", "store": store.code, "email": "grace@example.com", "payment_method": "card",
            "payment_method_id": card(stripe_double, NEEDS_CHECK), "idempotency_key": at_checkout}
    first = bank_check(browser.post("/checkout/", form))

    again = bank_check(browser.post("/checkout/", form))  # a refresh, or the back button and submit

    assert again["client-secret"] == first["client-secret"]
    assert held(store, goods) == (2, 0)
    assert Reservation.objects.filter(status=Reservation.Status.ACTIVE).count() == 1
    assert CheckoutAttempt.objects.count() == 1


def test_a_check_the_shopper_fails_charges_nothing_frees_the_stock_and_says_why_by_the_card(
        browser, at_checkout, store, goods, stripe_double):
    check = bank_check(place(browser, store, stripe_double, at_checkout))
    shopper_answers(check, confirms=False)

    landed = come_back(browser, check)

    assert landed.status_code == 302 and landed.url == "/checkout/"
    shown = browser.get("/checkout/")
    assert "could not confirm it was you" in error_next_to(shown, "card")
    assert not Order.objects.exists() and not CheckoutAttempt.objects.exists()
    assert held(store, goods) == (0, 0)
    assert intent_of(check, stripe_double).status == "canceled"
    assert Cart.objects.get().status == Cart.Status.OPEN and Cart.objects.get().lines.count() == 1

    retried = bank_check(place(browser, store, stripe_double, idempotency_key(shown)))  # the same basket again
    shopper_answers(retried, confirms=True)
    assert come_back(browser, retried).status_code == 302
    assert Order.objects.get().total_amount == Decimal("40.00")


def test_a_card_declined_after_the_check_charges_nothing_and_says_so(browser, at_checkout, store, goods, stripe_double):
    check = bank_check(place(browser, store, stripe_double, at_checkout, number=DECLINED_AFTER_CHECK))
    assert shopper_answers(check, confirms=True).status_code == 402

    come_back(browser, check)

    again = browser.get("/checkout/")
    assert "declined" in error_next_to(again, "card").lower()
    assert not Order.objects.exists() and held(store, goods) == (0, 0)
    form = page(again)  # the form as the shopper filled it, to try another card
    assert 'value="grace@example.com"' in form
    assert re.search(rf'<option value="{store.code}"[^>]*selected', form)
    assert idempotency_key(again) != at_checkout  # a new attempt, not a replay of the refused one


def test_an_abandoned_check_is_let_go_when_its_hold_lapses(browser, at_checkout, store, goods, stripe_double):
    check = bank_check(place(browser, store, stripe_double, at_checkout))
    assert checkouts_settle_unfinished() == 0  # still inside its hold: left alone

    past = timezone.now() - settings.CHECKOUT_CLAIM_LEASE
    CheckoutAttempt.objects.update(authenticate_by=past)
    Reservation.objects.update(expires_at=past)
    assert checkouts_settle_unfinished() == 1

    assert held(store, goods) == (0, 0) and not CheckoutAttempt.objects.exists()
    assert intent_of(check, stripe_double).status == "canceled"
    come_back(browser, check)  # the shopper comes back late
    assert "not finished while we held your items" in error_next_to(browser.get("/checkout/"), "card")
    assert not Order.objects.exists()


def test_the_sweep_places_an_order_the_bank_authorised_when_the_page_never_came_back(browser, at_checkout, store,
                                                                                     goods, stripe_double):
    check = bank_check(place(browser, store, stripe_double, at_checkout))
    shopper_answers(check, confirms=True)  # ...and the shopper closed the tab; no webhook came
    CheckoutAttempt.objects.update(authenticate_by=timezone.now() + timezone.timedelta(seconds=30))

    assert checkouts_settle_unfinished() == 1

    order = Order.objects.get()
    assert order.payment.stripe_payment_intent == intent_of(check, stripe_double).id
    assert held(store, goods) == (0, 2)


def test_a_basket_changed_during_the_check_is_not_placed_and_the_card_is_released(browser, at_checkout, store, goods,
                                                                                  stripe_double):
    check = bank_check(place(browser, store, stripe_double, at_checkout))
    browser.post("/shop/harbour-hoodie/", {"sku": "HOOD-GREY-L", "quantity": 1})  # in another tab
    shopper_answers(check, confirms=True)

    come_back(browser, check)

    assert "basket changed" in error_next_to(browser.get("/checkout/"), "card")
    assert not Order.objects.exists() and held(store, goods) == (0, 0)
    assert intent_of(check, stripe_double).status == "canceled"


def capturable_event(check: dict, stripe_double) -> str:
    intent = intent_of(check, stripe_double)
    return stripe_event("payment_intent.amount_capturable_updated", {
        "id": intent.id, "object": "payment_intent", "amount": intent.amount, "amount_capturable": intent.amount,
        "currency": "gbp", "status": "requires_capture", "client_secret": check["client-secret"]})


def test_stripes_webhook_places_the_order_first_and_the_page_finds_it(browser, at_checkout, store, goods,
                                                                      stripe_double):
    check = bank_check(place(browser, store, stripe_double, at_checkout))
    shopper_answers(check, confirms=True)
    event = capturable_event(check, stripe_double)

    assert deliver(event).status_code == 200
    assert deliver(event).status_code == 200  # delivered twice

    order = Order.objects.get()
    assert come_back(browser, check).url.startswith(f"/orders/{order.number}/")
    assert Order.objects.count() == 1 and held(store, goods) == (0, 2)


def test_a_failed_check_reported_by_webhook_frees_the_stock_at_once(browser, at_checkout, store, goods, stripe_double):
    check = bank_check(place(browser, store, stripe_double, at_checkout))
    shopper_answers(check, confirms=False)
    intent = intent_of(check, stripe_double)

    deliver(stripe_event("payment_intent.payment_failed", {
        "id": intent.id, "object": "payment_intent", "amount": intent.amount, "currency": "gbp",
        "status": "requires_payment_method", "client_secret": check["client-secret"],
        "last_payment_error": {"code": "payment_intent_authentication_failure", "message": "failed"}}))

    assert held(store, goods) == (0, 0) and not CheckoutAttempt.objects.exists() and not Order.objects.exists()


def test_someone_elses_finish_link_is_refused(browser, at_checkout, store, goods, stripe_double):
    check = bank_check(place(browser, store, stripe_double, at_checkout))
    shopper_answers(check, confirms=True)
    forged = {"finish-url": check["finish-url"].replace(check["client-secret"], check["client-secret"][:-4] + "xxxx")}

    come_back(browser, forged)

    assert not Order.objects.exists()
    assert "does not belong to a checkout of yours" in error_next_to(browser.get("/checkout/"), "card")
    assert held(store, goods) == (2, 0)  # the real checkout is untouched
