"""Upgrading an outbox that already holds a message twice (a split order's parcels once shared the order's
reference): both messages stay, the first as it was, and from then on a repeat is refused."""
import pytest
from django.db import IntegrityError, transaction

from notifications.models import OutboxMessage
from tests.test_migrations import migrate, upgrade

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def before_the_constraint():
    """The outbox as it was; whatever happens in the test, the database ends up upgraded again."""
    try:
        yield migrate([("notifications", "0001_initial")])
    finally:
        upgrade()


def test_an_upgrade_keeps_both_copies_of_a_repeated_message_and_then_refuses_a_third(before_the_constraint):
    Old = before_the_constraint.get_model("notifications", "OutboxMessage")
    shipped = {"medium": "email", "recipient": "ada@example.com", "template": "order_shipped", "subject": "On its way",
               "reference": "order:R1"}
    first, second = Old.objects.create(body="Parcel one.", **shipped), Old.objects.create(body="Parcel two.", **shipped)
    other = Old.objects.create(body="By text.", **{**shipped, "medium": "sms"})

    upgrade()

    assert list(OutboxMessage.objects.order_by("pk").values_list("pk", "body", "reference")) == [
        (first.pk, "Parcel one.", "order:R1"), (second.pk, "Parcel two.", f"order:R1#{second.pk}"),
        (other.pk, "By text.", "order:R1")]
    with pytest.raises(IntegrityError), transaction.atomic():
        OutboxMessage.objects.create(body="Parcel one, again.", **shipped)
