"""The outbox as a person receives it: service messages by email and by text to whatever address they
gave, consent or not, never by messenger; each message about one thing (a fulfilment, a return, an order)
once per medium however often it is queued; and messages about nothing in particular never merged."""
import pytest
from django.core import mail
from django.db import transaction

from notifications.delivery import messages_deliver_pending
from notifications.models import OutboxMessage
from notifications.recipients import Recipient
from notifications.services import message_queue
from tests.test_jobs import counting_sms  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

GUEST = Recipient(email="guest@example.com", phone="+447700900555")
READY = {"order": {"number": "R2TEST01"}, "store": {"name": "Oxford Street"},
         "fulfillment": {"pickup_code": "ABCD2345"}, "order_link": "https://shop.example/orders/R2TEST01/?key=k"}


def queue(*, to: Recipient = GUEST, template: str = "pickup_reminder", reference: str = "fulfillment:1",
          marketing: bool = False) -> list[OutboxMessage]:
    with transaction.atomic():
        return message_queue(template=template, to=to, reference=reference, marketing=marketing, context=READY)


def test_a_guest_gets_a_service_message_by_email_and_by_text_without_any_consent(counting_sms):
    queue(to=Recipient(email="guest@example.com", phone="+447700900555", consents=frozenset({"messenger"})))

    assert messages_deliver_pending() == 2

    assert [(m.to, m.subject) for m in mail.outbox] == [
        (["guest@example.com"], "Reminder: collect order R2TEST01 by tomorrow")]
    [(phone, text)] = counting_sms
    assert phone == "+447700900555"
    assert "Code ABCD2345" in text and "https://shop.example/orders/R2TEST01/?key=k" in text
    assert sorted(OutboxMessage.objects.values_list("medium", "marketing")) == [("email", False), ("sms", False)]


def test_marketing_goes_nowhere_without_consent():
    assert queue(template="review_request", marketing=True) == []

    assert messages_deliver_pending() == 0
    assert OutboxMessage.objects.count() == 0


def test_the_same_message_about_the_same_thing_is_queued_and_sent_once(counting_sms):
    first = queue()
    again = queue()
    messages_deliver_pending()

    assert [m.medium for m in first] == ["email", "sms"] and again == []
    assert len(mail.outbox) == 1 and len(counting_sms) == 1
    assert OutboxMessage.objects.count() == 2


def test_another_thing_or_another_message_about_it_is_queued_anew():
    queue(reference="fulfillment:1")

    other_parcel = queue(reference="fulfillment:2")
    other_message = queue(reference="fulfillment:1", template="pickup_collected")

    assert [m.medium for m in other_parcel] == [m.medium for m in other_message] == ["email", "sms"]
    messages_deliver_pending()
    assert sorted(m.subject for m in mail.outbox) == [
        "Reminder: collect order R2TEST01 by tomorrow", "Reminder: collect order R2TEST01 by tomorrow",
        "You collected order R2TEST01"]


def test_messages_about_nothing_in_particular_are_never_taken_for_repeats():
    queue(reference="")
    queue(reference="")

    assert messages_deliver_pending() == 4
    assert len(mail.outbox) == 2
