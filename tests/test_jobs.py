"""The periodic jobs, run eagerly: the schedule a fresh install gets, every job on an empty database and
every job run twice, and each job's rule (consent, abandoned carts, review requests, low-stock alerts,
pickups, holds, payments and refunds still due, the outbox sweep). Time is controlled by passing `now=`
to the services."""
import io
import re
import uuid
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core import mail, signing
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from catalog.models import Channel
from catalog.services import prices_from_refresh
from customers.models import Cart, Customer, Interaction
from customers.selectors import RESUME_SALT, recipient_for
from customers.services import (
    cart_add_line,
    cart_open_for_customer,
    cart_remove_line,
    customer_set_consent,
    customer_update,
)
from fulfillment.models import Fulfillment, Return
from fulfillment.problems import line_problems_settle
from fulfillment.services import (
    ReceivedUnits,
    fulfillment_mark_delivered,
    fulfillment_mark_ready,
    fulfillment_pack,
    fulfillment_ship,
    fulfillment_start_picking,
    pickup_collect,
    pickups_charge_before_lapse,
    pickups_expire,
    pickups_remind,
    return_receive,
    returns_refund_due,
    reviews_request,
)
from inventory import services as stock
from inventory.alerts import low_stock_alerts_send
from inventory.models import LowStockAlert, Reservation, StockLevel
from inventory.services import StockLine, reservations_release_expired
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from notifications.services import message_queue
from orders.engagement import abandoned_cart_reminders
from orders.exceptions import PaymentProviderError, VoucherRefused
from orders.models import Order, Payment, Voucher
from orders.popularity import products_popularity_refresh
from orders.selectors import voucher_evaluate
from orders.services import (
    CheckoutChoice,
    ShipTo,
    checkouts_settle_unfinished,
    order_place,
    payments_capture_due,
    payments_refund_overcharged,
    payments_report_lapsing,
    payments_void_stray,
)
from tests.customers.conftest import register
from tests.factories import PriceFactory, card

pytestmark = pytest.mark.django_db

EXPECTED_SCHEDULE = {
    "inventory.tasks.release_expired_reservations": 60,
    "notifications.tasks.deliver_pending_messages": 300,
    "fulfillment.tasks.expire_uncollected_pickups": 3600,
    "fulfillment.tasks.remind_pickups": 3600,
    "fulfillment.tasks.request_reviews": 3600,
    "orders.tasks.send_abandoned_cart_reminders": 3600,
    "inventory.tasks.send_low_stock_alerts": 3600,
    "orders.tasks.capture_due_payments": 900,
    "fulfillment.tasks.refund_due_returns": 900,
    "orders.tasks.refund_overcharged_payments": 900,
    "orders.tasks.void_stray_authorisations": 900,
    "orders.tasks.settle_unfinished_checkouts": 60,
    "fulfillment.tasks.charge_pickups_before_lapse": 3600,
    "orders.tasks.report_lapsing_authorisations": 3600,
    "fulfillment.tasks.settle_line_problems": 900,
    "orders.tasks.refresh_popularity": 3600,
    "catalog.tasks.refresh_prices_from": 60,
}
STORE_EMAIL = "oxford@hearthandthread.example"
STRIPE_DOWN = "http://127.0.0.1:1"  # nothing listens there


# Test doubles for the text-message provider (settings.SMS_BACKEND is a dotted path) -----------


class RefusingTextBackend:
    """An SMS provider that is down."""

    def send(self, *, to: str, body: str) -> None:
        raise ConnectionError("SMS provider down")


class CountingTextBackend:
    """An SMS provider that records every message it is asked to send (class-wide, thread-safe enough)."""

    sent: list[tuple[str, str]] = []

    def send(self, *, to: str, body: str) -> None:
        CountingTextBackend.sent.append((to, body))


# Helpers shared with tests/test_jobs_concurrency.py --------------------------------------------


def web() -> Channel:
    return Channel.objects.get(code=Channel.WEB)


def shopper(email: str = "ada@example.com", *, consent: tuple[str, ...] = (), phone: str = "",
            first_name: str = "Ada") -> Customer:
    """A registered customer, with a phone number and marketing consent on the channels named."""
    customer = register(email, first_name)
    if phone:
        customer = customer_update(customer=customer, channel=web(), phone=phone)
    if consent:
        customer = customer_set_consent(customer=customer, channel=web(), **{name: True for name in consent})
    return Customer.objects.get(pk=customer.pk)


def cart_with(customer: Customer, *lines) -> Cart:
    cart = cart_open_for_customer(customer=customer, channel=web())
    for variant, quantity in lines:
        cart_add_line(cart=cart, variant=variant, quantity=quantity, channel=web())
    return Cart.objects.get(pk=cart.pk)


def price_everywhere(variant, amount: str = "20.00") -> None:
    for channel in Channel.objects.all():
        PriceFactory(variant=variant, channel=channel, amount=amount)


