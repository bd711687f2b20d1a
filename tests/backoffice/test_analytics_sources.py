"""The analytics page on a known March with attribution and visits, against the 31 days before it: sales by
last and first touch, conversion, sales over time (daily and weekly) and the period totals, worked out by hand
below; their CSVs; store roles seeing no visits; and a page whose query count does not grow with the orders."""
import re
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backoffice.roles import MERCHANDISER, STORE_MANAGER
from customers.models import Interaction
from tests.backoffice.test_analytics import ANALYTICS, DELIVERY, MARCH, TILL, at, browser, channel, sale, summary, table
from tests.factories import OrderLineFactory

pytestmark = pytest.mark.django_db

IG = {"source": "instagram", "medium": "social", "campaign": "spring", "referrer": "instagram.com",
      "landing": "/shop/tee/"}
GOOGLE = {"source": "google.com", "medium": "organic", "referrer": "google.com", "landing": "/"}
EMAIL = {"source": "newsletter", "medium": "email", "campaign": "march", "landing": "/sale/"}
DIRECT = {"source": "(direct)", "medium": "(none)"}
TIKTOK = {"source": "tiktok.com", "medium": "social", "campaign": ""}
IN_STORE = {"source": "(in store)", "medium": "store"}


def touches(last: dict, first: dict | None = None) -> dict:
    return {"first": first or last, "last": last}


def arrivals(count: int, channel_code: str, touch: dict, when) -> None:
    Interaction.objects.bulk_create(
        Interaction(kind=Interaction.Kind.ARRIVED, visitor=uuid.uuid4(), channel=channel(channel_code),
                    reference=f"source:{touch['source']}", detail=touch, created_at=when) for _ in range(count))


def section(page: str, key: str) -> str:
    return re.search(rf'<section class="analytics-table" id="{key}">(.*?)</section>', page, re.S).group(1)


def headings(page: str, key: str) -> list[str]:
    return re.findall(r'<th scope="col">(.*?)</th>', section(page, key))


def row_of(page: str, key: str, first_cell: str) -> list[str]:
    return next(row for row in table(page, key) if row[0] == first_cell)


