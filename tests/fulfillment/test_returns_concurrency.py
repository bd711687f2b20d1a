"""A return received twice at the same moment, on PostgreSQL with one connection per submit: the desk's form
sent twice (one idempotency key) or a return code received at two tills makes one return, one restock and one
refund at the Stripe double. Each test commits its data (transaction=True) so the other connections see it."""
import pytest

from fulfillment.models import Return
from fulfillment.services import ReceivedUnits, return_receive
from inventory.selectors import ledger_drift
from tests.fulfillment.test_returns_desk import (  # noqa: F401  (phone is a fixture)
    DESK,
    asked_back,
    buckets,
    desk_preview,
    desk_user,
    phone,
    refunds_at_stripe,
    sent_on,
    shipped_order,
)
from tests.inventory.test_concurrency import run_at_once
from tests.journeys.test_pickup_and_returns import staff_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_same_walk_in_key_twice_at_once_receives_and_refunds_once(shelf, store, other_store, phone,
                                                                       stripe_double):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))
    one_unit = [ReceivedUnits(line_id=order.lines.get().pk, quantity=1, condition="damaged")]

    results = run_at_once(2, lambda i: return_receive(order=order, location=other_store, received=one_unit,
                                                      idempotency_key="desk-form-1"))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0].code == results[1].code
    assert Return.objects.filter(order=order).count() == 1
    assert buckets(other_store, tee) == (1, 1, 0)
    assert refunds_at_stripe(stripe_double, order) == [2000]
    assert ledger_drift(location=other_store) == []


def test_the_desk_form_confirmed_twice_at_once_refunds_once(shelf, store, other_store, phone, stripe_double):
    tee, _ = shelf
    order = shipped_order(phone, stripe_double, staff_of(store))
    desks = [desk_user(other_store, username="mo"), desk_user(other_store, username="mo")]
    confirm = sent_on(desk_preview(desks[0], order.number, order.lines.get().pk, ("resellable", "")), "confirm")

    answers = run_at_once(2, lambda i: desks[i].post(DESK, confirm))

    assert [a.status_code for a in answers] == [302, 302], answers
    assert answers[0]["Location"] == answers[1]["Location"]
    assert Return.objects.filter(order=order).count() == 1
    assert buckets(other_store, tee) == (1, 0, 1)
    assert refunds_at_stripe(stripe_double, order) == [2000]


def test_one_return_code_received_at_two_tills_at_once_refunds_once(shelf, store, other_store, phone,
                                                                     stripe_double):
    tee, _ = shelf
    order, code = asked_back(phone, stripe_double, store, 2)
    requested = Return.objects.get(code=code)
    both = [ReceivedUnits(line_id=order.lines.get().pk, quantity=2, condition="resellable")]

    results = run_at_once(2, lambda i: return_receive(order=order, location=other_store, received=both,
                                                      return_request=requested))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert {r.code for r in results} == {code}
    assert buckets(other_store, tee) == (2, 0, 2)
    assert refunds_at_stripe(stripe_double, order) == [4395]  # both tees and the delivery, once
