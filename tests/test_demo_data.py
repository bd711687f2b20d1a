"""What a newcomer notices about `load_demo_data` (real places, prices everywhere, stock through the ledger,
ninety days of believable trade behind analytics and customers' timelines, a rerun changes nothing) and that
`demo` refuses to run with DEBUG off."""
import csv
import io
import random
import re
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, DateTimeField, F, Max, Min, Sum
from django.test import Client
from django.utils import timezone

from backoffice.roles import MERCHANDISER, STORE_STAFF, role_assign
from catalog.models import Category, Channel, Price, Product, TaxClass, Variant
from customers.models import Customer, Interaction
from customers.selectors import interaction_list
from demo.logins import demo_store
from demo.people import People
from fulfillment.models import Fulfillment, FulfillmentEvent, Return, ReturnLine
from inventory.models import Location, Reservation, StockLevel, StockMovement
from inventory.selectors import ledger_drift
from notifications.models import OutboxMessage
from orders.models import Order, OrderEvent, Payment, Refund
from orders.stripe_double import free_port, start_local_stripe
from tests.factories import UserFactory

UK_BOUNDS = {"latitude": (49.8, 60.9), "longitude": (-8.2, 1.8)}
HISTORY_DAYS = 90
DRAMA_PHONE = re.compile(r"^\+447700900\d{3}$")