def checkout(customer: Customer, cart: Cart, *, store=None, voucher_code: str = "", card_id: str = "",
             ship_to: ShipTo | None = None) -> Order:
    """Place the cart as an order: pickup paid at the store by default, or delivery by card."""
    if ship_to is None:
        choice = CheckoutChoice(channel=web(), fulfilment="pickup", email=customer.email, phone=customer.phone,
                                pickup_store=store, voucher_code=voucher_code, card=card_id,
                                payment_method="card" if card_id else "pay_at_pickup")
    else:
        choice = CheckoutChoice(channel=web(), fulfilment="delivery", delivery_method="standard", payment_method="card",
                                email=customer.email,
                                phone=customer.phone, ship_to=ship_to, card=card_id, voucher_code=voucher_code)
    return order_place(cart=cart, choice=choice, idempotency_key=str(uuid.uuid4()), fingerprint=str(uuid.uuid4()))


def pickup_order(customer: Customer, store, variant, quantity: int = 1, card_id: str = "") -> Order:
    return checkout(customer, cart_with(customer, (variant, quantity)), store=store, card_id=card_id)


def ready_for_pickup(order: Order) -> Fulfillment:
    fulfillment = order.fulfillments.get()
    fulfillment_start_picking(fulfillment=fulfillment)
    return fulfillment_mark_ready(fulfillment=fulfillment)


def collected(order: Order) -> Fulfillment:
    ready = ready_for_pickup(order)
    return pickup_collect(fulfillment=ready, code=ready.pickup_code)


def return_with_refund_due(customer: Customer, store, variant, stripe_client, settings) -> Return:
    """A card order collected and paid, one unit brought back while Stripe is unreachable: the goods are
    in, the refund is still owed."""
    order = pickup_order(customer, store, variant, card_id=card(stripe_client))
    collected(order)
    reachable, settings.STRIPE_API_BASE = settings.STRIPE_API_BASE, STRIPE_DOWN
    try:
        with pytest.raises(PaymentProviderError):
            return_receive(order=order, location=store,
                           received=[ReceivedUnits(line_id=order.lines.get().pk, quantity=1, condition="resellable")])
    finally:
        settings.STRIPE_API_BASE = reachable
    return Return.objects.get(order=order)


def refunds_at_stripe(stripe_client, payment_intent: str) -> list[int]:
    return [r.amount for r in stripe_client.v1.refunds.list(params={"payment_intent": payment_intent}).data]


def messages(template: str, **filters) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(template=template, **filters).order_by("id"))


def messages_sent_by(medium: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(medium=medium, status=OutboxMessage.Status.SENT).order_by("id"))


def emails(subject_part: str) -> list:
    return [m for m in mail.outbox if subject_part in m.subject]


@pytest.fixture
def goods(store, variant, other_variant):
    """A tee (20.00, 20 at the store) and a second tee (45.00, 5 at the store), priced on every channel."""
    price_everywhere(variant, "20.00")
    price_everywhere(other_variant, "45.00")
    stock.stock_receive(location=store, variant=variant, quantity=20)
    stock.stock_receive(location=store, variant=other_variant, quantity=5)
    return variant, other_variant


@pytest.fixture
def counting_sms(settings):
    CountingTextBackend.sent = []
    settings.SMS_BACKEND = "tests.test_jobs.CountingTextBackend"
    settings.MESSENGER_BACKEND = "tests.test_jobs.CountingTextBackend"
    return CountingTextBackend.sent


# The schedule ---------------------------------------------------------------------------------


def test_a_fresh_database_has_every_periodic_job_with_its_interval():
    jobs = PeriodicTask.objects.select_related("interval")

    assert jobs.count() == len(EXPECTED_SCHEDULE) == 17
    assert {job.task: (job.interval.every, job.interval.period) for job in jobs} == {
        task: (seconds, "seconds") for task, seconds in EXPECTED_SCHEDULE.items()
    }
    assert all(job.enabled for job in jobs)


def test_syncing_the_schedule_again_keeps_one_row_per_job():
    out = io.StringIO()
    call_command("sync_periodic_jobs", stdout=out)

    assert f"{len(EXPECTED_SCHEDULE)} periodic jobs in place" in out.getvalue()

    assert PeriodicTask.objects.count() == len(EXPECTED_SCHEDULE)
    assert set(PeriodicTask.objects.values_list("task", flat=True)) == set(EXPECTED_SCHEDULE)


def test_every_scheduled_task_is_a_registered_celery_task():
    from config.celery import app

    app.loader.import_default_modules()

    assert set(PeriodicTask.objects.values_list("task", flat=True)) <= set(app.tasks)


def test_every_job_runs_on_an_empty_database_and_does_nothing():
    from config.celery import app

    app.loader.import_default_modules()

    results = {name: app.tasks[name].delay().get() for name in PeriodicTask.objects.values_list("task", flat=True)}

    assert results == dict.fromkeys(EXPECTED_SCHEDULE, 0)
    assert OutboxMessage.objects.count() == 0


