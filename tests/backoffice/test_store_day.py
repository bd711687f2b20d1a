"""A store's day in the back office, as staff see it through the pages: the store home with its queues and
one-click steps, a fulfilment's page with its next step as a button (pack with a tracking number, ship, cancel
a line), the counter that finds an order by name, email, phone or number, the pick list's "all picked", the
order page as a summary, the product list with price and stock, and internal tables kept for superusers."""
import html
import re

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client

from backoffice.roles import MERCHANDISER, PICKUP_STAFF, STORE_MANAGER, STORE_STAFF, role_assign
from fulfillment.models import Fulfillment
from inventory import services as stock
from inventory.models import StockLevel
from notifications.delivery import messages_deliver_pending
from orders.models import Order, Payment
from tests.customers.conftest import app_client, register
from tests.factories import UserFactory
from tests.fulfillment.test_ship_and_returns import NEAR_LONDON
from tests.fulfillment.test_station import pickup_order, ready
from tests.journeys.test_pickup_and_returns import order_from_the_app

pytestmark = pytest.mark.django_db
STEP = "/admin/fulfillment/fulfillment/{pk}/step/{step}/"


def signed_in(role: str, *stores, username: str = "sam") -> Client:
    client = Client()
    client.force_login(role_assign(user=UserFactory(username=username), role=role, stores=stores))
    return client


