"""The staff pages as a browser sees them: the scan station at /scan/ (find, hand over, refuse), the
printable pick list, and the fulfilment back office showing only the user's own stores."""
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from catalog.models import Channel
from fulfillment.models import Fulfillment
from inventory import services as stock
from inventory.models import StockLevel
from orders.models import Order
from tests.customers.conftest import app_client, register
from tests.factories import CategoryFactory, PriceFactory, ProductFactory, UserFactory, VariantFactory
from tests.journeys.test_pickup_and_returns import order_from_the_app, staff_of

pytestmark = pytest.mark.django_db


def browser_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def counter_at(*stores, username="sam") -> Client:
    user = UserFactory(username=username)
    user.user_permissions.add(Permission.objects.get(codename="use_scan_station"))
    for store in stores:
        store.staff.add(user)
    return browser_of(user)


def pickup_order(stripe_double, store, email="ada@example.com", first_name="Ada") -> Fulfillment:
    order = order_from_the_app(app_client(register(email, first_name)), stripe_double, fulfilment="pickup",
                               store=store.code)
    return Fulfillment.objects.get(order__number=order["number"])


def ready(fulfillment: Fulfillment, store) -> Fulfillment:
    api = staff_of(store, username="picker")
    api.post(f"/api/v1/staff/fulfillments/{fulfillment.pk}/pick/")
    api.post(f"/api/v1/staff/fulfillments/{fulfillment.pk}/ready/")
    fulfillment.refresh_from_db()
    return fulfillment


def pick_rows(table: str) -> list[tuple[str, str, str]]:
    """(SKU, quantity, order) of each row of a pick list table."""
    return re.findall(r"<td>([^<]+)</td><td>[^<]+</td><td>(\d+)</td><td>(\w+)</td>", table)


def visible_inputs(html: str) -> list[str]:
    return [tag for tag in re.findall(r"<input\b[^>]*>", html) if 'type="hidden"' not in tag]


# The scan station -------------------------------------------------------------------------------


def test_the_scan_station_offers_one_labelled_input_with_the_cursor_in_it(store):
    page = counter_at(store).get("/scan/")

    assert page.status_code == 200
    html = page.content.decode()
    inputs = visible_inputs(html)
    assert len(inputs) == 1
    assert 'id="code"' in inputs[0] and "autofocus" in inputs[0]
    assert re.search(r'<label for="code">[^<]+</label>', html)
    assert "<select" not in html  # one store: nothing to choose


def test_scanning_a_code_shows_the_order_the_name_the_lines_and_a_hand_over_button(shelf, store, stripe_double):
    pickup = ready(pickup_order(stripe_double, store), store)

    page = counter_at(store).post("/scan/", {"code": pickup.pickup_code.lower()})

    assert page.status_code == 200
    html = page.content.decode()
    line = pickup.order.lines.get()
    assert f"Order {pickup.order.number}" in html
    assert "ada@example.com" in html and "Ada" in html
    assert re.search(rf"<td>{re.escape(line.name)}</td><td>TEE-NAVY-M</td><td>2</td>", html)
    assert re.search(r'<button type="submit" name="action" value="hand_over">Hand over order '
                     + pickup.order.number, html)
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY  # looking is not handing over


def test_handing_over_at_the_station_collects_the_order_and_says_so(shelf, store, stripe_double):
    tee, _ = shelf
    pickup = ready(pickup_order(stripe_double, store), store)
    counter = counter_at(store)

    handed = counter.post("/scan/", {"store": store.code, "code": pickup.pickup_code, "action": "hand_over"})

    assert handed.status_code == 302 and handed["Location"] == f"/scan/?store={store.code}"
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.COLLECTED
    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.on_hand, level.committed) == (8, 0)
    assert Order.objects.get(pk=pickup.order_id).payment.status == "captured"
    after = counter.get(handed["Location"]).content.decode()
    assert re.search(rf'<p class="success" role="status">Order {pickup.order.number} handed over\. Thank you!</p>',
                     after)


def test_a_wrong_code_is_refused_next_to_the_input_with_409_and_no_stack_trace(shelf, store, stripe_double):
    pickup = ready(pickup_order(stripe_double, store), store)
    wrong = "ZZZZ2222" if pickup.pickup_code != "ZZZZ2222" else "YYYY3333"

    page = counter_at(store).post("/scan/", {"code": wrong})

    assert page.status_code == 409
    html = page.content.decode()
    field = visible_inputs(html)[0]
    assert f'value="{wrong}"' in field and 'aria-invalid="true"' in field and 'aria-describedby="code-error"' in field
    error = re.search(r'<p class="error" id="code-error" role="alert">([^<]+)</p>', html)
    assert error and "No order has that pickup code" in error.group(1)
    assert html.index('id="code"') < error.start() < html.index("Find the order")  # right under the input
    assert "Traceback" not in html and "PickupRefused" not in html
    assert "hand_over" not in html
    pickup.refresh_from_db()
    assert pickup.status == Fulfillment.Status.READY


def test_a_user_who_is_not_staff_is_sent_to_the_admin_login(store):
    visitor = UserFactory(username="visitor", is_staff=False)
    store.staff.add(visitor)

    for client in (browser_of(visitor), Client()):
        for url in ("/scan/", f"/scan/pick-list/{store.code}/"):
            page = client.get(url)
            assert page.status_code == 302
            assert page["Location"].startswith("/admin/login/?next=")


