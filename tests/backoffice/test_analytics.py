"""The analytics page on a known month of trade: every figure worked out by hand below, the CSV of a table,
the period picker, who may see the page, and a store manager seeing only their store."""
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from backoffice.roles import MERCHANDISER, STORE_MANAGER, STORE_STAFF, role_assign
from catalog.models import Channel
from fulfillment.models import Fulfillment
from inventory import services as stock
from orders.models import Order
from tests.factories import (
    FulfillmentFactory,
    OrderLineFactory,
    ReturnFactory,
    ReturnLineFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

ANALYTICS = "/admin/analytics/"
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}
PICKUP, DELIVERY, TILL = Order.Fulfilment.PICKUP, Order.Fulfilment.DELIVERY, Order.Fulfilment.TILL


def at(day: int, hour: int, minute: int = 0, month: int = 3, year: int = 2026) -> datetime:
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def channel(code: str) -> Channel:
    return Channel.objects.get(code=code)


def sale(number, channel_code, fulfilment, location, placed_at, *, price, quantity=1, discount="0", cancelled=0,
         pickup_store=None, attribution=None):
    return OrderLineFactory(
        order__number=number, order__channel=channel(channel_code), order__fulfilment=fulfilment,
        order__placed_at=placed_at, order__pickup_store=pickup_store, order__attribution=attribution or {},
        location=location,
        unit_price_amount=Decimal(price), quantity=quantity, discount_amount=Decimal(discount),
        quantity_cancelled=cancelled,
    )


def pickup(line, *, ready_at, status, completed_at=None):
    return FulfillmentFactory(order=line.order, location=line.location, method=Fulfillment.Method.PICKUP,
                              status=status, ready_at=ready_at, completed_at=completed_at)


@pytest.fixture
def march(store, other_store):
    """A month at London (LDN-OXF) and Manchester (MAN-ARN), with one order either side of it.

    sales (not wholly cancelled)        channel  fulfilment  sent from  value
      W1  2 × 20.00                     web      pickup      LDN        40.00  ready +4 h, collected +24 h
      W2  1 × 45.00 − 5.00 voucher      mobile   pickup      LDN        40.00  ready +2 h, not collected
      W3  3 × 10.00, 1 cancelled        web      delivery    MAN        20.00
      T1  1 × 25.00                     till     at the till LDN        25.00
      W4  1 × 30.00                     web      pickup      MAN        30.00  ready +6 h, collected +12 h
      W5  1 × 10.00 (31 Mar, 23:30)     mobile   delivery    LDN        10.00
      C1  cancelled whole               web      delivery    LDN        —
      OLD 28 Feb, NEW 1 Apr 00:00       —        —           LDN        outside the month
    returns: R1 web (W1) received at LDN 20.00; R2 walk-in at the till (W3) received at LDN 10.00;
             R3 mobile (W4) requested only; R4 in February.
    """
    w1 = sale("W1", "web", PICKUP, store, at(2, 10), price="20.00", quantity=2, pickup_store=store)
    pickup(w1, ready_at=at(2, 14), status=Fulfillment.Status.COLLECTED, completed_at=at(3, 14))
    w2 = sale("W2", "mobile", PICKUP, store, at(4, 9), price="45.00", discount="5.00", pickup_store=store)
    pickup(w2, ready_at=at(4, 11), status=Fulfillment.Status.EXPIRED, completed_at=at(11, 11))
    w3 = sale("W3", "web", DELIVERY, other_store, at(5, 12), price="10.00", quantity=3, cancelled=1)
    FulfillmentFactory(order=w3.order, location=other_store, method=Fulfillment.Method.SHIP,
                       status=Fulfillment.Status.SHIPPED)
    sale("T1", "till", TILL, store, at(6, 15), price="25.00")
    w4 = sale("W4", "web", PICKUP, other_store, at(7, 10), price="30.00", pickup_store=other_store)
    pickup(w4, ready_at=at(7, 16), status=Fulfillment.Status.COLLECTED, completed_at=at(8, 4))
    sale("W5", "mobile", DELIVERY, store, at(31, 23, 30), price="10.00")
    sale("C1", "web", DELIVERY, store, at(8, 12), price="99.00", cancelled=1)
    old = sale("OLD", "web", PICKUP, store, at(28, 10, month=2), price="100.00", pickup_store=store)
    pickup(old, ready_at=at(28, 11, month=2), status=Fulfillment.Status.EXPIRED, completed_at=at(7, 11))
    sale("NEW", "web", DELIVERY, store, at(1, 0, month=4), price="100.00")

    received = {"status": "received", "location": store}
    ReturnLineFactory(order_line=w1, quantity=1, return_request=ReturnFactory(
        order=w1.order, channel=channel("web"), created_at=at(10, 12), refund_amount=Decimal("20.00"), **received))
    ReturnLineFactory(order_line=w3, quantity=1, return_request=ReturnFactory(
        order=w3.order, channel=channel("till"), created_at=at(12, 12), refund_amount=Decimal("10.00"), **received))
    ReturnLineFactory(order_line=w4, quantity=1, return_request=ReturnFactory(
        order=w4.order, channel=channel("mobile"), created_at=at(13, 12)))
    ReturnLineFactory(order_line=old, quantity=1, return_request=ReturnFactory(
        order=old.order, channel=channel("web"), created_at=at(20, 12, month=2), refund_amount=Decimal("100.00"),
        **received))

    tee, hoodie, scarf = (VariantFactory(sku=sku, product__name=name) for sku, name in (
        ("TEE-NAVY-M", "Navy Tee"), ("HOOD-GREY-L", "Grey Hoodie"), ("SCARF-RED", "Red Scarf")))
    for location, variant, on_hand, reorder_point in ((store, tee, 2, 3), (store, hoodie, 1, 1),
                                                      (store, scarf, 10, 3), (other_store, tee, 5, 5)):
        stock.stock_receive(location=location, variant=variant, quantity=on_hand)
        stock.stock_set_reorder_point(location=location, variant=variant, quantity=reorder_point)
    stock.stock_mark_unavailable(location=store, variant=hoodie, quantity=1)  # none left to sell