@pytest.fixture(scope="module")
def demo_stripe_double():
    """A Stripe double of the module's own: the history's card payments would slow the session's for later tests."""
    port = free_port()
    server = start_local_stripe(port)
    before, settings.STRIPE_API_BASE = settings.STRIPE_API_BASE, f"http://127.0.0.1:{port}"
    yield
    settings.STRIPE_API_BASE = before
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker, demo_stripe_double):
    """Load the demo once for the module, inside a transaction rolled back when the module is done."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo_data", stdout=io.StringIO(), stderr=io.StringIO())
        yield
        transaction.set_rollback(True)


def snapshot() -> dict:
    return {
        "categories": Category.objects.count(),
        "products": Product.objects.count(),
        "variants": Variant.objects.count(),
        "prices": Price.objects.count(),
        "locations": Location.objects.count(),
        "movements": StockMovement.objects.count(),
        "stock rows": StockLevel.objects.count(),
        **StockLevel.objects.aggregate(on_hand=Sum("on_hand"), safety_stock=Sum("safety_stock")),
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "payments": Payment.objects.aggregate(captured=Sum("captured_amount"), refunded=Sum("refunded_amount")),
        "fulfilments": Fulfillment.objects.count(),
        "returns": Return.objects.count(),
        "messages": OutboxMessage.objects.count(),
        "timeline": Interaction.objects.count(),
    }


def history_window() -> tuple[datetime, datetime]:
    now = timezone.now()
    return now - timedelta(days=HISTORY_DAYS), now


def staff_browser(role: str, *stores) -> Client:
    client = Client()
    client.force_login(role_assign(user=UserFactory(username=role.lower().replace(" ", "-")), role=role,
                                   stores=stores))
    return client


def ean13_is_valid(code: str) -> bool:
    digits = [int(d) for d in code]
    return sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12])) % 10 == (10 - digits[12]) % 10


@pytest.mark.django_db
def test_stores_and_warehouses_are_real_places_in_the_uk(demo_data):
    stores = Location.objects.active().stores()
    warehouses = Location.objects.active().filter(kind=Location.Kind.WAREHOUSE)
    assert stores.count() >= 20
    assert warehouses.count() == 2
    for location in Location.objects.all():
        assert UK_BOUNDS["latitude"][0] < location.latitude < UK_BOUNDS["latitude"][1], location.code
        assert UK_BOUNDS["longitude"][0] < location.longitude < UK_BOUNDS["longitude"][1], location.code
        assert location.postcode and location.address_line and location.email and location.phone, location.code
        assert set(location.opening_hours) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, location.code
    assert set(Location.objects.values_list("country", flat=True)) == {"GB"}
    assert all(w.ships_orders and not w.sells_in_store and not w.offers_pickup for w in warehouses)
    assert stores.filter(offers_pickup=True).count() > stores.count() / 2
    assert stores.filter(ships_orders=True).exists()


@pytest.mark.django_db
def test_catalog_is_a_few_hundred_products_in_a_category_tree(demo_data):
    assert Product.objects.count() >= 300
    assert 2000 <= Variant.objects.count() <= 3000
    assert Category.objects.filter(parent__isnull=True, slug__in=["women", "men", "kids", "home"]).count() == 4
    assert not Product.objects.filter(category__parent__isnull=True).exists(), "products sit in leaf categories"
    assert not Product.objects.annotate(n=Count("variants")).filter(n=0).exists()
    assert Product.objects.values("brand").distinct().count() >= 5


@pytest.mark.django_db
def test_every_variant_has_a_price_on_web_mobile_and_till(demo_data):
    for code in (Channel.WEB, Channel.MOBILE, Channel.TILL):
        unpriced = Variant.objects.exclude(prices__channel__code=code)
        assert not unpriced.exists(), f"{unpriced.count()} variants have no {code} price"
    assert not Price.objects.exclude(currency="GBP").exists()
    assert not Price.objects.filter(amount__lte=0).exists()


@pytest.mark.django_db
def test_stock_exists_and_agrees_with_the_ledger_everywhere(demo_data):
    variants = Variant.objects.count()
    for location in Location.objects.all():
        assert ledger_drift(location=location) == [], location.code
        rows = StockLevel.objects.filter(location=location, on_hand__gt=0).count()
        if location.kind == Location.Kind.WAREHOUSE:
            assert rows == variants, f"{location.code} should hold every variant"
        else:
            assert 0.4 * variants < rows < 0.7 * variants, location.code
    assert StockLevel.objects.filter(location__kind=Location.Kind.STORE, safety_stock=1).exists()
    opening = StockMovement.objects.filter(reference="demo")  # the history's trade moves stock after it
    assert set(opening.values_list("reason", flat=True)) == {StockMovement.Reason.RECEIPT}


@pytest.mark.django_db
def test_childrens_clothes_are_zero_rated_and_every_variant_weighs_something(demo_data):
    kids = Product.objects.filter(category__parent__slug="kids")
    assert kids.exists() and set(kids.values_list("tax_class", flat=True)) == {TaxClass.ZERO}
    assert set(Product.objects.exclude(category__parent__slug="kids").values_list("tax_class", flat=True)) == {
        TaxClass.STANDARD}
    assert not Variant.objects.filter(weight_grams=0).exists()
    pan_sizes = list(Variant.objects.filter(product__category__slug="home-cookware", options__size__in=["20cm", "28cm"])
                     .order_by("product_id", "sku").values_list("options__size", "weight_grams")[:2])
    assert pan_sizes[0][1] < pan_sizes[1][1]  # the bigger pan weighs more


@pytest.mark.django_db
def test_a_second_run_changes_nothing(demo_data):
    before = snapshot()
    call_command("load_demo_data", stdout=io.StringIO(), stderr=io.StringIO())
    assert snapshot() == before


@pytest.mark.django_db
def test_barcodes_are_unique_valid_ean13(demo_data):
    barcodes = list(Variant.objects.values_list("barcode", flat=True))
    assert len(set(barcodes)) == len(barcodes)
    bad = [b for b in barcodes if not (b and len(b) == 13 and b.isdigit() and ean13_is_valid(b))]
    assert bad == []


def test_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("demo", stdout=io.StringIO())


# The history ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_orders_come_every_day_or_nearly_on_the_web_the_app_and_the_tills(demo_data):
    start, now = history_window()
    placed = list(Order.objects.values_list("channel__code", "placed_at"))
    assert placed and all(start <= at <= now for _, at in placed)
    days = {timezone.localdate(at) for _, at in placed}
    assert len(days) >= HISTORY_DAYS - 5
    for code in (Channel.WEB, Channel.MOBILE, Channel.TILL):
        weeks = {timezone.localdate(at).isocalendar()[:2] for channel, at in placed if channel == code}
        assert len(weeks) >= 10, f"{code} sold in only {len(weeks)} weeks"
    by_weekday = Counter(timezone.localdate(at).weekday() for _, at in placed)
    assert by_weekday[5] > by_weekday[0] and by_weekday[5] > by_weekday[1], "Saturday is busier than Monday"


@pytest.mark.django_db
def test_baskets_are_sensible_and_tills_sell_only_what_their_store_holds(demo_data):
    sizes = Counter(Order.objects.annotate(units=Sum("lines__quantity")).values_list("units", flat=True))
    assert sum(n for units, n in sizes.items() if units <= 3) > 0.8 * sum(sizes.values())
    assert max(sizes) <= 8
    values = list(Order.objects.values_list("total_amount", flat=True))
    assert Decimal("10") < sum(values) / len(values) < Decimal("150")
    assert not StockMovement.objects.filter(reason=StockMovement.Reason.FOUND_AT_TILL).exists()
    assert not Order.objects.filter(fulfilment=Order.Fulfilment.TILL).exclude(
        lines__location__kind=Location.Kind.STORE).exists()


@pytest.mark.django_db
def test_pickups_are_collected_some_late_some_never_and_the_newest_wait(demo_data):
    pickups = Fulfillment.objects.filter(method=Fulfillment.Method.PICKUP)
    statuses = Counter(pickups.values_list("status", flat=True))
    assert statuses[Fulfillment.Status.COLLECTED] >= 20
    assert statuses[Fulfillment.Status.EXPIRED] >= 1 and statuses[Fulfillment.Status.READY] >= 1
    # Expired by the hourly job: none waits an hour past its hold (at any time of day the demo is loaded).
    assert not pickups.filter(status=Fulfillment.Status.READY, expires_at__lte=timezone.now() - timedelta(hours=1)).exists()
    collected = pickups.filter(status=Fulfillment.Status.COLLECTED)
    assert not collected.filter(completed_at__lt=F("ready_at")).exists()
    assert collected.filter(completed_at__gt=F("ready_at") + timedelta(days=3)).exists(), "someone came late"
    assert OutboxMessage.objects.filter(template="pickup_reminder").exists()
    for expired in pickups.filter(status=Fulfillment.Status.EXPIRED).select_related("order__payment"):
        assert expired.order.status == Order.Status.CANCELLED
        payment = expired.order.payment  # never collected, never paid: the hold let go, or the charge refunded
        assert payment.status == Payment.Status.VOIDED or (
            payment.status == Payment.Status.CAPTURED and payment.refunded_amount == payment.captured_amount > 0)


@pytest.mark.django_db
def test_parcels_are_packed_with_tracking_shipped_from_stores_and_warehouses_and_mostly_delivered(demo_data):
    parcels = Fulfillment.objects.filter(method=Fulfillment.Method.SHIP)
    sent = parcels.filter(status__in=[Fulfillment.Status.SHIPPED, Fulfillment.Status.DELIVERED])
    assert sent.count() >= 20
    assert not sent.filter(tracking_number="").exists() and not sent.filter(carrier="").exists()
    assert sent.filter(status=Fulfillment.Status.DELIVERED).count() > sent.filter(status=Fulfillment.Status.SHIPPED).count()
    assert {Location.Kind.STORE, Location.Kind.WAREHOUSE} <= set(sent.values_list("location__kind", flat=True))
    assert not Payment.objects.filter(order__fulfillments__in=sent).exclude(status=Payment.Status.CAPTURED).exists()


@pytest.mark.django_db
def test_returns_come_back_online_and_at_the_desk_resellable_or_damaged_and_are_refunded(demo_data):
    received = Return.objects.filter(status=Return.Status.RECEIVED)
    assert {Channel.TILL} < set(received.values_list("channel__code", flat=True)), "walk-ins and online requests"
    conditions = set(ReturnLine.objects.filter(return_request__in=received).values_list("condition", flat=True))
    assert conditions == {ReturnLine.Condition.RESELLABLE, ReturnLine.Condition.DAMAGED}
    assert not received.filter(refund_amount__lte=0).exists()
    assert not received.filter(received_at__lt=F("created_at")).exists()
    damaged = ReturnLine.objects.filter(return_request__in=received, condition=ReturnLine.Condition.DAMAGED).first()
    assert StockLevel.objects.get(location=damaged.return_request.location, variant=damaged.order_line.variant).unavailable


@pytest.mark.django_db
def test_orders_say_where_their_shoppers_came_from_and_visits_far_outnumber_them(demo_data):
    online = Order.objects.filter(channel__is_online=True)
    sources = Counter(online.values_list("attribution__last__source", flat=True))
    assert {"(direct)", "google.co.uk", "instagram", "newsletter"} <= set(sources)
    visits = Interaction.objects.filter(kind=Interaction.Kind.ARRIVED)
    assert 0.01 < online.count() / visits.count() < 0.08, "conversion of a few per cent"
    assert {"instagram", "tiktok", "newsletter", "google.co.uk", "(direct)"} <= set(
        visits.values_list("detail__source", flat=True))
    for order in online.order_by("pk")[:40]:
        first, last = (datetime.fromisoformat(order.attribution[touch]["at"]) for touch in ("first", "last"))
        assert first <= last <= order.placed_at
    assert set(Order.objects.filter(channel__code=Channel.TILL).values_list("attribution__last__source", flat=True)
               ) == {"(in store)"}


@pytest.mark.django_db
def test_customers_give_varied_consent_have_drama_phones_and_a_timeline_guests_only_an_email(demo_data):
    customers = Customer.objects.all()
    assert 250 <= customers.count() <= 400
    for medium in ("email", "sms", "messenger"):
        assert customers.filter(**{f"{medium}_consent_at__isnull": False}).exists(), medium
    assert customers.filter(email_consent_at=None, sms_consent_at=None, messenger_consent_at=None).exists()
    phones = [p for p in customers.values_list("phone", flat=True) if p]
    assert phones and all(DRAMA_PHONE.match(p) for p in phones) and len(phones) < customers.count()
    assert Order.objects.filter(customer=None, channel__is_online=True).exclude(email="").exists()
    order = Order.objects.filter(customer__isnull=False, channel__is_online=True).order_by("placed_at").last()
    timeline = list(interaction_list(customer=order.customer))
    assert {Interaction.Kind.ARRIVED, Interaction.Kind.PRODUCT_VIEWED, Interaction.Kind.CART_CHANGED,
            Interaction.Kind.ORDER_PLACED, Interaction.Kind.MESSAGE_SENT, Interaction.Kind.SIGNED_UP} <= {
        touch.kind for touch in timeline}
    placed = next(t for t in timeline if t.kind == Interaction.Kind.ORDER_PLACED and t.reference.endswith(order.number))
    assert placed.created_at == order.placed_at
    assert any(t.kind == Interaction.Kind.ARRIVED and t.created_at < placed.created_at for t in timeline)


@pytest.mark.django_db
def test_everything_happened_over_the_last_90_days_not_when_the_demo_was_loaded(demo_data):
    start, now = history_window()
    stamps = {
        "orders": Order.objects.aggregate(first=Min("placed_at"), last=Max("placed_at")),
        "order events": OrderEvent.objects.aggregate(first=Min("created_at"), last=Max("created_at")),
        "fulfilments": Fulfillment.objects.aggregate(first=Min("created_at"), last=Max("completed_at")),
        "ready": Fulfillment.objects.aggregate(first=Min("ready_at"), last=Max("ready_at")),
        "fulfilment events": FulfillmentEvent.objects.aggregate(first=Min("created_at"), last=Max("created_at")),
        "returns": Return.objects.aggregate(first=Min("created_at"), last=Max("received_at")),
        "payments": Payment.objects.aggregate(first=Min("updated_at"), last=Max("updated_at")),
        "refunds": Refund.objects.aggregate(first=Min("created_at"), last=Max("created_at")),
        "messages": OutboxMessage.objects.aggregate(first=Min("created_at"), last=Max("sent_at")),
        "visits": Interaction.objects.filter(kind=Interaction.Kind.ARRIVED).aggregate(
            first=Min("created_at"), last=Max("created_at")),
    }
    for what, span in stamps.items():
        assert start <= span["first"] and span["last"] <= now, what
        assert span["last"] - span["first"] > timedelta(days=HISTORY_DAYS // 2), f"{what} all at once"
    assert not Fulfillment.objects.filter(ready_at__lt=F("order__placed_at")).exists()
    assert not Fulfillment.objects.filter(completed_at__lt=F("created_at")).exists()
    assert not Return.objects.filter(created_at__lt=F("order__placed_at")).exists()


@pytest.mark.django_db
def test_only_the_inventorys_own_records_keep_the_time_the_demo_was_loaded(demo_data):
    load_began = Reservation.objects.aggregate(first=Min("created_at"))["first"] - timedelta(seconds=30)
    kept = [f"{model._meta.label}.{field.name}"
            for app in ("customers", "orders", "fulfillment", "notifications")
            for model in apps.get_app_config(app).get_models()
            for field in model._meta.get_fields()
            if isinstance(field, DateTimeField) and not field.name.startswith("expires")  # deadlines, not events
            and model.objects.filter(**{f"{field.name}__gte": load_began}).exists()]
    assert kept == []


@pytest.mark.django_db
def test_every_message_is_marked_sent_when_it_was_written_and_none_waits(demo_data):
    messages = OutboxMessage.objects.all()
    assert messages.count() > 100
    assert set(messages.values_list("status", flat=True)) == {OutboxMessage.Status.SENT}
    assert not messages.exclude(sent_at=F("created_at")).exists()
    assert {"order_confirmation", "pickup_ready", "order_shipped", "return_refunded", "review_request"} <= set(
        messages.values_list("template", flat=True))


@pytest.mark.django_db
def test_the_ledger_has_no_drift(demo_data):
    out = io.StringIO()
    call_command("verify_ledger", stdout=out, stderr=io.StringIO())
    assert "no drift" in out.getvalue()


@pytest.mark.django_db
def test_analytics_show_sales_by_source_and_over_time_to_a_merchandiser(demo_data):
    merch = staff_browser(MERCHANDISER)
    assert merch.get("/admin/analytics/").status_code == 200
    sources = list(csv.DictReader(io.StringIO(merch.get(
        "/admin/analytics/", {"format": "csv", "table": "sales_by_source"}).content.decode())))
    selling = [row for row in sources if Decimal(row["Revenue"]) > 0]
    assert len(selling) >= 4 and any(row["Visits"] not in ("", "0") for row in selling)
    days = list(csv.DictReader(io.StringIO(merch.get(
        "/admin/analytics/", {"format": "csv", "table": "sales_over_time"}).content.decode())))
    assert len(days) == 30 and sum(Decimal(row["Revenue"]) > 0 for row in days) >= 25
    assert sum(Decimal(row["Previous revenue"]) > 0 for row in days) >= 25


@pytest.mark.django_db
def test_the_flagship_store_home_has_pickups_to_pick_and_ready_ones_waiting(demo_data):
    store = demo_store()
    home = staff_browser(STORE_STAFF, store).get("/admin/store/")
    assert home.status_code == 200
    assert home.context["ready_count"] >= 1
    assert sum(queue["count"] for queue in home.context["queues"]) >= 1


@pytest.mark.django_db
def test_shoppers_are_drawn_from_the_seed(demo_data):
    stores = list(Location.objects.stores().order_by("code"))

    def draw() -> list[tuple]:
        people = People(random.Random("same seed"), stores)
        return [(s.email, s.phone, s.home.code) for s in (people.shopper(channels=(Channel.WEB,)) for _ in range(30))]

    assert draw() == draw()

