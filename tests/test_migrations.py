"""Upgrading a database made before the outbox moved to notifications and the low-stock alerts moved to
inventory: every row arrives with its id, a message that was waiting is still sent (once), a store already
alerted today is not alerted again, and new rows get fresh ids."""
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from customers.models import Customer, Interaction
from inventory import services as stock
from inventory.alerts import low_stock_alerts_send
from inventory.models import LowStockAlert
from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from tests.factories import LocationFactory, VariantFactory

BEFORE_THE_MOVES = [("customers", "0003_cart_reminded_state"), ("fulfillment", "0004_return_refund_tax"),
                    ("notifications", None)]

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets):
    """Migrate to `targets` and return the apps as they were there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1]]).apps


def upgrade() -> None:
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


@pytest.fixture
def before_the_moves():
    """The schema as it was; whatever happens in the test, the database ends up upgraded again."""
    try:
        yield migrate(BEFORE_THE_MOVES)
    finally:
        upgrade()


def test_an_upgrade_keeps_every_message_and_alert_and_sends_what_was_waiting(request):
    ada = Customer.objects.create(email="ada@example.com", first_name="Ada")
    store = LocationFactory(code="LDN-OXF", email="oxford@example.com")
    tee = VariantFactory(sku="TEE-NAVY-M")
    stock.stock_receive(location=store, variant=tee, quantity=2)
    stock.stock_set_reorder_point(location=store, variant=tee, quantity=5)

    old = request.getfixturevalue("before_the_moves")
    OldMessage, OldAlert = old.get_model("customers", "OutboxMessage"), old.get_model("fulfillment", "LowStockAlert")
    sent = OldMessage.objects.create(customer_id=ada.pk, medium="email", recipient=ada.email, template="pickup_ready",
                                     subject="Ready", body="It is ready.", status="sent", attempts=1,
                                     sent_at=timezone.now(), reference="order:R1")
    waiting = OldMessage.objects.create(customer_id=ada.pk, medium="email", recipient=ada.email,
                                        template="order_shipped", subject="On its way", body="It has left us.",
                                        reference="order:R2")
    alert = OldAlert.objects.create(location_id=store.pk, variant_id=tee.pk, day=timezone.localdate(), available=2)

    upgrade()

    assert list(OutboxMessage.objects.order_by("pk").values_list("pk", "customer_id", "status", "reference")) == [
        (sent.pk, ada.pk, "sent", "order:R1"), (waiting.pk, ada.pk, "pending", "order:R2")]
    assert list(LowStockAlert.objects.values_list("pk", "location", "variant", "day")) == [
        (alert.pk, store.pk, tee.pk, timezone.localdate())]

    assert messages_deliver_pending() == 1
    assert [m.subject for m in mail.outbox] == ["On its way"]
    assert ada.interactions.filter(kind=Interaction.Kind.MESSAGE_SENT, reference="order:R2").count() == 1
    assert low_stock_alerts_send() == 0  # told about the tee today, before the upgrade
    assert low_stock_alerts_send(now=timezone.now() + timedelta(days=1)) == 1
    assert LowStockAlert.objects.order_by("pk").last().pk > alert.pk
    assert OutboxMessage.objects.order_by("pk").last().pk > waiting.pk