@pytest.fixture
def attributed(store, other_store):
    """March 2026 at London (LDN-OXF) and Manchester (MAN-ARN); the period before it is 29 Jan – 28 Feb.

    orders (last touch / first touch)           channel  sent from        value   placed (London time)
      A1  2 × 30.00   instagram / instagram     web      LDN              60.00   2 Mar 10:00
      A2  45.00 − 5.00 voucher  email / google  web      MAN              40.00   2 Mar 18:00
      A3  3 × 10.00, 1 cancelled  google / ig   mobile   LDN              20.00   5 Mar 09:00
      A4  25.00       in store                  till     LDN              25.00   5 Mar 15:00
      A5  15.00       none recorded ({})        web      MAN              15.00   30 Mar 00:30 BST (29 Mar UTC)
      A6  cancelled whole, instagram            web      LDN              —       8 Mar
      A7  12.50 + 8.50  direct / email          mobile   LDN + MAN        21.00   20 Mar 14:00
      P1  50.00       instagram                 web      LDN              50.00   30 Jan (faces 2 Mar)
      P2  20.00       in store                  till     MAN              20.00   10 Feb (faces 13 Mar)
      X0 28 Jan and X9 1 Apr 00:00 BST          web      LDN              outside both periods
    visits in March: web instagram 4, google 2, newsletter 1, direct 3 (one at 00:15 on 1 Mar, one at 23:30
    on 31 Mar), tiktok 3; app instagram 1, direct 1 → 15 (web 13, app 2). Before: web instagram 2, google 1,
    direct 1 (28 Feb 23:00) → 4. Not counted: a visit on 1 Apr 00:10 BST, one on 28 Jan, a product view.
    """
    sale("A1", "web", DELIVERY, store, at(2, 10), price="30.00", quantity=2, attribution=touches(IG))
    sale("A2", "web", DELIVERY, other_store, at(2, 18), price="45.00", discount="5.00",
         attribution=touches(EMAIL, GOOGLE))
    sale("A3", "mobile", DELIVERY, store, at(5, 9), price="10.00", quantity=3, cancelled=1,
         attribution=touches(GOOGLE, IG))
    sale("A4", "till", TILL, store, at(5, 15), price="25.00", attribution=touches(IN_STORE))
    sale("A5", "web", DELIVERY, other_store, at(30, 0, 30), price="15.00")
    sale("A6", "web", DELIVERY, store, at(8, 12), price="99.00", cancelled=1, attribution=touches(IG))
    a7 = sale("A7", "mobile", DELIVERY, store, at(20, 14), price="12.50", attribution=touches(DIRECT, EMAIL))
    OrderLineFactory(order=a7.order, location=other_store, unit_price_amount=Decimal("8.50"))
    sale("P1", "web", DELIVERY, store, at(30, 12, month=1), price="50.00", attribution=touches(IG))
    sale("P2", "till", TILL, other_store, at(10, 11, month=2), price="20.00", attribution=touches(IN_STORE))
    sale("X0", "web", DELIVERY, store, at(28, 12, month=1), price="100.00", attribution=touches(IG))
    sale("X9", "web", DELIVERY, store, at(1, 0, month=4), price="100.00", attribution=touches(IG))

    arrivals(4, "web", IG, at(3, 12))
    arrivals(1, "mobile", IG, at(3, 13))
    arrivals(2, "web", GOOGLE, at(4, 12))
    arrivals(1, "web", EMAIL, at(2, 17))
    for when in (at(1, 0, 15), at(20, 13), at(31, 23, 30)):
        arrivals(1, "web", DIRECT, when)
    arrivals(1, "mobile", DIRECT, at(20, 13))
    arrivals(3, "web", TIKTOK, at(15, 20))
    arrivals(2, "web", IG, at(2, 12, month=2))
    arrivals(1, "web", GOOGLE, at(3, 12, month=2))
    arrivals(1, "web", DIRECT, at(28, 23, month=2))
    arrivals(1, "web", IG, at(1, 0, 10, month=4))
    arrivals(1, "web", IG, at(28, 12, month=1))
    Interaction.objects.create(kind=Interaction.Kind.PRODUCT_VIEWED, visitor=uuid.uuid4(), channel=channel("web"),
                               reference="product:tee", created_at=at(3, 12))


def test_head_office_sees_sales_visits_and_conversion_by_last_touch(attributed):
    html = browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode()

    assert headings(html, "sales_by_source") == [
        "Source", "Medium", "Orders", "Revenue", "Currency", "Visits", "Conversion %"]
    assert table(html, "sales_by_source") == [
        ["instagram", "social", "1", "£60.00", "GBP", "5", "20.0"],
        ["newsletter", "email", "1", "£40.00", "GBP", "1", "100.0"],
        ["(in store)", "store", "1", "£25.00", "GBP", "0", "–"],
        ["(direct)", "(none)", "1", "£21.00", "GBP", "4", "25.0"],
        ["google.com", "organic", "1", "£20.00", "GBP", "2", "50.0"],
        ["(unknown)", "(unknown)", "1", "£15.00", "GBP", "0", "–"],
        ["tiktok.com", "social", "0", "£0.00", "GBP", "3", "0.0"]]
    chart = section(html, "sales_by_source")
    assert 'aria-label="Sales by source / medium (last touch): Revenue"' in chart
    assert ">instagram / social</text>" in chart and ">£60.00</text>" in chart


def test_sales_by_first_touch_credit_what_brought_the_customer_in(attributed):
    html = browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode()

    assert table(html, "sales_by_first_touch") == [
        ["instagram", "social", "2", "£80.00", "GBP"],
        ["google.com", "organic", "1", "£40.00", "GBP"],
        ["(in store)", "store", "1", "£25.00", "GBP"],
        ["newsletter", "email", "1", "£21.00", "GBP"],
        ["(unknown)", "(unknown)", "1", "£15.00", "GBP"]]


