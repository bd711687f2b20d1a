"""Paying by card when the shopper's bank wants to confirm it is them (3-D Secure), in a real browser with the
local Stripe double's Stripe.js: confirmed, refused by the bank, abandoned at the check, and declined outright."""
import re
from datetime import timedelta

from django.utils import timezone

from customers.models import Cart
from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment
from inventory.models import Reservation, StockLevel
from orders.models import CheckoutAttempt, Order
from orders.services import checkouts_settle_unfinished
from orders.stripe_gateway import to_minor_units
from tests.factories import stock_the_shop

from .shop import add_to_basket, at

NO_CHECK_CARD = "4242424242424242"
CHECKED_CARD = "4000002760003184"  # the bank asks the shopper to confirm (3-D Secure), then authorises
CHECKED_THEN_DECLINED_CARD = "4000008260003178"  # the bank asks, then declines it for want of funds
DECLINED_CARD = "4000000000000341"  # declined as soon as it is asked
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ORDER_PAGE = re.compile(r"/orders/R\w+/\?key=")
BANK_CHECK_TITLE = "Your bank wants to confirm it's you"


def check_out_for_pickup(page, screens, store):
    """A guest puts one Organic Tee (20.00) in the basket and fills the checkout to collect it at `store`."""
    page.goto("/shop/")
    add_to_basket(page, screens, product="Organic Tee", size="M")
    page.get_by_role("link", name="Check out").click()
    page.wait_for_url(at("/checkout/"))
    fill_pickup_details(page, store)


def fill_pickup_details(page, store):
    page.get_by_role("radio", name="Collect from a store (free)").check()
    page.get_by_label("Store to collect from").select_option(store.code)
    page.get_by_label("Email for the confirmation").fill("ada@example.com")


def pay_with(page, number: str):
    """Type the card into Stripe.js's card Element (the double's: plain inputs named by placeholder) and place
    the order."""
    card = page.locator("#card")
    card.get_by_placeholder("number").wait_for()
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("34")
    card.get_by_placeholder("cvc").fill("123")
    page.get_by_role("button", name=re.compile("Place order")).click()


def bank_check_opens(page):
    """The page that runs the bank's check, with the double's 3-D Secure window over it."""
    page.locator("section#bank-check").wait_for()  # the answer to the checkout's POST, at the same address
    assert page.url.endswith("/checkout/")
    assert page.get_by_role("heading", level=1).inner_text() == BANK_CHECK_TITLE
    assert page.title().startswith("Confirm it's you")
    page.get_by_text("3D Secure").wait_for()
    assert page.get_by_role("button", name="Complete authentication").is_visible()
    assert page.get_by_role("button", name="Fail authentication").is_visible()
    assert page.locator("#bank-check-status").inner_text() == "Waiting for your bank…"


def at_the_bank_check(page, screens, store, card: str):
    """A guest checks out one Organic Tee with `card` and the bank's check opens: the tee and the intent."""
    tee, _, _ = stock_the_shop(store=store)
    check_out_for_pickup(page, screens, store)
    pay_with(page, card)
    bank_check_opens(page)
    return tee, CheckoutAttempt.objects.get().payment_intent


def take_at_both_widths(page, screens, step: str):
    """A screenshot on a desktop and on a phone; on neither does the page scroll sideways."""
    for name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= size["width"], f"{step} on a {name}"
        screens.take(page, f"{step} {name}")
    page.set_viewport_size(DESKTOP)


def level(store, variant) -> StockLevel:
    return StockLevel.objects.get(location=store, variant=variant)


def nothing_held(store, variant) -> bool:
    held = level(store, variant)
    return ((held.reserved, held.committed, held.available) == (0, 0, 5)
            and not Reservation.objects.filter(status=Reservation.Status.ACTIVE).exists())


def open_basket() -> Cart:
    return Cart.objects.get(status=Cart.Status.OPEN)


def intent_of(stripe_double, order: Order):
    return stripe_double.v1.payment_intents.retrieve(order.payment.stripe_payment_intent)


