"""Upgrading a database whose phones were free text: every customer's, address's and order's phone that is a valid
number is rewritten in E.164, so the till, the counter and the desk find it; what is not a number is left as it
was. Runs on SQLite and PostgreSQL alike."""
from decimal import Decimal

import pytest

from catalog.models import Channel
from customers.models import Address, Customer
from orders.models import Order
from tests.test_migrations import migrate, upgrade

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def before_e164():
    """The schema before phones were kept in E.164; the database ends up upgraded again whatever happens."""
    try:
        yield migrate([("customers", "0005_visitors_and_arrivals"), ("orders", "0008_order_attribution")])
    finally:
        upgrade()


def test_stored_phones_are_rewritten_in_e164_and_free_text_is_left_alone(before_e164):
    OldCustomer = before_e164.get_model("customers", "Customer")
    OldAddress = before_e164.get_model("customers", "Address")
    OldOrder = before_e164.get_model("orders", "Order")
    ada = OldCustomer.objects.create(email="ada@example.com", phone="+44 (0)7700 900123")
    sam = OldCustomer.objects.create(email="sam@example.com", phone="ask for Sam")
    nobody = OldCustomer.objects.create(email="nobody@example.com", phone="")
    OldAddress.objects.create(customer=ada, recipient="Ada", line1="1 Mill Lane", city="Leeds", postcode="LS1 1AA",
                              phone="0113 496 0000")
    web = Channel.objects.get(code=Channel.WEB).pk
    for number, phone in (("R1", "07700-900 456"), ("R2", "0033 6 12 34 56 78"), ("R3", "07700 90012")):
        OldOrder.objects.create(number=number, channel_id=web, fulfilment="delivery", email="ada@example.com",
                                phone=phone, currency="GBP", subtotal_amount=Decimal("0"), total_amount=Decimal("0"))

    upgrade()

    assert dict(Customer.objects.filter(pk__in=[ada.pk, sam.pk, nobody.pk]).values_list("email", "phone")) == {
        "ada@example.com": "+447700900123", "sam@example.com": "ask for Sam", "nobody@example.com": ""}
    assert Address.objects.get().phone == "+441134960000"
    assert dict(Order.objects.values_list("number", "phone")) == {
        "R1": "+447700900456", "R2": "+33612345678", "R3": "07700 90012"}