def browser(role: str, *stores) -> Client:
    client = Client()
    client.force_login(role_assign(user=UserFactory(username=role.lower().replace(" ", "-")), role=role,
                                   stores=stores))
    return client


def table(page: str, key: str) -> list[list[str]]:
    section = re.search(rf'<section class="analytics-table" id="{key}">(.*?)</section>', page, re.S).group(1)
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.S)
    if body is None:
        return []
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def summary(page: str, figure: str) -> str:
    return re.search(rf'<strong id="{figure}">([^<]*)</strong>', page).group(1)


def test_head_office_sees_every_figure_of_the_month(march):
    page = browser(MERCHANDISER).get(ANALYTICS, MARCH)

    assert page.status_code == 200
    html = page.content.decode()
    assert table(html, "sales_by_channel") == [
        ["Web storefront", "3", "£90.00", "GBP"], ["Mobile app", "2", "£50.00", "GBP"],
        ["Store till", "1", "£25.00", "GBP"]]
    assert table(html, "sales_by_store") == [
        ["LDN-OXF", "London Oxford Street", "4", "£115.00", "GBP"],
        ["MAN-ARN", "Manchester Arndale", "2", "£50.00", "GBP"]]
    assert summary(html, "click-and-collect-share") == "60.0%"  # 3 pickups of 5 online orders
    assert "3 of 5 online orders" in html
    assert table(html, "pickups_by_store") == [
        ["LDN-OXF", "London Oxford Street", "2", "3.0", "24.0", "1", "1", "50.0"],
        ["MAN-ARN", "Manchester Arndale", "1", "6.0", "12.0", "1", "0", "0.0"]]
    assert (summary(html, "hours-to-ready"), summary(html, "hours-to-collect"), summary(html, "uncollected-rate")) == (
        "4.0 h", "18.0 h", "33.3%")
    assert table(html, "returns_by_channel") == [
        ["Mobile app", "1", "0", "1", "0.00"], ["Store till", "1", "1", "1", "10.00"],
        ["Web storefront", "1", "1", "1", "20.00"]]
    assert table(html, "returns_by_store") == [["LDN-OXF", "London Oxford Street", "2", "2", "2", "30.00"]]
    assert table(html, "low_stock_by_store") == [
        ["LDN-OXF", "London Oxford Street", "2", "1"], ["MAN-ARN", "Manchester Arndale", "1", "0"]]
    assert table(html, "low_stock_lines") == [
        ["LDN-OXF", "HOOD-GREY-L", "Grey Hoodie", "0", "1"], ["LDN-OXF", "TEE-NAVY-M", "Navy Tee", "2", "3"],
        ["MAN-ARN", "TEE-NAVY-M", "Navy Tee", "5", "5"]]
    assert "every location" in html