def every_job(now) -> dict[str, int]:
    """Each scheduled job's service run at `now`, the outbox sweep last, so what the others queued is sent."""
    jobs = {
        "inventory.tasks.release_expired_reservations": reservations_release_expired,
        "fulfillment.tasks.expire_uncollected_pickups": pickups_expire,
        "fulfillment.tasks.remind_pickups": pickups_remind,
        "fulfillment.tasks.request_reviews": reviews_request,
        "orders.tasks.send_abandoned_cart_reminders": abandoned_cart_reminders,
        "inventory.tasks.send_low_stock_alerts": low_stock_alerts_send,
        "orders.tasks.capture_due_payments": lambda now: payments_capture_due(),
        "fulfillment.tasks.refund_due_returns": lambda now: returns_refund_due(),
        "orders.tasks.refund_overcharged_payments": lambda now: payments_refund_overcharged(),
        "orders.tasks.void_stray_authorisations": lambda now: payments_void_stray(),
        "orders.tasks.settle_unfinished_checkouts": checkouts_settle_unfinished,
        "fulfillment.tasks.charge_pickups_before_lapse": lambda now: pickups_charge_before_lapse(),
        "orders.tasks.report_lapsing_authorisations": payments_report_lapsing,
        "fulfillment.tasks.settle_line_problems": line_problems_settle,
        "orders.tasks.refresh_popularity": products_popularity_refresh,
        "catalog.tasks.refresh_prices_from": prices_from_refresh,
        "notifications.tasks.deliver_pending_messages": lambda now: messages_deliver_pending(),
    }
    assert set(jobs) == set(EXPECTED_SCHEDULE)
    return {task: job(now=now) for task, job in jobs.items()}


def test_running_every_job_twice_sends_nothing_more(goods, store, counting_sms):
    tee, hoodie = goods
    store.email = STORE_EMAIL
    store.save()
    ada = shopper(phone="+447700900123", consent=("sms",))
    grace = shopper("grace@example.com", first_name="Grace", consent=("email",))
    waiting = ready_for_pickup(pickup_order(ada, store, tee))
    done = collected(pickup_order(grace, store, tee))
    cart_with(ada, (hoodie, 1))
    stock.stock_reserve(lines=[StockLine(store, tee, 1)], channel=web())
    stock.stock_set_reorder_point(location=store, variant=hoodie, quantity=5)
    reminder_due = waiting.expires_at - timedelta(hours=12)
    all_due = max(waiting.expires_at, done.completed_at + django_settings.REVIEW_REQUEST_DELAY)

    for moment in (reminder_due, all_due):
        first = every_job(moment)
        received = (OutboxMessage.objects.count(), len(mail.outbox), len(counting_sms))
        again = every_job(moment)

        assert first["notifications.tasks.deliver_pending_messages"] > 0
        assert again == dict.fromkeys(EXPECTED_SCHEDULE, 0)
        assert (OutboxMessage.objects.count(), len(mail.outbox), len(counting_sms)) == received
    assert {m.template for m in messages_sent_by("sms")} >= {"pickup_reminder", "pickup_expired", "abandoned_cart"}
    assert {m.template for m in messages_sent_by("email")} >= {"review_request", "low_stock", "pickup_expired"}


def test_a_job_that_lost_its_own_mark_still_asks_nobody_twice(goods, store, counting_sms):
    tee, _ = goods
    ada = shopper(phone="+447700900123", consent=("sms",))
    done = collected(pickup_order(ada, store, tee))
    due = done.completed_at + django_settings.REVIEW_REQUEST_DELAY
    assert reviews_request(now=due) == 1

    Order.objects.update(review_requested_at=None)  # a restored backup, a job retried from before its commit

    assert reviews_request(now=due) == 0
    messages_deliver_pending()
    assert len([body for _, body in counting_sms if "how was your order" in body]) == 1


# Consent --------------------------------------------------------------------------------------


def test_no_marketing_without_consent_on_any_channel(goods):
    tee, _ = goods
    ada = shopper(phone="+447700900123")
    cart_with(ada, (tee, 1))

    sent = abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25))

    assert sent == 0
    assert OutboxMessage.objects.filter(marketing=True).count() == 0
    assert Voucher.objects.count() == 0


def test_marketing_goes_only_on_the_channel_consented_to(goods, counting_sms):
    tee, _ = goods
    ada = shopper(phone="+447700900123", consent=("sms",))
    cart_with(ada, (tee, 1))

    abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25))
    messages_deliver_pending()

    assert [(m.medium, m.recipient) for m in messages("abandoned_cart")] == [("sms", "+447700900123")]
    assert emails("basket") == []
    assert len(counting_sms) == 1


