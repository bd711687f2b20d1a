"""Receiving returns at a store's desk (/admin/returns/desk/) and through return_receive, as a store assistant
and a shopper notice it: each unit booked by its condition at the receiving store only, one refund of the
previewed amount at the Stripe double (or in cash, or on the terminal), the order found by any key, every
refusal said next to its field with nothing changed, and the same form sent twice received once."""
import html
import re
import threading
from collections.abc import Callable
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.http import urlencode

from backoffice.roles import PICKUP_STAFF, STORE_STAFF, role_assign
from fulfillment.models import Fulfillment, Return
from fulfillment.services import (
    ReceivedUnits,
    pickup_qr_token,
    return_receive,
    return_refund_preview,
    returns_refund_due,
)
from inventory.models import StockLevel
from notifications.models import OutboxMessage
from orders.models import Order, Payment, Refund, Voucher
from tests.browser.conftest import CHROMIUM
from tests.browser.shop import store_staff
from tests.browser.test_every_page_on_a_phone import PHONE, PROBLEMS
from tests.customers.conftest import register
from tests.factories import UserFactory
from tests.fulfillment.test_ship_and_returns import (  # noqa: F401  (phone and no_stripe are fixtures)
    no_stripe,
    phone,
    place,
    shipped_order,
    till_sale,
)
from tests.journeys.test_pickup_and_returns import staff_of

pytestmark = pytest.mark.django_db

DESK = "/admin/returns/desk/"


def refunds_at_stripe(stripe_double, order: Order) -> list[int]:
    intent = Payment.objects.get(order=order).stripe_payment_intent
    return [r.amount for r in stripe_double.v1.refunds.list(params={"payment_intent": intent}).data]


def buckets(location, variant) -> tuple[int, int, int]:
    """(on hand, unavailable, available) of a variant at a location; zeros where it never was."""
    found = StockLevel.objects.filter(location=location, variant=variant).first()
    return (found.on_hand, found.unavailable, found.available) if found else (0, 0, 0)


def one_resellable_one_damaged(order: Order) -> list[ReceivedUnits]:
    line = order.lines.get(sku="TEE-NAVY-M").pk
    return [ReceivedUnits(line_id=line, quantity=1, condition="resellable", reason="Too small"),
            ReceivedUnits(line_id=line, quantity=1, condition="damaged", reason="Seam split")]


def desk_user(*stores, username="desk", role=STORE_STAFF) -> Client:
    client = Client()
    client.force_login(role_assign(user=UserFactory(username=username), role=role, stores=stores))
    return client


