"""The back office's working pages on a phone and on a 1280 px screen, in a real browser: the store home, a
fulfilment's page, an order's page, the returns desk, the fulfilment list, a transfer to receive at the
station, a store's page with its collection windows and the analytics fit the width (nothing scrolls
sideways), every input has a label, every button and link a name, and each page has one h1."""
import pytest

from backoffice.roles import STORE_MANAGER
from fulfillment.models import Fulfillment
from inventory import services as stock
from tests.customers.conftest import app_client, register
from tests.factories import stock_the_shop
from tests.journeys.test_pickup_and_returns import order_from_the_app

from .test_every_page_on_a_phone import PHONE, PROBLEMS
from .test_store_day import signed_in_as

DESKTOP = {"width": 1280, "height": 900}


@pytest.mark.parametrize("screen", [PHONE, DESKTOP], ids=["phone", "1280px"])
def test_the_back_office_pages_fit_the_screen_and_name_their_controls(chromium, live_server, screens, store,
                                                                      warehouse, stripe_double, screen):
    tee, _, _ = stock_the_shop(store=store, warehouse=warehouse)
    number = order_from_the_app(app_client(register("ada@example.com", "Ada")), stripe_double, fulfilment="pickup",
                                store=store.code)["number"]
    pickup = Fulfillment.objects.get(order__number=number)
    transfer = stock.transfer_create(source=warehouse, destination=store, lines=[(tee, 2)], note="restock")
    stock.transfer_ship(transfer=transfer)
    page = signed_in_as(chromium, live_server, STORE_MANAGER, store, username="mia")
    page.set_viewport_size(screen)

    for path, name in (("/admin/store/", "store home"),
                       (f"/admin/fulfillment/fulfillment/{pickup.pk}/change/", "fulfilment page"),
                       (f"/admin/orders/order/{pickup.order.pk}/change/", "order page"),
                       ("/admin/fulfillment/fulfillment/", "fulfilment list"),
                       (f"/admin/returns/desk/?q={number}", "returns desk"),
                       (f"/scan/transfer/?store={store.code}&number=T{transfer.pk}", "transfer to receive"),
                       (f"/admin/inventory/location/{store.pk}/change/", "store's page with collection windows"),
                       ("/admin/analytics/", "analytics")):
        page.goto(path)
        problems = page.evaluate(PROBLEMS, screen["width"])
        assert problems == [], f"{name} ({path}): {problems}"
        screens.take(page, name)
    page.context.close()