def text(response) -> str:
    """The page as a person reads it: tags gone, white space folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def delivery_order(stripe_double) -> Fulfillment:
    placed = order_from_the_app(app_client(register("grace@example.com", "Grace")), stripe_double,
                                fulfilment="delivery", delivery_method="standard", address=NEAR_LONDON)
    return Fulfillment.objects.get(order__number=placed["number"])


# The store home ------------------------------------------------------------------------------------


def test_store_roles_land_on_the_store_home_and_head_office_on_the_index(store):
    staff, merch = signed_in(STORE_STAFF, store), signed_in(MERCHANDISER, username="mo")

    assert staff.get("/admin/")["Location"] == "/admin/store/"
    assert merch.get("/admin/").status_code == 200
    home = staff.get("/admin/store/")
    assert home.status_code == 200
    assert "Hearth & Thread back office" in text(home) and "Django administration" not in text(home)
    for tool in ("Till", "Pickup counter", "Pick list", "Returns desk"):
        assert tool in text(home)


def test_the_store_home_marks_a_pickup_ready_in_one_click_and_tells_the_shopper(shelf, store, stripe_double):
    pickup = pickup_order(stripe_double, store)
    staff = signed_in(STORE_STAFF, store)
    home = staff.get("/admin/store/")
    assert re.search(r"1 To pick", text(home))
    button = re.search(rf'action="({re.escape(STEP.format(pk=pickup.pk, step="ready"))})".*?<button[^>]*>([^<]+)<',
                       home.content.decode(), re.S)
    assert button and button.group(2) == "Picked: mark ready for pickup"

    pressed = staff.post(button.group(1), {"next": "/admin/store/"})  # the one click

    assert pressed["Location"] == "/admin/store/"
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY and pickup.pickup_code
    after = text(staff.get("/admin/store/"))
    assert f"ready for pickup with code {pickup.pickup_code}; the shopper is told." in after
    assert re.search(rf"Ready and waiting \(1\).*{pickup.order.number}", after)
    messages_deliver_pending()
    assert any(pickup.pickup_code in m.body for m in mail.outbox if "ready to collect" in m.subject)


def test_pickup_staff_see_the_waiting_list_but_no_step_buttons(shelf, store, stripe_double):
    pickup = ready(pickup_order(stripe_double, store), store)
    counter = signed_in(PICKUP_STAFF, store)

    home = counter.get("/admin/store/")

    assert pickup.order.number in text(home) and "Hand over" in text(home)
    assert "/step/" not in home.content.decode()
    assert counter.post(STEP.format(pk=pickup.pk, step="pick")).status_code in (302, 403)
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY


# The fulfilment page ---------------------------------------------------------------------------------


def test_packing_needs_a_tracking_number_then_shipping_takes_the_stock_and_the_money(shelf, store, stripe_double):
    tee, _ = shelf
    parcel = delivery_order(stripe_double)
    staff = signed_in(STORE_STAFF, store)
    page = f"/admin/fulfillment/fulfillment/{parcel.pk}/change/"
    staff.post(STEP.format(pk=parcel.pk, step="pick"))
    assert 'name="tracking_number"' in staff.get(page).content.decode()

    refused = staff.post(STEP.format(pk=parcel.pk, step="pack"), {"carrier": "Royal Mail", "tracking_number": " "},
                         follow=True)
    parcel.refresh_from_db()
    assert parcel.status == Fulfillment.Status.PICKING
    assert "Give the parcel's tracking number." in text(refused)

    staff.post(STEP.format(pk=parcel.pk, step="pack"), {"carrier": "DPD", "tracking_number": "15501234567890"})
    shipped = staff.post(STEP.format(pk=parcel.pk, step="ship"), follow=True)

    parcel.refresh_from_db()
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == ("shipped", "DPD", "15501234567890")
    assert "shipped; the shopper is told and the payment taken." in text(shipped)
    assert StockLevel.objects.get(location=store, variant=tee).on_hand == 8
    assert Payment.objects.get(order=parcel.order).status == Payment.Status.CAPTURED
    assert "Mark delivered" in text(staff.get(page))


def test_a_line_the_store_cannot_send_is_cancelled_from_the_page_and_never_charged(shelf, store, stripe_double):
    tee, _ = shelf
    pickup = pickup_order(stripe_double, store)
    line = pickup.order.lines.get()
    staff = signed_in(STORE_STAFF, store)

    too_many = staff.post(STEP.format(pk=pickup.pk, step="cancel-line"), {"line": line.pk, "units": 5}, follow=True)
    assert "TEE-NAVY-M: cancel between 1 and 2 unit(s)." in text(too_many)
    staff.post(STEP.format(pk=pickup.pk, step="cancel-line"), {"line": line.pk, "units": 1})

    line.refresh_from_db()
    assert line.quantity_cancelled == 1
    assert StockLevel.objects.get(location=store, variant=tee).committed == 1
    staff.post(STEP.format(pk=pickup.pk, step="ready"))
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY


def test_the_fulfilment_list_and_history_speak_in_words(shelf, store, stripe_double):
    pickup = ready(pickup_order(stripe_double, store), store)
    staff = signed_in(STORE_STAFF, store)

    listing = text(staff.get("/admin/fulfillment/fulfillment/"))
    page = text(staff.get(f"/admin/fulfillment/fulfillment/{pickup.pk}/change/"))

    assert "Ready for pickup" in listing and "ready_for_pickup" not in listing
    assert "Picking → Ready for pickup" in page and "ready_for_pickup" not in page


# The counter -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["ada lovelace", "ADA@example.com", "07700 900123", "{number}", "Lovelace"])
def test_the_counter_finds_a_pickup_by_name_email_phone_or_number_and_hands_it_over(shelf, store, stripe_double,
                                                                                   typed):
    ada = register("ada@example.com", "Ada")
    ada.last_name, ada.phone = "Lovelace", "+447700900123"
    ada.save()
    placed = order_from_the_app(app_client(ada), stripe_double, fulfilment="pickup", store=store.code,
                                phone="+44 7700 900123")
    pickup = ready(Fulfillment.objects.get(order__number=placed["number"]), store)
    counter = signed_in(PICKUP_STAFF, store)

    found = counter.post("/scan/", {"code": typed.format(number=placed["number"].lower())})

    assert found.status_code == 200, text(found)
    assert f"Order {pickup.order.number}" in text(found) and "Who may collect" in text(found)
    handed = counter.post("/scan/", {"store": store.code, "fulfillment": pickup.pk, "action": "hand_over"})
    assert handed.status_code == 302
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.COLLECTED


def test_the_counter_lists_who_is_waiting_and_says_when_nothing_matches(shelf, store, stripe_double):
    first = ready(pickup_order(stripe_double, store), store)
    counter = signed_in(PICKUP_STAFF, store)

    page = text(counter.get("/scan/"))
    missing = counter.post("/scan/", {"code": "Nobody Here"})

    assert re.search(rf"Waiting at this counter \(1\).*{first.order.number}", page)
    assert missing.status_code == 409
    assert f"No pickup at {store.name} matches “Nobody Here”. Try the pickup code" in text(missing)


def test_a_return_code_typed_at_the_counter_opens_the_returns_desk(store):
    counter = signed_in(STORE_STAFF, store)

    sent = counter.post("/scan/", {"code": "rt7k2m9q"})

    assert sent.status_code == 302 and sent["Location"].startswith("/admin/returns/desk/")
    assert "q=rt7k2m9q" in sent["Location"]


# The pick list ---------------------------------------------------------------------------------------


def test_the_pick_list_has_a_tick_per_line_and_marks_an_order_ready_when_all_is_picked(shelf, store, stripe_double):
    pickup = pickup_order(stripe_double, store)
    staff = signed_in(STORE_STAFF, store)
    url = f"/scan/pick-list/{store.code}/"

    page = staff.get(url).content.decode()
    assert re.search(r'<input type="checkbox" class="pick-tick"[^>]*aria-label="Picked 2 × [^"]+ for '
                     + pickup.order.number, page)
    assert "All picked: mark ready" in page
    done = staff.post(STEP.format(pk=pickup.pk, step="ready"), {"next": url})

    assert done["Location"] == url
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY
    assert "Nothing to pick." in staff.get(url).content.decode()


# The order page, products and what head office sees ------------------------------------------------------


def test_the_order_page_is_a_summary_with_money_in_pounds_and_its_fulfilments(shelf, store, stripe_double):
    pickup = pickup_order(stripe_double, store)
    manager = signed_in(STORE_MANAGER, store)

    page = text(manager.get(f"/admin/orders/order/{pickup.order.pk}/change/"))
    listing = text(manager.get("/admin/orders/order/"))

    assert "Total £40.00" in page and "VAT inside £6.67" in page
    assert "Card (online): Authorised" in page
    assert "Pickup in store" in page and "New" in page  # its fulfilment, by status
    assert "£40.00" in listing and " 40.00 " not in f" {listing} "


def test_cancelling_from_the_order_page_releases_the_stock_and_voids_the_card(shelf, store, stripe_double):
    tee, _ = shelf
    pickup = pickup_order(stripe_double, store)
    manager = signed_in(STORE_MANAGER, store)

    done = manager.post(f"/admin/orders/order/{pickup.order.pk}/cancel/", follow=True)

    assert "cancelled: what had not been sent will not be charged." in text(done)
    assert Order.objects.get(pk=pickup.order.pk).status == Order.Status.CANCELLED
    assert StockLevel.objects.get(location=store, variant=tee).committed == 0
    assert Payment.objects.get(order=pickup.order).status == Payment.Status.VOIDED


def test_the_product_list_shows_price_and_stock_and_the_page_a_grid_by_store(shelf, store, other_store):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=4)
    merch = signed_in(MERCHANDISER, username="mo")

    listing = text(merch.get("/admin/catalog/product/", {"q": "TEE-NAVY-M"}))
    page = merch.get(f"/admin/catalog/product/{tee.product.pk}/change/").content.decode()

    assert re.search(r"£20\.00 14 ", listing)  # price, then available across both stores
    grid = re.search(r'<table class="stock-grid">.*?</table>', page, re.S).group(0)
    assert re.findall(r">([A-Z]{3}-[A-Z]{3})<", grid) == ["LDN-OXF", "MAN-ARN"]
    assert re.search(r"TEE-NAVY-M</a></th><td>10</td><td>4</td>", grid)


def test_internal_tables_are_for_superusers_only(store):
    """Even a member of staff granted their view permissions does not see them; a superuser does."""
    operator = UserFactory(username="ops", is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(
        codename__in=["view_tokenproxy", "view_clockedschedule", "view_solarschedule", "view_stripeevent"]))
    head_office, root = Client(), Client()
    head_office.force_login(operator)
    root.force_login(UserFactory(username="root", is_superuser=True))

    for url in ("/admin/authtoken/tokenproxy/", "/admin/django_celery_beat/clockedschedule/",
                "/admin/django_celery_beat/solarschedule/", "/admin/orders/stripeevent/"):
        assert head_office.get(url).status_code == 403, url
        assert root.get(url).status_code == 200, url
    assert "Stripe events" not in text(head_office.get("/admin/"))