class DeskForm(HTMLParser):
    """The fields of the desk's form (#desk-form) as a browser would send them."""

    def __init__(self, page: str):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.units: list[str] = []  # the form prefix of each unit row, in page order
        self._inside, self._select = False, None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._inside = attrs.get("id") == "desk-form"
        if not self._inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") != "checkbox":
            self.fields[name] = attrs.get("value") or ""
            if name.endswith("-line"):
                self.units.append(name.removesuffix("-line"))
        elif tag == "input" and name and "checked" in attrs:
            self.fields[name] = "on"
        elif tag == "select":
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.fields[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._inside = False
        elif tag == "select":
            self._select = None


def tick(form: DeskForm, line_id: int, *units: tuple[str, str]) -> dict:
    """The form with the first units of a line ticked as (condition, reason), the line's other units not."""
    data = dict(form.fields)
    rows = [prefix for prefix in form.units if data[f"{prefix}-line"] == str(line_id)]
    for prefix in rows:
        data.pop(f"{prefix}-returning", None)
    for prefix, (condition, reason) in zip(rows, units):
        data.update({f"{prefix}-returning": "on", f"{prefix}-condition": condition, f"{prefix}-reason": reason})
    return data


def text(response) -> str:
    """What the page says: its words without the markup, spaces folded."""
    page = re.sub(r"<(style|script)\b.*?</\1>|<[^>]+>", " ", response.content.decode(), flags=re.S)
    return " ".join(html.unescape(page).split())


def desk_preview(client: Client, query: str, line_id: int, *units: tuple[str, str]):
    """Search at the desk's store, tick the units as (condition, reason), preview: the preview page."""
    found = client.get(DESK, {"q": query})
    assert found.status_code == 200, text(found)
    previewed = client.post(DESK, {**tick(DeskForm(found.content.decode()), line_id, *units), "action": "preview"})
    assert previewed.status_code == 200, text(previewed)
    return previewed


def sent_on(page, action: str) -> dict:
    """What the page's form sends when its `action` button is pressed."""
    return {**DeskForm(page.content.decode()).fields, "action": action}


def desk_receive(client: Client, query: str, line_id: int, *units: tuple[str, str]):
    """Search, tick the units, preview, confirm: (the preview page, the result page)."""
    previewed = desk_preview(client, query, line_id, *units)
    confirmed = client.post(DESK, sent_on(previewed, "confirm"))
    assert confirmed.status_code == 302, text(confirmed)
    return previewed, client.get(confirmed["Location"])


# The service ------------------------------------------------------------------------------------


def test_two_units_of_one_line_come_back_one_on_sale_and_one_held_as_damaged(shelf, store, other_store, phone,
                                                                               stripe_double):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))  # 2 tees at 20.00 and delivery at 3.95

    received = return_receive(order=order, location=other_store, received=one_resellable_one_damaged(order))

    assert buckets(other_store, tee) == (2, 1, 1)  # +1 on sale, +1 on hand but off sale
    assert buckets(store, tee) == (8, 0, 8)  # the sending store is not touched
    assert refunds_at_stripe(stripe_double, order) == [4395]  # both tees, and the delivery: the whole order is back
    assert (received.refund_amount, received.refund_delivery_amount, received.refund_method) == (
        Decimal("43.95"), Decimal("3.95"), "card")
    assert list(received.lines.values_list("quantity", "condition", "reason")) == [
        (1, "resellable", "Too small"), (1, "damaged", "Seam split")]
    assert order.lines.get().quantity_returned == 2


def test_the_preview_prices_the_units_exactly_as_the_refund_and_writes_nothing(shelf, store, phone, stripe_double):
    Voucher.objects.create(code="TENOFF", kind="fixed", value=Decimal("10.00"))
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 3), fulfilment="pickup", store=store.code, voucher="TENOFF")
    order = Order.objects.get(number=placed["number"])
    pickup = order.fulfillments.get()
    staff = staff_of(store)
    staff.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/")
    staff.post(f"/api/v1/staff/fulfillments/{pickup.pk}/ready/")
    pickup.refresh_from_db()
    staff.post("/api/v1/staff/pickups/collect/", {"store": store.code, "code": pickup.pickup_code}, format="json")
    tees = order.lines.get()
    units = [ReceivedUnits(line_id=tees.pk, quantity=1, condition="resellable"),
             ReceivedUnits(line_id=tees.pk, quantity=1, condition="damaged")]

    preview = return_refund_preview(order=order, received=units)
    nothing_written = (Return.objects.count(), Refund.objects.count(), buckets(store, tees.variant))
    received = return_receive(order=order, location=store, received=units)

    assert nothing_written == (0, 0, (7, 0, 7))  # three of the ten tees were collected
    assert [u.amount for u in preview.units] == [Decimal("16.67"), Decimal("16.66")]  # 50.00 for three tees
    assert preview.amount == received.refund_amount == Decimal("33.33")
    assert preview.tax_amount == received.refund_tax_amount
    assert refunds_at_stripe(stripe_double, order) == [3333]


# The desk page ----------------------------------------------------------------------------------