def test_a_card_without_a_bank_check_places_the_order_and_the_store_takes_exactly_its_total(
        browser_page, screens, store, stripe_double):
    tee, _, _ = stock_the_shop(store=store)
    page = browser_page
    check_out_for_pickup(page, screens, store)
    pay_with(page, NO_CHECK_CARD)

    page.wait_for_url(ORDER_PAGE)
    order = Order.objects.get()
    assert f"Thank you! Your order {order.number} is placed." in page.locator(".messages").inner_text()
    assert page.locator("#order-status").inner_text() == "Placed"
    screens.take(page, "order placed")
    pence = to_minor_units(order.total_amount, order.currency)
    assert (order.total_amount, pence) == (20, 2000)
    intent = intent_of(stripe_double, order)
    assert (intent.status, intent.amount, intent.currency) == ("requires_capture", pence, "gbp")
    assert (level(store, tee).reserved, level(store, tee).committed) == (0, 1)

    pickup = Fulfillment.objects.get(order=order)
    fulfillment_services.fulfillment_start_picking(fulfillment=pickup)
    ready = fulfillment_services.fulfillment_mark_ready(fulfillment=pickup)
    fulfillment_services.pickup_collect(fulfillment=ready, code=ready.pickup_code)

    captured = intent_of(stripe_double, order)
    charge = captured.latest_charge  # the double expands it; Stripe gives its id
    charge = stripe_double.v1.charges.retrieve(charge) if isinstance(charge, str) else charge
    assert captured.status == "succeeded"
    assert (charge.captured, charge.amount - charge.amount_refunded) == (True, pence)
    order.payment.refresh_from_db()
    assert (order.payment.status, order.payment.captured_amount) == ("captured", order.total_amount)
    page.reload()
    assert page.locator("#order-status").inner_text() == "Collected"


def test_a_shopper_who_confirms_with_their_bank_gets_the_order_authorised_for_its_exact_total(
        browser_page, screens, store, stripe_double):
    tee, _, _ = stock_the_shop(store=store)
    page = browser_page
    check_out_for_pickup(page, screens, store)
    pay_with(page, CHECKED_CARD)

    bank_check_opens(page)
    take_at_both_widths(page, screens, "bank check")
    assert not Order.objects.exists()
    assert level(store, tee).reserved == 1  # the items are put aside while the bank checks
    page.get_by_role("button", name="Complete authentication").click()

    page.wait_for_url(ORDER_PAGE)
    order = Order.objects.get()
    assert f"Thank you! Your order {order.number} is placed." in page.locator(".messages").inner_text()
    assert page.locator("#order-status").inner_text() == "Placed"
    screens.take(page, "order placed after the bank check")
    intent = intent_of(stripe_double, order)
    assert (intent.status, intent.amount) == ("requires_capture", to_minor_units(order.total_amount, order.currency))
    assert intent.amount == 2000
    assert (order.payment.status, order.payment.authorised_amount) == ("authorised", order.total_amount)
    assert (level(store, tee).reserved, level(store, tee).committed) == (0, 1)
    assert not CheckoutAttempt.objects.filter(order__isnull=True).exists()


def test_a_shopper_whose_bank_check_fails_is_told_next_to_the_card_and_can_pay_with_another_card(
        browser_page, screens, store, stripe_double):
    page = browser_page
    tee, intent_id = at_the_bank_check(page, screens, store, CHECKED_CARD)
    page.get_by_role("button", name="Fail authentication").click()

    page.wait_for_url(at("/checkout/"))
    card_error = page.locator("#card-error")
    card_error.wait_for()
    assert card_error.inner_text().startswith("Your bank could not confirm it was you, so the card was not charged.")
    assert page.locator("#card").get_attribute("aria-invalid") == "true"
    assert page.title().startswith("Checkout")
    assert "1 × Organic Tee" in page.get_by_role("complementary", name="Your order").inner_text()
    screens.take(page, "bank check failed")
    assert not Order.objects.exists()
    assert nothing_held(store, tee)
    assert stripe_double.v1.payment_intents.retrieve(intent_id).status == "canceled"
    assert [(line.variant, line.quantity) for line in open_basket().lines.all()] == [(tee, 1)]

    fill_pickup_details(page, store)
    pay_with(page, NO_CHECK_CARD)
    page.wait_for_url(ORDER_PAGE)
    order = Order.objects.get()
    assert f"Thank you! Your order {order.number} is placed." in page.locator(".messages").inner_text()
    screens.take(page, "paid with another card")
    assert intent_of(stripe_double, order).status == "requires_capture"
    assert (level(store, tee).reserved, level(store, tee).committed) == (0, 1)