def test_conversion_by_online_channel(attributed):
    html = browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode()

    assert table(html, "conversion_by_channel") == [  # web: A1, A2, A5 of 13 visits; app: A3, A7 of 2
        ["Web storefront", "13", "3", "23.1"], ["Mobile app", "2", "2", "100.0"]]
    assert table(html, "sales_by_channel")[0] == ["Web storefront", "3", "£115.00", "GBP"]  # unchanged table


def test_the_period_totals_face_the_period_before(attributed):
    html = browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode()

    def figure(key):
        return summary(html, key), re.search(rf'id="{key}-previous">([^<]*)<', html).group(1), re.search(
            rf'id="{key}-change">([^<]*)<', html).group(1)

    assert figure("orders-total") == ("6", "2", "+200.0%")
    assert figure("revenue-total-gbp") == ("£181.00", "£70.00", "+158.6%")
    assert figure("visits-total") == ("15", "4", "+275.0%")
    assert figure("conversion-total") == ("33.3%", "25.0%", "+8.3 pts")  # online orders ÷ visits: 5/15, 1/4


def test_sales_per_day_face_the_same_day_of_the_period_before(attributed):
    html = browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode()

    rows = table(html, "sales_over_time")
    assert headings(html, "sales_over_time") == [
        "Date", "Orders", "Revenue", "Previous orders", "Previous revenue", "Revenue change %", "Currency"]
    assert len(rows) == 31 and rows[0][0] == "1 Mar 2026" and rows[-1][0] == "31 Mar 2026"
    assert rows[0] == ["1 Mar 2026", "0", "£0.00", "0", "£0.00", "–", "GBP"]  # nothing sold either day
    assert rows[1] == ["2 Mar 2026", "2", "£100.00", "1", "£50.00", "100.0", "GBP"]  # A1 + A2 against P1
    assert rows[4] == ["5 Mar 2026", "2", "£45.00", "0", "£0.00", "–", "GBP"]
    assert rows[12] == ["13 Mar 2026", "0", "£0.00", "1", "£20.00", "-100.0", "GBP"]  # P2 on 10 Feb
    assert rows[19] == ["20 Mar 2026", "1", "£21.00", "0", "£0.00", "–", "GBP"]
    assert rows[28][:3] == ["29 Mar 2026", "0", "£0.00"]  # A5 was 23:30 on 29 Mar in UTC
    assert rows[29][:3] == ["30 Mar 2026", "1", "£15.00"]  # ... and 00:30 on 30 Mar in London
    assert rows[30][:3] == ["31 Mar 2026", "0", "£0.00"]  # X9 is April's
    assert sum(int(row[1]) for row in rows) == 6 and sum(int(row[3]) for row in rows) == 2


def test_the_sales_over_time_chart_draws_both_periods_on_one_scale(attributed):
    chart = section(browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode(), "sales_over_time")

    svg = re.search(r'<svg [^>]*role="img"[^>]*>(.*?)</svg>', chart, re.S)
    assert svg and ('aria-label="Revenue in GBP per day, 1 Mar 2026 to 31 Mar 2026, as bars (highest £100.00 on '
                    '2 Mar), against the 31 days before (29 Jan 2026 to 28 Feb 2026) as a line.') in chart
    heights = [float(h) for h in re.findall(r'<rect class="bar" [^>]*height="([\d.]+)"', svg.group(1))]
    assert heights == [160.0, 72.0, 33.6, 24.0]  # 2, 5, 20 and 30 Mar against a £100.00 axis
    points = re.search(r'<polyline class="previous" points="([^"]*)"', svg.group(1)).group(1).split()
    assert len(points) == 31 and points[1].endswith(",90.0") and points[12].endswith(",138.0")  # £50, £20
    assert re.findall(r'text-anchor="end">([^<]*)<', svg.group(1)) == ["£0.00", "£50.00", "£100.00"]
    assert re.findall(r'text-anchor="middle">([^<]*)<', svg.group(1)) == [
        "1 Mar", "5 Mar", "9 Mar", "13 Mar", "17 Mar", "21 Mar", "25 Mar", "29 Mar"]