def test_the_desk_receives_one_unit_on_sale_and_one_damaged_and_refunds_the_previewed_amount_once(
    shelf, store, other_store, phone, stripe_double,
):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))
    manchester = desk_user(other_store)

    previewed, result = desk_receive(manchester, order.number.lower(), order.lines.get().pk,
                                     ("resellable", "Too small"), ("damaged", "Seam split"))

    preview = text(previewed)
    assert "Tee" in preview and preview.count("£20.00") >= 2 and "£3.33" in preview  # each unit, VAT inside
    assert "Delivery: the whole order is now back £3.95" in preview
    assert "£43.95 back to the card it was paid with" in preview
    page = text(result)
    code = Return.objects.get(order=order).code
    assert f"Return {code} received" in page
    assert "£43.95 back to the card it was paid with." in page
    assert "1 × TEE-NAVY-M back on sale at Manchester Arndale" in page
    assert "1 × TEE-NAVY-M held as damaged at Manchester Arndale" in page
    assert buckets(other_store, tee) == (2, 1, 1) and buckets(store, tee) == (8, 0, 8)
    assert refunds_at_stripe(stripe_double, order) == [4395]


def asked_back(phone, stripe_double, store, units: int) -> tuple[Order, str]:
    """Ada's order of two tees, shipped from the store, with `units` of them asked back online ("too small"):
    the order and its return code."""
    order = shipped_order(phone, stripe_double, staff_of(store))
    asked = phone.post(f"/api/v1/orders/{order.number}/returns/", {"lines": [
        {"id": order.lines.get().pk, "quantity": units, "reason": "too small"}]}, format="json")
    assert asked.status_code == 201, asked.json()
    return order, asked.json()["code"]


def test_a_return_requested_online_opens_ticked_with_its_reasons_and_keeps_them(shelf, store, other_store, phone,
                                                                                stripe_double):
    tee, _ = shelf
    order, code = asked_back(phone, stripe_double, store, 1)
    manchester = desk_user(other_store)

    opened = manchester.get(DESK, {"q": f"  {code.lower()} "})  # as the scan station sends a typed code
    form = DeskForm(opened.content.decode())
    confirmed = manchester.post(DESK, {**form.fields, "units-0-condition": "resellable", "action": "confirm"})
    result = text(manchester.get(confirmed["Location"]))

    assert f"Order {order.number} · return {code}" in text(opened)
    assert [form.fields.get(f"{p}-returning") for p in form.units] == ["on", None]  # one of two units asked back
    assert form.fields[f"{form.units[0]}-reason"] == "too small"
    assert f"Return {code} received" in result and "£20.00 back to the card it was paid with." in result
    assert "1 × TEE-NAVY-M back on sale at Manchester Arndale" in result
    assert list(Return.objects.get(code=code).lines.values_list("quantity", "condition", "reason")) == [
        (1, "resellable", "too small")]
    assert buckets(other_store, tee) == (1, 0, 1)
    assert refunds_at_stripe(stripe_double, order) == [2000]
    again = text(manchester.get(DESK, {"q": code}))
    assert f"Return {code} (order {order.number}) was already received at Manchester Arndale" in again


def test_the_same_form_sent_twice_receives_and_refunds_once(shelf, store, other_store, phone, stripe_double):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))
    manchester = desk_user(other_store)
    confirm = sent_on(desk_preview(manchester, order.number, order.lines.get().pk, ("resellable", "")), "confirm")

    first, second = manchester.post(DESK, confirm), manchester.post(DESK, confirm)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]  # the second answer is the first return
    assert Return.objects.filter(order=order).count() == 1
    assert refunds_at_stripe(stripe_double, order) == [2000]
    assert buckets(other_store, tee) == (1, 0, 1)
    assert order.lines.get().quantity_returned == 1