def test_marketing_uses_the_first_consented_channel_in_order_email_sms_messenger(goods):
    tee, _ = goods
    both = shopper("both@example.com", phone="+447700900001", consent=("sms", "email"))
    chat = shopper("chat@example.com", phone="+447700900002", consent=("messenger",))
    cart_with(both, (tee, 1))
    cart_with(chat, (tee, 1))

    abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25))

    assert sorted((m.recipient, m.medium) for m in messages("abandoned_cart")) == [
        ("+447700900002", "messenger"), ("both@example.com", "email")]


def test_withdrawn_consent_stops_marketing(goods):
    tee, _ = goods
    ada = shopper(consent=("email",))
    customer_set_consent(customer=ada, channel=web(), email=False)
    cart_with(ada, (tee, 1))

    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25)) == 0
    assert messages("abandoned_cart") == []


def test_service_messages_go_by_email_without_any_consent(goods, store):
    tee, _ = goods
    ada = shopper()
    ready = ready_for_pickup(pickup_order(ada, store, tee))

    pickups_remind(now=ready.expires_at - timedelta(hours=12))
    messages_deliver_pending()

    assert [(m.medium, m.marketing) for m in messages("pickup_reminder")] == [("email", False)]
    assert [m.to for m in emails("Reminder: collect order")] == [["ada@example.com"]]


def test_a_phone_on_the_account_gets_every_service_text_and_no_marketing_text_without_consent(
        goods, store, counting_sms):
    tee, hoodie = goods
    ada = shopper(phone="+447700900123")
    order = pickup_order(ada, store, tee)
    ready = ready_for_pickup(order)
    pickups_remind(now=ready.expires_at - timedelta(hours=12))
    pickup_collect(fulfillment=ready, code=ready.pickup_code)
    cart_with(ada, (hoodie, 1))
    later = timezone.now() + timedelta(days=30)

    assert abandoned_cart_reminders(now=later) == 0 and reviews_request(now=later) == 0
    messages_deliver_pending()

    texts = {m.template: m.body for m in messages_sent_by("sms")}
    assert set(texts) == {"order_confirmation", "pickup_ready", "pickup_reminder", "pickup_collected"}
    assert sorted(counting_sms) == sorted(("+447700900123", body) for body in texts.values())
    assert f"order {order.number}, £20.00" in texts["order_confirmation"]
    assert f"Pickup code {ready.pickup_code}" in texts["pickup_ready"]
    assert not OutboxMessage.objects.filter(marketing=True).exists() and Voucher.objects.count() == 0


# Abandoned carts ------------------------------------------------------------------------------


def test_a_cart_idle_for_a_day_gets_one_reminder_with_a_voucher_and_a_link(goods):
    tee, _ = goods
    ada = shopper(consent=("email",))
    cart = cart_with(ada, (tee, 2))
    idle = cart.updated_at + django_settings.ABANDONED_CART_AFTER

    assert django_settings.ABANDONED_CART_AFTER == timedelta(hours=24)
    assert abandoned_cart_reminders(now=idle - timedelta(seconds=1)) == 0
    assert abandoned_cart_reminders(now=idle) == 1
    messages_deliver_pending()

    [reminder] = emails("Your basket is waiting")
    voucher = Voucher.objects.get()
    assert reminder.to == ["ada@example.com"]
    assert voucher.code in reminder.body and tee.name in reminder.body
    assert (voucher.kind, voucher.value, voucher.max_uses, voucher.max_uses_per_customer) == (
        Voucher.Kind.PERCENT, Decimal(django_settings.ABANDONED_CART_DISCOUNT_PERCENT), 1, 1)
    assert voucher.valid_from == idle
    assert timedelta(days=1) <= voucher.valid_until - voucher.valid_from <= timedelta(days=7)
    assert voucher.valid_until - voucher.valid_from == timedelta(days=django_settings.ABANDONED_CART_VOUCHER_DAYS)


def test_the_idle_time_comes_from_settings(goods, settings):
    settings.ABANDONED_CART_AFTER = timedelta(hours=2)
    tee, _ = goods
    cart = cart_with(shopper(consent=("email",)), (tee, 1))

    assert abandoned_cart_reminders(now=cart.updated_at + timedelta(hours=1, minutes=59)) == 0
    assert abandoned_cart_reminders(now=cart.updated_at + timedelta(hours=2)) == 1


def test_the_reminder_link_names_the_same_cart(goods):
    tee, _ = goods
    cart = cart_with(shopper(consent=("email",)), (tee, 1))

    abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25))

    link = re.search(r"https?://\S+", messages("abandoned_cart")[0].body).group(0)
    assert link.startswith(django_settings.SITE_URL)
    resume = parse_qs(urlsplit(link).query)["resume"][0]
    assert signing.loads(resume, salt=RESUME_SALT) == str(cart.token)