def test_a_card_the_bank_declines_after_the_check_is_refused_next_to_the_card_and_nothing_is_held(
        browser_page, screens, store, stripe_double):
    page = browser_page
    tee, intent_id = at_the_bank_check(page, screens, store, CHECKED_THEN_DECLINED_CARD)
    page.get_by_role("button", name="Complete authentication").click()

    card_error = page.locator("#card-error")
    card_error.wait_for()
    assert card_error.inner_text() == "Your card was declined."
    assert page.locator("#card").get_attribute("aria-invalid") == "true"
    assert "1 × Organic Tee" in page.get_by_role("complementary", name="Your order").inner_text()
    screens.take(page, "declined after the bank check")
    assert not Order.objects.exists() and not CheckoutAttempt.objects.exists()
    assert nothing_held(store, tee)
    assert stripe_double.v1.payment_intents.retrieve(intent_id).status == "canceled"
    assert [(line.variant, line.quantity) for line in open_basket().lines.all()] == [(tee, 1)]


def test_a_bank_check_left_open_lets_the_items_go_when_the_hold_lapses_and_nothing_is_charged(
        browser_page, screens, store, stripe_double):
    tee, _, _ = stock_the_shop(store=store)
    page = browser_page
    check_out_for_pickup(page, screens, store)
    pay_with(page, CHECKED_CARD)
    bank_check_opens(page)
    carry_on = page.get_by_role("link", name="I've confirmed with my bank: carry on").get_attribute("href")
    screens.take(page, "bank check left open")
    page.close()

    attempt = CheckoutAttempt.objects.get()
    assert level(store, tee).reserved == 1
    assert stripe_double.v1.payment_intents.retrieve(attempt.payment_intent).status == "requires_action"
    lapsed = timezone.now() - timedelta(minutes=1)
    CheckoutAttempt.objects.filter(pk=attempt.pk).update(authenticate_by=lapsed)
    Reservation.objects.filter(reference=f"checkout:{attempt.pk}").update(expires_at=lapsed)
    assert checkouts_settle_unfinished() == 1

    assert nothing_held(store, tee)
    assert stripe_double.v1.payment_intents.retrieve(attempt.payment_intent).status == "canceled"
    assert not Order.objects.exists() and not CheckoutAttempt.objects.exists()
    assert [(line.variant, line.quantity) for line in open_basket().lines.all()] == [(tee, 1)]

    later = browser_page.context.new_page()  # the shopper comes back to the check's page later
    later.goto(carry_on)
    later.wait_for_url(at("/checkout/"))
    assert later.locator("#card-error").inner_text().startswith(
        "Your bank's check was not finished while we held your items, so nothing was charged.")
    assert "1 × Organic Tee" in later.get_by_role("complementary", name="Your order").inner_text()
    screens.take(later, "back after the hold lapsed")
    assert not Order.objects.exists()


def test_a_declined_card_is_refused_next_to_the_card_field_and_nothing_is_held(
        browser_page, screens, store, stripe_double):
    tee, _, _ = stock_the_shop(store=store)
    page = browser_page
    check_out_for_pickup(page, screens, store)
    pay_with(page, DECLINED_CARD)

    card_error = page.locator("#card-error")
    card_error.wait_for()
    assert card_error.inner_text() == "Your card was declined."
    assert page.locator("#card").get_attribute("aria-invalid") == "true"
    assert page.title().startswith("Checkout")
    assert page.get_by_label("Email for the confirmation").input_value() == "ada@example.com"
    take_at_both_widths(page, screens, "card declined")
    assert not Order.objects.exists()
    assert nothing_held(store, tee)
    assert not CheckoutAttempt.objects.exists()
    assert [(line.variant, line.quantity) for line in open_basket().lines.all()] == [(tee, 1)]