def test_a_cash_till_sale_is_refunded_in_cash_from_the_till_without_stripe(shelf, store, no_stripe):
    tee, _ = shelf
    register("ada@example.com", "Ada")
    sale = till_sale(staff_of(store), store, ("TEE-NAVY-M", 2), customer_email="ada@example.com")

    previewed, result = desk_receive(desk_user(store), sale.number, sale.lines.get().pk, ("resellable", ""))

    assert "£20.00 in cash from the till" in text(previewed)
    assert "£20.00 in cash from the till." in text(result)
    payment = Payment.objects.get(order=sale)
    assert (payment.refunded_amount, Refund.objects.get(payment=payment).stripe_refund) == (Decimal("20.00"), "")
    assert Return.objects.get(order=sale).refund_method == "cash"
    assert no_stripe == [] and buckets(store, tee) == (9, 0, 9)
    told = OutboxMessage.objects.filter(template="return_refunded",
                                        reference=f"return:{Return.objects.get(order=sale).code}")
    assert [m.body.splitlines()[2] for m in told if m.medium == "email"] == [
        "We received your return at London Oxford Street. £20.00 was given back to you in cash."]


def test_a_card_sale_at_the_till_goes_back_to_the_card_on_the_terminal_without_stripe(shelf, store, no_stripe):
    sale = till_sale(staff_of(store), store, ("TEE-NAVY-M", 1), payment_method="card_present")

    previewed, result = desk_receive(desk_user(store), sale.number, sale.lines.get().pk, ("damaged", ""))

    assert "£20.00 back to the card on the terminal" in text(previewed)
    assert "1 × TEE-NAVY-M held as damaged at London Oxford Street" in text(result)
    assert Payment.objects.get(order=sale).refunded_amount == Decimal("20.00")
    assert no_stripe == []


def test_changing_the_units_after_the_preview_keeps_the_choices_and_changes_nothing(shelf, store, no_stripe):
    sale = till_sale(staff_of(store), store, ("TEE-NAVY-M", 2))
    desk = desk_user(store)
    previewed = desk_preview(desk, sale.number, sale.lines.get().pk, ("damaged", "Stained"))

    changing = desk.post(DESK, sent_on(previewed, "edit"))

    form = DeskForm(changing.content.decode())
    first = form.units[0]
    assert (form.fields.get(f"{first}-returning"), form.fields[f"{first}-condition"],
            form.fields[f"{first}-reason"]) == ("on", "damaged", "Stained")
    assert "Preview refund" in text(changing) and not Return.objects.exists()


def test_when_the_card_provider_does_not_answer_the_goods_are_in_and_the_refund_is_owed_once(
    shelf, store, phone, stripe_double, settings,
):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))
    desk = desk_user(store)
    previewed = desk_preview(desk, order.number, order.lines.get().pk, ("resellable", ""))
    reachable, settings.STRIPE_API_BASE = settings.STRIPE_API_BASE, "http://127.0.0.1:1"  # nothing listens there
    try:
        confirmed = desk.post(DESK, sent_on(previewed, "confirm"))
    finally:
        settings.STRIPE_API_BASE = reachable

    page = text(desk.get(confirmed["Location"]))
    assert "£20.00 is still owed back to the card it was paid with" in page
    assert buckets(store, tee) == (9, 0, 9) and refunds_at_stripe(stripe_double, order) == []
    assert (returns_refund_due(), returns_refund_due()) == (1, 0)
    assert refunds_at_stripe(stripe_double, order) == [2000]


# Finding the order ------------------------------------------------------------------------------


@pytest.fixture
def collected_pickup(shelf, store, phone, stripe_double) -> Fulfillment:
    """Ada's click-and-collect order of two tees, collected (its pickup code and QR still name it)."""
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 2), fulfilment="pickup", store=store.code)
    pickup = Fulfillment.objects.get(order__number=placed["number"])
    staff = staff_of(store, username="counter")
    staff.post(f"/api/v1/staff/fulfillments/{pickup.pk}/pick/")
    staff.post(f"/api/v1/staff/fulfillments/{pickup.pk}/ready/")
    pickup.refresh_from_db()
    staff.post("/api/v1/staff/pickups/collect/", {"store": store.code, "code": pickup.pickup_code}, format="json")
    pickup.refresh_from_db()
    return pickup