def test_a_period_longer_than_62_days_goes_week_by_week(attributed, store):
    sale("D1", "web", DELIVERY, store, at(3, 12, month=12, year=2025), price="30.00",
         attribution=touches(IG))
    merch = browser(MERCHANDISER)

    html = merch.get(ANALYTICS, {"start": "2026-01-01", "end": "2026-03-31"}).content.decode()
    sixty_two = merch.get(ANALYTICS, {"start": "2026-02-01", "end": "2026-04-03"}).content.decode()
    sixty_three = merch.get(ANALYTICS, {"start": "2026-02-01", "end": "2026-04-04"}).content.decode()

    rows = table(html, "sales_over_time")
    assert headings(html, "sales_over_time")[0] == "Week starting"
    assert [row[0] for row in rows][:2] == ["29 Dec 2025", "5 Jan 2026"] and len(rows) == 14
    assert rows[0] == ["29 Dec 2025", "0", "£0.00", "0", "£0.00", "–", "GBP"]  # 1–4 Jan only
    assert row_of(html, "sales_over_time", "26 Jan 2026")[:3] == ["26 Jan 2026", "2", "£150.00"]  # X0, P1
    assert row_of(html, "sales_over_time", "9 Feb 2026")[:3] == ["9 Feb 2026", "1", "£20.00"]
    # D1 (3 Dec) is 90 days before 3 Mar: it stands beside the week of 2 Mar.
    assert row_of(html, "sales_over_time", "2 Mar 2026") == [
        "2 Mar 2026", "4", "£145.00", "1", "£30.00", "383.3", "GBP"]
    assert rows[-1][:3] == ["30 Mar 2026", "1", "£15.00"]
    assert ('aria-label="Revenue in GBP per week, 1 Jan 2026 to 31 Mar 2026, as bars (highest £150.00 in the week '
            'of 26 Jan), against the 90 days before (3 Oct 2025 to 31 Dec 2025) as a line.') in html
    assert headings(sixty_two, "sales_over_time")[0] == "Date" and len(table(sixty_two, "sales_over_time")) == 62
    assert headings(sixty_three, "sales_over_time")[0] == "Week starting"


def test_a_store_manager_sees_their_stores_sales_by_source_and_no_visits(attributed, other_store):
    manager = browser(STORE_MANAGER, other_store)

    with CaptureQueriesContext(connection) as queries:
        html = manager.get(ANALYTICS, MARCH).content.decode()
    csv = manager.get(ANALYTICS, {**MARCH, "format": "csv", "table": "sales_by_source"}).content.decode()
    conversion_csv = manager.get(ANALYTICS, {**MARCH, "format": "csv", "table": "conversion_by_channel"})

    assert headings(html, "sales_by_source") == ["Source", "Medium", "Orders", "Revenue", "Currency"]
    assert table(html, "sales_by_source") == [  # A2, A5 and A7's Manchester line
        ["newsletter", "email", "1", "£40.00", "GBP"], ["(unknown)", "(unknown)", "1", "£15.00", "GBP"],
        ["(direct)", "(none)", "1", "£8.50", "GBP"]]
    assert table(html, "sales_by_first_touch") == [
        ["google.com", "organic", "1", "£40.00", "GBP"], ["(unknown)", "(unknown)", "1", "£15.00", "GBP"],
        ["newsletter", "email", "1", "£8.50", "GBP"]]
    assert row_of(html, "sales_over_time", "13 Mar 2026") == [
        "13 Mar 2026", "0", "£0.00", "1", "£20.00", "-100.0", "GBP"]
    assert (summary(html, "orders-total"), summary(html, "revenue-total-gbp")) == ("3", "£63.50")
    assert 'id="conversion_by_channel"' not in html and "visits-total" not in html
    assert "conversion-total" not in html and "Visits" not in html
    assert not [q for q in queries.captured_queries if "customers_interaction" in q["sql"]]
    assert csv.splitlines()[0] == "Source,Medium,Orders,Revenue,Currency"
    assert conversion_csv.status_code == 404