# The pick list ----------------------------------------------------------------------------------


def test_the_pick_list_groups_lines_by_department_for_orders_still_to_pick_oldest_first(shelf, store,
                                                                                          stripe_double):
    scarf = VariantFactory(sku="SCARF-RED", product=ProductFactory(
        name="Wool Scarf", category=CategoryFactory(name="Accessories")))
    for channel in Channel.objects.all():
        PriceFactory(variant=scarf, channel=channel, amount="20.00")
    stock.stock_receive(location=store, variant=scarf, quantity=5)
    first = pickup_order(stripe_double, store)  # tees
    phone = app_client(register("grace@example.com", "Grace"))
    phone.post("/api/v1/cart/lines/", {"sku": "SCARF-RED", "quantity": 1}, format="json")
    second_number = order_from_the_app(phone, stripe_double, fulfilment="pickup", store=store.code)["number"]
    second = Fulfillment.objects.get(order__number=second_number)  # tees and a scarf, placed later...
    Order.objects.filter(pk=second.order_id).update(placed_at=timezone.now() - timedelta(days=1))  # ...but promised first
    staff_of(store, username="picker").post(f"/api/v1/staff/fulfillments/{second.pk}/pick/")
    done = ready(pickup_order(stripe_double, store, "lin@example.com", "Lin"), store)  # already picked

    page = counter_at(store).get(f"/scan/pick-list/{store.code}/")

    assert page.status_code == 200
    html = page.content.decode()
    departments = re.findall(r"<h2>([^<]+)</h2>", html)
    assert departments == ["Accessories", "Tops"]
    tables = dict(zip(departments, re.findall(r"<tbody>(.*?)</tbody>", html, re.S), strict=True))
    assert pick_rows(tables["Accessories"]) == [("SCARF-RED", "1", second.order.number)]
    assert pick_rows(tables["Tops"]) == [
        ("TEE-NAVY-M", "2", second.order.number), ("TEE-NAVY-M", "2", first.order.number)]
    assert done.order.number not in html
    assert "2 orders to pick, oldest first" in html


def test_the_pick_list_of_a_store_the_user_does_not_work_at_is_404(shelf, store, other_store, stripe_double):
    pickup_order(stripe_double, store)

    page = counter_at(other_store, username="mo").get(f"/scan/pick-list/{store.code}/")

    assert page.status_code == 404
    html = page.content.decode()
    assert f"You do not work at {store.code}." in html
    assert "TEE-NAVY-M" not in html


# The back office --------------------------------------------------------------------------------


def store_manager(store) -> Client:
    user = UserFactory(username="manager")
    store.staff.add(user)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label="fulfillment", codename__regex=r"^(view|change)_"))
    return browser_of(user)


def test_the_back_office_lists_only_the_fulfilments_of_the_users_own_store(shelf, store, other_store,
                                                                           stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    mine = pickup_order(stripe_double, store)
    theirs = pickup_order(stripe_double, other_store, "grace@example.com", "Grace")

    listing = store_manager(store).get("/admin/fulfillment/fulfillment/")
    found = store_manager(store).get("/admin/fulfillment/fulfillment/", {"q": theirs.order.number})
    opened = store_manager(store).get(f"/admin/fulfillment/fulfillment/{theirs.pk}/change/")
    own = store_manager(store).get(f"/admin/fulfillment/fulfillment/{mine.pk}/change/")

    assert listing.status_code == 200
    html = listing.content.decode()
    assert mine.order.number in html and theirs.order.number not in html
    assert "MAN-ARN" not in html  # not even in the location filter
    assert '0 results (<a href="?">1 total</a>)' in found.content.decode()  # the search finds nothing of theirs
    assert opened.status_code == 302  # "does not exist" for this user: back to the admin index
    assert own.status_code == 200
    assert "TEE-NAVY-M" in own.content.decode() and 'name="_save"' not in own.content.decode()  # read-only


def test_the_back_office_moves_a_fulfilment_only_through_its_actions(shelf, store, other_store, stripe_double):
    tee, _ = shelf
    stock.stock_receive(location=other_store, variant=tee, quantity=5)
    mine = pickup_order(stripe_double, store)
    theirs = pickup_order(stripe_double, other_store, "grace@example.com", "Grace")
    manager = store_manager(store)
    changelist = "/admin/fulfillment/fulfillment/"

    picking = manager.post(changelist, {"action": "start_picking", "_selected_action": [mine.pk, theirs.pk]},
                           follow=True)
    too_soon = manager.post(changelist, {"action": "mark_delivered", "_selected_action": [mine.pk]}, follow=True)
    readied = manager.post(changelist, {"action": "mark_ready", "_selected_action": [mine.pk]}, follow=True)
    edited = manager.post(f"{changelist}{mine.pk}/change/", {"status": "collected"})

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == (Fulfillment.Status.READY, Fulfillment.Status.NEW)
    assert f"{mine.order.number}: being picked." in picking.content.decode()
    assert re.search(rf"{mine.order.number}: [^<]* cannot go from Picking to Delivered\.", too_soon.content.decode())
    assert f"ready for pickup with code {mine.pickup_code}" in readied.content.decode()
    assert edited.status_code == 403