def test_the_reminder_link_opens_on_the_site_it_points_at(goods):
    """SITE_URL is this Django site (README: 'links in emails and SMS'), so the link must resolve here."""
    tee, _ = goods
    cart_with(shopper(consent=("email",)), (tee, 1))
    abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25))
    link = urlsplit(re.search(r"https?://\S+", messages("abandoned_cart")[0].body).group(0))

    response = Client().get(link.path, parse_qs(link.query))

    assert response.status_code != 404, f"the reminder links to {link.path}?resume=…, which this site does not serve"


def test_the_voucher_is_single_use_and_valid_for_a_few_days(goods, store, settings):
    settings.ABANDONED_CART_AFTER = timedelta(0)  # idle now, so the voucher is valid at the real clock
    tee, _ = goods
    ada, grace = shopper(consent=("email",)), shopper("grace@example.com", first_name="Grace")
    cart = cart_with(ada, (tee, 1))
    abandoned_cart_reminders()
    voucher = Voucher.objects.get()

    order = checkout(ada, cart, store=store, voucher_code=voucher.code.lower())

    assert (order.subtotal_amount, order.discount_amount, order.total_amount) == (
        Decimal("20.00"), Decimal("2.00"), Decimal("18.00"))
    with pytest.raises(VoucherRefused) as used:
        voucher_evaluate(code=voucher.code, subtotal=Decimal("20.00"), currency="GBP", customer=grace)
    assert used.value.detail["reason"] == "used_up"
    fresh = Voucher.objects.create(code="BACK-FRESH", kind=voucher.kind, value=voucher.value, max_uses=1,
                                   valid_from=voucher.valid_from, valid_until=voucher.valid_until)
    with pytest.raises(VoucherRefused) as late:
        voucher_evaluate(code=fresh.code, subtotal=Decimal("20.00"), currency="GBP", customer=grace,
                         at=voucher.valid_until)
    assert late.value.detail["reason"] == "expired"


def test_never_a_second_reminder_for_the_same_cart(goods):
    tee, _ = goods
    cart_with(shopper(consent=("email",)), (tee, 1))

    sent = [abandoned_cart_reminders(now=timezone.now() + timedelta(hours=h)) for h in (25, 49, 97)]

    assert sent == [1, 0, 0]
    assert len(messages("abandoned_cart")) == 1
    assert Voucher.objects.count() == 1


def test_a_changed_cart_that_goes_idle_again_gets_a_new_reminder(goods):
    tee, hoodie = goods
    ada = shopper(consent=("email",))
    cart = cart_with(ada, (tee, 1))
    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25)) == 1

    cart_add_line(cart=cart, variant=hoodie, quantity=1, channel=web())

    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=1)) == 0  # changed, not idle yet
    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25)) == 1
    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=50)) == 0
    reminders = messages("abandoned_cart")
    assert len(reminders) == 2 and hoodie.name in reminders[1].body
    assert Voucher.objects.count() == 2


def test_a_cart_put_back_as_it_was_when_reminded_gets_no_second_reminder_nor_voucher(goods):
    tee, hoodie = goods
    cart = cart_with(shopper(consent=("email",)), (tee, 1))
    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25)) == 1
    cart_add_line(cart=cart, variant=hoodie, quantity=1, channel=web())
    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25)) == 1

    cart_remove_line(cart=cart, line=cart.lines.get(variant=hoodie), channel=web())

    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25)) == 0
    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=50)) == 0
    messages_deliver_pending()
    assert len(emails("Your basket is waiting")) == 2 and Voucher.objects.count() == 2


def test_no_reminder_when_nothing_in_the_cart_is_still_available(goods, store):
    tee, _ = goods
    cart_with(shopper(consent=("email",)), (tee, 2))
    stock.stock_sell(lines=[StockLine(store, tee, 19)], reference="till")  # one left, the cart wants two

    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25)) == 0
    assert messages("abandoned_cart") == [] and Voucher.objects.count() == 0


def test_the_reminder_lists_only_what_is_still_available(goods, store):
    tee, hoodie = goods
    cart_with(shopper(consent=("email",)), (tee, 1), (hoodie, 1))
    stock.stock_sell(lines=[StockLine(store, hoodie, 5)], reference="till")

    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25)) == 1

    body = messages("abandoned_cart")[0].body
    assert tee.name in body and hoodie.name not in body


def test_empty_guest_and_ordered_carts_get_no_reminder(goods, store):
    tee, _ = goods
    cart_open_for_customer(customer=shopper(consent=("email",)), channel=web())  # empty
    guest = Cart.objects.create(channel=web())
    cart_add_line(cart=guest, variant=tee, quantity=1, channel=web())
    grace = shopper("grace@example.com", consent=("email",))
    checkout(grace, cart_with(grace, (tee, 1)), store=store)

    assert abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25)) == 0
    assert messages("abandoned_cart") == []


# Review requests ------------------------------------------------------------------------------