def test_each_new_table_downloads_as_csv(attributed):
    merch = browser(MERCHANDISER)

    def csv(key):
        response = merch.get(ANALYTICS, {**MARCH, "format": "csv", "table": key})
        assert response["Content-Disposition"] == (
            f'attachment; filename="{key.replace("_", "-")}-2026-03-01-to-2026-03-31.csv"')
        return response.content.decode()

    assert csv("sales_by_source") == (
        "Source,Medium,Orders,Revenue,Currency,Visits,Conversion %\r\n"
        "instagram,social,1,60.00,GBP,5,20.0\r\n"
        "newsletter,email,1,40.00,GBP,1,100.0\r\n"
        "(in store),store,1,25.00,GBP,0,\r\n"
        "(direct),(none),1,21.00,GBP,4,25.0\r\n"
        "google.com,organic,1,20.00,GBP,2,50.0\r\n"
        "(unknown),(unknown),1,15.00,GBP,0,\r\n"
        "tiktok.com,social,0,0.00,GBP,3,0.0\r\n")
    assert csv("sales_by_first_touch") == (
        "Source,Medium,Orders,Revenue,Currency\r\n"
        "instagram,social,2,80.00,GBP\r\n"
        "google.com,organic,1,40.00,GBP\r\n"
        "(in store),store,1,25.00,GBP\r\n"
        "newsletter,email,1,21.00,GBP\r\n"
        "(unknown),(unknown),1,15.00,GBP\r\n")
    assert csv("conversion_by_channel") == (
        "Channel,Visits,Orders,Conversion %\r\nWeb storefront,13,3,23.1\r\nMobile app,2,2,100.0\r\n")
    over_time = csv("sales_over_time").splitlines()
    assert over_time[0] == "Date,Orders,Revenue,Previous orders,Previous revenue,Revenue change %,Currency"
    assert over_time[1:3] == ["2026-03-01,0,0.00,0,0.00,,GBP", "2026-03-02,2,100.00,1,50.00,100.0,GBP"]
    assert len(over_time) == 32


def test_the_page_runs_as_many_queries_for_many_orders_as_for_few(attributed, store):
    merch = browser(MERCHANDISER)
    merch.get(ANALYTICS, MARCH)  # the session and permissions cached alike for both counts
    with CaptureQueriesContext(connection) as few:
        merch.get(ANALYTICS, MARCH)
    for n, touch in enumerate((IG, GOOGLE, EMAIL, TIKTOK, DIRECT) * 4):
        sale(f"M{n}", "web", DELIVERY, store, at(1 + n, 11), price="5.00", attribution=touches(touch, IG))
        arrivals(2, "web", touch, at(1 + n, 10))
    with CaptureQueriesContext(connection) as many:
        page = merch.get(ANALYTICS, MARCH)

    assert summary(page.content.decode(), "orders-total") == "26"
    assert len(many.captured_queries) == len(few.captured_queries)


def test_sales_in_another_currency_are_never_added_to_pounds(attributed, store):
    OrderLineFactory(order__number="E1", order__channel=channel("web"), order__currency="EUR",
                     order__placed_at=at(6, 10), order__attribution=touches(IG), location=store,
                     unit_price_amount=Decimal("70.00"), currency="EUR")

    html = browser(MERCHANDISER).get(ANALYTICS, MARCH).content.decode()

    assert table(html, "sales_by_source")[:2] == [  # instagram's 5 visits brought both orders: 2 ÷ 5
        ["instagram", "social", "1", "€70.00", "EUR", "5", "40.0"], ["instagram", "social", "1", "£60.00", "GBP", "–", "–"]]
    assert (summary(html, "revenue-total-eur"), summary(html, "revenue-total-gbp")) == ("€70.00", "£181.00")
    assert summary(html, "orders-total") == "7" and summary(html, "conversion-total") == "40.0%"  # 6 online of 15
    rows = table(html, "sales_over_time")
    assert len(rows) == 62 and rows[5] == ["6 Mar 2026", "1", "€70.00", "0", "€0.00", "–", "EUR"]
    assert rows[31 + 1][:3] == ["2 Mar 2026", "2", "£100.00"]
    chart = section(html, "sales_over_time")
    assert "Revenue in EUR per day" in chart and "Revenue in GBP per day" in chart