def test_the_order_is_found_by_number_email_phone_pickup_code_or_scanned_qr_in_any_case(collected_pickup, store):
    order = collected_pickup.order
    order.customer.phone = "+447700900123"
    order.customer.save(update_fields=["phone"])
    desk = desk_user(store)

    for typed in (f" {order.number.lower()} ", "ADA@Example.com", "07700 900123", "+447700900123",
                  collected_pickup.pickup_code.lower(), pickup_qr_token(collected_pickup)):
        page = text(desk.get(DESK, {"q": typed}))
        assert f"Order {order.number}" in page and "2 can come back" in page, typed


def test_an_email_with_several_orders_lists_them_to_choose_from(shelf, store, phone, stripe_double):
    numbers = [place(phone, stripe_double, ("TEE-NAVY-M", 1), fulfilment="pickup", store=store.code)["number"]
               for _ in range(3)]
    total = Order.objects.get(number=numbers[0]).total_amount

    page = text(desk_user(store).get(DESK, {"q": "ada@example.com"}))

    assert "3 orders match “ada@example.com”: choose one" in page
    for number in numbers:
        placed_at = timezone.localtime(Order.objects.get(number=number).placed_at)
        assert f"{number} {placed_at:%-d %b %Y, %H:%M} Mobile app Placed £{total}" in page


def test_a_search_that_finds_nothing_says_what_was_searched(store):
    response = desk_user(store).get(DESK, {"q": "rt-nope"})

    assert "Nothing matches “rt-nope”" in text(response)


# Refusals ---------------------------------------------------------------------------------------


def test_an_order_with_nothing_to_return_says_why_and_offers_no_form(shelf, store, phone, stripe_double):
    placed = place(phone, stripe_double, ("TEE-NAVY-M", 2), fulfilment="pickup", store=store.code)

    page = text(desk_user(store).get(DESK, {"q": placed["number"]}))

    assert f"Nothing on order {placed['number']} can come back. TEE-NAVY-M" in page
    assert "not sent or collected yet" in page and "Preview refund" not in page


def test_a_ticked_unit_without_a_condition_is_refused_next_to_it_and_nothing_changes(shelf, store, other_store,
                                                                                     phone, stripe_double):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))
    desk = desk_user(other_store)
    found = desk.get(DESK, {"q": order.number})

    refused = desk.post(DESK, {**tick(DeskForm(found.content.decode()), order.lines.get().pk, ("", "")),
                               "action": "confirm"})

    assert refused.status_code == 422
    assert "Say whether it is resellable or damaged." in text(refused)
    assert not Return.objects.exists() and buckets(other_store, tee) == (0, 0, 0)
    assert refunds_at_stripe(stripe_double, order) == []


def test_units_received_elsewhere_meanwhile_are_refused_next_to_their_line(shelf, store, other_store, phone,
                                                                            stripe_double):
    order = shipped_order(phone, stripe_double, staff_of(store))
    line = order.lines.get().pk
    desk = desk_user(other_store)
    previewed = desk_preview(desk, order.number, line, ("resellable", ""), ("resellable", ""))
    return_receive(order=order, location=store, received=[ReceivedUnits(line_id=line, quantity=1,
                                                                         condition="resellable")])

    refused = desk.post(DESK, sent_on(previewed, "confirm"))

    assert refused.status_code == 422
    assert "TEE-NAVY-M: 1 can be returned, not 2." in text(refused)
    assert Return.objects.filter(order=order).count() == 1
    assert refunds_at_stripe(stripe_double, order) == [2000]  # only the unit received in London


def test_a_role_without_the_returns_permission_gets_403(store):
    assert desk_user(store, role=PICKUP_STAFF).get(DESK).status_code == 403


def test_a_store_that_does_not_take_returns_is_not_offered(store, other_store):
    store.accepts_returns = False
    store.save(update_fields=["accepts_returns"])

    only_there = desk_user(store)
    both = desk_user(store, other_store, username="both")

    refused = only_there.get(DESK)
    assert refused.status_code == 403
    assert "None of the stores you work at takes returns." in text(refused)
    page = both.get(DESK, {"store": store.code})
    assert f"You cannot take returns at {store.code} here: choose one of your stores." in text(page)
    assert 'value="LDN-OXF"' not in page.content.decode() and 'value="MAN-ARN"' in page.content.decode()