def test_the_charts_are_inline_svg_bars_scaled_to_the_largest_value(march):
    html = browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode()

    section = re.search(r'id="sales_by_store">(.*?)</section>', html, re.S).group(1)
    svg = re.search(r"<svg [^>]*>(.*?)</svg>", section, re.S)
    assert svg and 'role="img"' in section and 'aria-label="Sales by store: Revenue"' in section
    widths = [float(w) for w in re.findall(r'<rect class="bar" [^>]*width="([\d.]+)"', svg.group(1))]
    assert widths == [360.0, round(360 * 50 / 115, 1)]
    assert "<script" not in html.split('id="content-main"')[1]


def test_each_table_downloads_as_csv_for_the_chosen_period(march):
    merch = browser(MERCHANDISER)

    stores = merch.get(ANALYTICS, {**MARCH, "format": "csv", "table": "sales_by_store"})
    pickups = merch.get(ANALYTICS, {**MARCH, "format": "csv", "table": "pickups_by_store"})
    unknown = merch.get(ANALYTICS, {**MARCH, "format": "csv", "table": "orders; DROP TABLE"})

    assert stores.status_code == 200 and stores["Content-Type"] == "text/csv; charset=utf-8"
    assert stores["Content-Disposition"] == 'attachment; filename="sales-by-store-2026-03-01-to-2026-03-31.csv"'
    assert stores.content.decode() == (
        "Store,Name,Orders,Revenue,Currency\r\n"
        "LDN-OXF,London Oxford Street,4,115.00,GBP\r\n"
        "MAN-ARN,Manchester Arndale,2,50.00,GBP\r\n")
    assert pickups.content.decode().splitlines()[1:] == [
        "LDN-OXF,London Oxford Street,2,3.0,24.0,1,1,50.0", "MAN-ARN,Manchester Arndale,1,6.0,12.0,1,0,0.0"]
    assert unknown.status_code == 404


def test_a_store_manager_sees_only_their_stores_figures(march, other_store):
    page = browser(STORE_MANAGER, other_store).get(ANALYTICS, MARCH)

    html = page.content.decode()
    assert page.status_code == 200
    assert "your stores only: MAN-ARN" in html
    assert table(html, "sales_by_channel") == [["Web storefront", "2", "£50.00", "GBP"]]
    assert table(html, "sales_by_store") == [["MAN-ARN", "Manchester Arndale", "2", "£50.00", "GBP"]]
    assert summary(html, "click-and-collect-share") == "50.0%"
    assert table(html, "pickups_by_store") == [["MAN-ARN", "Manchester Arndale", "1", "6.0", "12.0", "1", "0", "0.0"]]
    assert table(html, "returns_by_channel") == [["Mobile app", "1", "0", "1", "0.00"]]  # requested, not received
    assert table(html, "returns_by_store") == []
    assert table(html, "low_stock_by_store") == [["MAN-ARN", "Manchester Arndale", "1", "0"]]
    assert "LDN-OXF" not in html and "115.00" not in html and "London" not in html
    csv = browser(STORE_MANAGER, other_store).get(ANALYTICS, {**MARCH, "format": "csv", "table": "sales_by_store"})
    assert "LDN-OXF" not in csv.content.decode()


def test_the_period_defaults_to_the_last_30_days_and_a_backwards_one_is_refused(march):
    merch = browser(MERCHANDISER)
    today = timezone.localdate()

    default = merch.get(ANALYTICS).content.decode()
    backwards = merch.get(ANALYTICS, {"start": "2026-03-31", "end": "2026-03-01"})

    assert f'value="{today - timedelta(days=29):%Y-%m-%d}"' in default and f'value="{today:%Y-%m-%d}"' in default
    assert f"From {today - timedelta(days=29):%-d %b %Y} to {today:%-d %b %Y}" in default
    assert backwards.status_code == 400
    assert "The period must start on or before the day it ends." in backwards.content.decode()
    assert "sales_by_store" not in backwards.content.decode()


def test_analytics_need_the_permission(march, store):
    visitor = UserFactory(username="visitor", is_staff=False)
    outsider = Client()
    outsider.force_login(visitor)

    assert browser(STORE_STAFF, store).get(ANALYTICS, MARCH).status_code == 403
    assert browser(STORE_STAFF, store).get(ANALYTICS, {**MARCH, "format": "csv", "table": "sales_by_store"}
                                           ).status_code == 403
    for client in (Client(), outsider):
        refused = client.get(ANALYTICS)
        assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")