def test_a_review_is_asked_for_once_after_the_delay_by_email(goods, store):
    tee, _ = goods
    ada = shopper(consent=("email",))
    order = pickup_order(ada, store, tee)
    done = collected(order).completed_at
    delay = django_settings.REVIEW_REQUEST_DELAY

    assert reviews_request(now=done + delay - timedelta(seconds=1)) == 0
    assert reviews_request(now=done + delay) == 1
    assert reviews_request(now=done + delay * 2) == 0
    messages_deliver_pending()

    [asked] = emails("How was your order")
    assert asked.to == ["ada@example.com"] and order.number in asked.subject
    assert [(m.medium, m.marketing) for m in messages("review_request")] == [("email", True)]
    assert Order.objects.get(pk=order.pk).review_requested_at == done + delay


def test_the_review_delay_comes_from_settings(goods, store, settings):
    settings.REVIEW_REQUEST_DELAY = timedelta(hours=6)
    tee, _ = goods
    done = collected(pickup_order(shopper(consent=("email",)), store, tee)).completed_at

    assert reviews_request(now=done + timedelta(hours=5)) == 0
    assert reviews_request(now=done + timedelta(hours=6)) == 1


def test_a_review_request_goes_by_text_to_someone_who_said_yes_only_to_texts(goods, store, counting_sms):
    tee, _ = goods
    ada = shopper(phone="+447700900123", consent=("sms", "messenger"))
    order = pickup_order(ada, store, tee)
    done = collected(order).completed_at
    messages_deliver_pending()
    counting_sms.clear()

    assert reviews_request(now=done + timedelta(days=30)) == 1
    messages_deliver_pending()

    [(phone, text)] = counting_sms
    assert phone == "+447700900123" and f"how was your order {order.number}?" in text
    link = urlsplit(re.search(r"https?://\S+", text).group(0))
    opened = Client().get(link.path, parse_qs(link.query))
    assert opened.status_code == 200 and order.number in opened.content.decode()
    assert emails("How was your order") == []
    assert [(m.medium, m.marketing) for m in messages("review_request")] == [("sms", True)]


def test_a_review_request_goes_once_on_the_first_medium_consented_to(goods, store):
    tee, _ = goods
    both = shopper(phone="+447700900001", consent=("sms", "email"))
    chat = shopper("chat@example.com", phone="+447700900002", consent=("messenger",))
    for customer in (both, chat):
        collected(pickup_order(customer, store, tee))

    assert reviews_request(now=timezone.now() + timedelta(days=30)) == 2

    assert sorted((m.recipient, m.medium) for m in messages("review_request")) == [
        ("+447700900002", "messenger"), ("ada@example.com", "email")]


def test_no_review_request_without_any_consent(goods, store, counting_sms):
    tee, _ = goods
    ada = shopper(phone="+447700900123")
    done = collected(pickup_order(ada, store, tee)).completed_at
    messages_deliver_pending()
    counting_sms.clear()

    assert reviews_request(now=done + timedelta(days=30)) == 0
    messages_deliver_pending()

    assert messages("review_request") == [] and counting_sms == [] and emails("How was your order") == []
    assert Order.objects.get(customer=ada).review_requested_at is not None  # not asked again later either


def test_no_review_request_before_the_order_is_in_the_shoppers_hands(goods, store):
    tee, _ = goods
    ready_for_pickup(pickup_order(shopper(consent=("email",)), store, tee))

    assert reviews_request(now=timezone.now() + timedelta(days=30)) == 0
    assert messages("review_request") == []


def test_a_delivered_parcel_is_followed_by_a_review_request(goods, stripe_double):
    tee, _ = goods
    ada = shopper(consent=("email",))
    order = checkout(ada, cart_with(ada, (tee, 1)), card_id=card(stripe_double),
                     ship_to=ShipTo(name="Ada", line1="1 Strand", city="London", postcode="WC2N 5HR",
                                    latitude=51.508, longitude=-0.125))
    parcel = order.fulfillments.get()
    fulfillment_start_picking(fulfillment=parcel)
    fulfillment_pack(fulfillment=parcel, carrier="Royal Mail", tracking_number="RM1GB")
    fulfillment_ship(fulfillment=parcel)
    assert reviews_request(now=timezone.now() + timedelta(days=30)) == 0  # shipped, not delivered yet

    delivered = fulfillment_mark_delivered(fulfillment=parcel)

    assert reviews_request(now=delivered.completed_at + django_settings.REVIEW_REQUEST_DELAY) == 1
    assert len(messages("review_request", recipient="ada@example.com")) == 1


# Low-stock alerts -----------------------------------------------------------------------------