def test_another_stores_desk_is_not_offered_and_nothing_is_received_there(shelf, store, other_store, phone,
                                                                         stripe_double):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))
    london = desk_user(store)
    found = london.get(DESK, {"q": order.number})

    elsewhere = london.get(DESK, {"store": other_store.code, "q": order.number})
    posted = london.post(DESK, {**tick(DeskForm(found.content.decode()), order.lines.get().pk, ("resellable", "")),
                                "store": other_store.code, "action": "confirm"})

    assert "You cannot take returns at MAN-ARN here" in text(elsewhere)
    assert "Manchester Arndale" not in text(elsewhere)
    assert posted.status_code == 422 and "You cannot take returns at MAN-ARN here" in text(posted)
    assert not Return.objects.exists() and buckets(other_store, tee) == (0, 0, 0)


def test_the_desk_remembers_the_store_chosen(store, other_store):
    desk = desk_user(store, other_store)

    first = text(desk.get(DESK))
    desk.get(DESK, {"store": other_store.code})
    later = desk.get(DESK)

    assert "Choose the store this desk is in." in first
    assert later.context["store"] == other_store


# On a phone and a desktop screen ----------------------------------------------------------------


def in_a_browser_of_its_own(steps: Callable[[object], None]) -> None:
    """Run steps(browser) against a Chromium started in a thread of its own: Playwright's sync API allows one
    instance per thread, and the browser tests' session-wide one may already hold this thread."""
    failed: list[BaseException] = []

    def run() -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
                steps(browser)
                browser.close()
        except BaseException as exc:  # re-raised in the test's own thread
            failed.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the browser hung"
    if failed:
        raise failed[0]


def signed_in(browser, live_server, screen: dict, username: str, password: str, path: str):
    phone_like = screen["width"] < 768
    page = browser.new_context(base_url=live_server.url, viewport=screen, is_mobile=phone_like, has_touch=phone_like,
                               locale="en-GB").new_page()
    page.goto(f"/admin/login/?{urlencode({'next': path})}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{DESK}**")
    return page


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"needs Chromium at {CHROMIUM}: apt-get install chromium")
@pytest.mark.django_db(transaction=True)
def test_the_desk_fits_a_phone_and_a_desktop_screen_and_works_by_touch(live_server, shelf, store, phone,
                                                                       stripe_double):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))
    staff, password = store_staff(store=store)
    path = f"{DESK}?q={order.number}"

    def at_the_desk(browser) -> None:
        for screen in (PHONE, {"width": 1280, "height": 900}):
            page = signed_in(browser, live_server, screen, staff.username, password, path)
            assert page.evaluate(PROBLEMS, screen["width"]) == [], screen
            page.context.close()
        page = signed_in(browser, live_server, PHONE, staff.username, password, path)
        page.get_by_label("Returning").first.check()
        page.get_by_label("Condition of TEE-NAVY-M, unit 1").select_option("damaged")
        page.get_by_label("Reason for TEE-NAVY-M, unit 1").fill("Seam split")
        page.get_by_role("button", name="Preview refund").click()
        page.get_by_text("£20.00 back to the card it was paid with").wait_for()
        assert page.evaluate(PROBLEMS, PHONE["width"]) == []
        page.get_by_role("button", name="Confirm and refund £20.00").click()
        page.get_by_text("1 × TEE-NAVY-M held as damaged at London Oxford Street").wait_for()
        assert page.evaluate(PROBLEMS, PHONE["width"]) == []

    in_a_browser_of_its_own(at_the_desk)

    assert buckets(store, tee) == (9, 1, 8) and refunds_at_stripe(stripe_double, order) == [2000]