def stock_level(location, variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def test_a_store_is_told_once_a_day_when_an_item_falls_to_its_reorder_point(goods, store):
    tee, _ = goods
    store.email = STORE_EMAIL
    store.save()
    stock.stock_set_reorder_point(location=store, variant=tee, quantity=3)
    stock.stock_sell(lines=[StockLine(store, tee, 16)], reference="till")  # 4 left
    now = timezone.localtime().replace(hour=9, minute=0)  # five minutes later is the same day at any time of day

    assert low_stock_alerts_send(now=now) == 0
    stock.stock_reserve(lines=[StockLine(store, tee, 1)], channel=web())  # 3 available
    assert low_stock_alerts_send(now=now) == 1
    assert low_stock_alerts_send(now=now + timedelta(minutes=5)) == 0
    messages_deliver_pending()

    [alert] = emails("Low stock at")
    assert alert.to == [STORE_EMAIL]
    assert "TEE-NAVY-M" in alert.body and "3 available" in alert.body
    assert list(LowStockAlert.objects.values_list("location", "variant", "available")) == [(store.pk, tee.pk, 3)]
    assert low_stock_alerts_send(now=now + timedelta(days=1)) == 1  # still low the next day: told again


def test_an_item_that_falls_low_later_the_same_day_is_told_in_its_own_email(goods, store):
    tee, hoodie = goods
    store.email = STORE_EMAIL
    store.save()
    stock.stock_set_reorder_point(location=store, variant=tee, quantity=20)
    stock.stock_set_reorder_point(location=store, variant=hoodie, quantity=1)
    now = timezone.localtime().replace(hour=9, minute=0)  # three hours later is the same day at any time of day
    assert low_stock_alerts_send(now=now) == 1  # the tee, in the morning
    stock.stock_sell(lines=[StockLine(store, hoodie, stock_level(store, hoodie).on_hand - 1)], reference="till")

    assert low_stock_alerts_send(now=now + timedelta(hours=3)) == 1  # the hoodie, that afternoon
    messages_deliver_pending()

    bodies = [m.body for m in emails("Low stock at")]
    assert len(bodies) == 2 and tee.sku in bodies[0] and hoodie.sku in bodies[1] and tee.sku not in bodies[1]


def test_each_store_and_item_is_alerted_on_its_own(goods, store, other_store):
    tee, hoodie = goods
    for location, address in ((store, STORE_EMAIL), (other_store, "arndale@hearthandthread.example")):
        location.email = address
        location.save()
    stock.stock_receive(location=other_store, variant=tee, quantity=1)
    stock.stock_set_reorder_point(location=store, variant=tee, quantity=20)
    stock.stock_set_reorder_point(location=store, variant=hoodie, quantity=5)
    stock.stock_set_reorder_point(location=other_store, variant=tee, quantity=2)
    stock.stock_set_reorder_point(location=other_store, variant=hoodie, quantity=0)  # alerts off

    assert low_stock_alerts_send() == 2
    messages_deliver_pending()

    by_store = {tuple(m.to): m.body for m in emails("Low stock at")}
    assert set(by_store) == {(STORE_EMAIL,), ("arndale@hearthandthread.example",)}
    assert "TEE-NAVY-M" in by_store[(STORE_EMAIL,)] and "TEE-NAVY-L" in by_store[(STORE_EMAIL,)]
    assert "TEE-NAVY-L" not in by_store[("arndale@hearthandthread.example",)]
    assert set(LowStockAlert.objects.values_list("location", "variant")) == {
        (store.pk, tee.pk), (store.pk, hoodie.pk), (other_store.pk, tee.pk)}


def test_no_alert_without_a_store_email_or_a_reorder_point(goods, store):
    tee, hoodie = goods
    stock.stock_set_reorder_point(location=store, variant=tee, quantity=50)
    assert low_stock_alerts_send() == 0  # the store has no email address

    store.email = STORE_EMAIL
    store.save()
    stock.stock_set_reorder_point(location=store, variant=tee, quantity=0)

    assert low_stock_alerts_send() == 0
    assert LowStockAlert.objects.count() == 0


# Pickups, holds and payments ------------------------------------------------------------------


def test_a_pickup_is_reminded_once_a_day_before_its_hold_ends(goods, store):
    tee, _ = goods
    ready = ready_for_pickup(pickup_order(shopper(), store, tee))

    assert pickups_remind(now=ready.expires_at - timedelta(hours=25)) == 0
    assert pickups_remind(now=ready.expires_at - timedelta(hours=23)) == 1
    assert pickups_remind(now=ready.expires_at - timedelta(hours=1)) == 0

    assert len(messages("pickup_reminder")) == 1


def test_an_uncollected_pickup_expires_and_its_stock_comes_back(goods, store):
    tee, _ = goods
    order = pickup_order(shopper(), store, tee, quantity=2)
    ready = ready_for_pickup(order)

    assert pickups_expire(now=ready.expires_at - timedelta(seconds=1)) == 0
    assert pickups_expire(now=ready.expires_at) == 1
    assert pickups_expire(now=ready.expires_at + timedelta(days=1)) == 0

    level = StockLevel.objects.get(location=store, variant=tee)
    assert (level.on_hand, level.committed) == (20, 0)
    assert Fulfillment.objects.get(pk=ready.pk).status == Fulfillment.Status.EXPIRED
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
    assert len(messages("pickup_expired")) == 1


def test_an_expired_hold_is_released_once(goods, store):
    tee, _ = goods
    hold = stock.stock_reserve(lines=[StockLine(store, tee, 3)], channel=web())

    assert reservations_release_expired(now=hold.expires_at - timedelta(seconds=1)) == 0
    assert reservations_release_expired(now=hold.expires_at) == 1
    assert reservations_release_expired(now=hold.expires_at + timedelta(hours=1)) == 0

    assert Reservation.objects.get(pk=hold.pk).status == Reservation.Status.EXPIRED
    assert StockLevel.objects.get(location=store, variant=tee).reserved == 0


def test_a_payment_left_uncaptured_by_an_outage_is_captured_once_later(goods, store, settings,
                                                                         stripe_double):
    tee, _ = goods
    order = pickup_order(shopper(), store, tee, card_id=card(stripe_double))
    reachable = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = STRIPE_DOWN  # Stripe unreachable while the goods are handed over
    collected(order)
    assert Payment.objects.get(order=order).status == Payment.Status.AUTHORISED

    settings.STRIPE_API_BASE = reachable

    assert payments_capture_due() == 1
    assert payments_capture_due() == 0
    payment = Payment.objects.get(order=order)
    assert (payment.status, payment.captured_amount) == (Payment.Status.CAPTURED, Decimal("20.00"))
    intent = stripe_double.v1.payment_intents.retrieve(payment.stripe_payment_intent)
    charge = intent.latest_charge  # localstripe reports a capture on the charge, not as amount_received
    assert (intent.status, charge.captured, charge.amount - charge.amount_refunded) == ("succeeded", True, 2000)


def test_a_return_whose_refund_failed_is_refunded_once_later(goods, store, settings, stripe_double):
    tee, _ = goods
    owed = return_with_refund_due(shopper(), store, tee, stripe_double, settings)
    assert (owed.status, owed.refund_id, owed.refund_amount) == (Return.Status.RECEIVED, None, Decimal("20.00"))

    assert returns_refund_due() == 1
    assert returns_refund_due() == 0

    payment = Payment.objects.get(order=owed.order)
    assert Return.objects.get(pk=owed.pk).refund.amount == Decimal("20.00")
    assert payment.refunded_amount == Decimal("20.00")
    assert refunds_at_stripe(stripe_double, payment.stripe_payment_intent) == [2000]


# The outbox -----------------------------------------------------------------------------------


def test_the_outbox_sweep_sends_each_waiting_message_once():
    ada = shopper()
    with transaction.atomic():
        for n in (1, 2):
            message_queue(template="pickup_reminder", to=recipient_for(ada), reference=f"order:T{n}",
                          context={"order": {"number": f"T{n}"}, "store": {"name": "Oxford Street"},
                                   "fulfillment": {"pickup_code": "ABCDEFGH"}})

    assert messages_deliver_pending() == 2
    assert messages_deliver_pending() == 0

    assert sorted(m.subject for m in mail.outbox) == [
        "Reminder: collect order T1 by tomorrow", "Reminder: collect order T2 by tomorrow"]
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(OutboxMessage.Status.SENT, 1)}
    assert ada.interactions.filter(kind=Interaction.Kind.MESSAGE_SENT).count() == 2


def test_a_text_message_the_provider_refuses_is_kept_failed_with_the_reason(goods, settings):
    settings.SMS_BACKEND = "tests.test_jobs.RefusingTextBackend"
    tee, _ = goods
    cart_with(shopper(phone="+447700900123", consent=("sms",)), (tee, 1))
    abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25))

    assert messages_deliver_pending() == 0

    [text] = messages("abandoned_cart")
    assert (text.medium, text.status, text.attempts) == ("sms", OutboxMessage.Status.FAILED, 1)
    assert "SMS provider down" in text.last_error


def test_a_failed_text_message_is_sent_once_by_a_later_sweep(goods, settings, counting_sms):
    tee, _ = goods
    cart_with(shopper(phone="+447700900123", consent=("sms",)), (tee, 1))
    abandoned_cart_reminders(now=timezone.now() + timedelta(hours=25))
    settings.SMS_BACKEND = "tests.test_jobs.RefusingTextBackend"
    messages_deliver_pending()

    settings.SMS_BACKEND = "tests.test_jobs.CountingTextBackend"
    assert messages_deliver_pending() == 1
    assert messages_deliver_pending() == 0

    [text] = messages("abandoned_cart")
    assert text.status == OutboxMessage.Status.SENT and text.last_error == ""
    assert counting_sms == [("+447700900123", text.body)]
