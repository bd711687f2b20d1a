"""The demo pays by card against a Stripe double: `load_demo_data` on its own starts one for the load (and
stops it) unless STRIPE_API_BASE names one, and `manage.py demo` starts it before loading the demo data."""
import io

import pytest
import stripe
from django.core.management import call_command

from demo import local_stripe as demo_stripe
from demo.management.commands import demo as demo_command
from orders.stripe_double import free_port, port_open, start_local_stripe


@pytest.mark.django_db
def test_the_load_starts_a_stripe_double_when_none_is_configured_and_stops_it_after(settings, monkeypatch,
                                                                                    tmp_path):
    port = free_port()
    monkeypatch.setattr(demo_stripe, "LOCAL_STRIPE_PORT", port)
    monkeypatch.setattr(demo_stripe, "STATE", tmp_path / "stripe.pickle")
    settings.STRIPE_API_BASE = ""

    with demo_stripe.local_stripe():
        assert settings.STRIPE_API_BASE == f"http://127.0.0.1:{port}" and port_open(port)

    assert settings.STRIPE_API_BASE == "" and not port_open(port)


def test_the_load_uses_the_stripe_double_configured(settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"

    with demo_stripe.local_stripe():
        assert settings.STRIPE_API_BASE == "http://127.0.0.1:9"

    assert settings.STRIPE_API_BASE == "http://127.0.0.1:9"


@pytest.mark.django_db
def test_demo_starts_the_stripe_double_before_loading_the_demo_data(settings, monkeypatch, store):
    settings.DEBUG = True
    steps = []
    monkeypatch.setattr(demo_command, "local_stripe_start", lambda: steps.append("stripe"))
    monkeypatch.setattr(demo_command, "call_command", lambda name, *args, **kwargs: steps.append(name))
    monkeypatch.setattr(demo_command, "demo_logins_create", lambda store: steps.append("logins"))

    call_command("demo", stdout=io.StringIO())

    assert steps == ["migrate", "stripe", "load_demo_data", "logins", "runserver"]


def _card(port: int) -> str:
    client = stripe.StripeClient("sk_test_demo", base_addresses={"api": f"http://127.0.0.1:{port}"})
    return client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}}).id


def _known(port: int, card: str) -> bool:
    client = stripe.StripeClient("sk_test_demo", base_addresses={"api": f"http://127.0.0.1:{port}"})
    try:
        return client.v1.payment_methods.retrieve(card).id == card
    except stripe.InvalidRequestError:
        return False


def _stop(server) -> None:
    server.terminate()
    server.wait(timeout=10)


def test_the_demos_double_remembers_its_cards_in_its_own_file_across_a_restart(tmp_path):
    port, state = free_port(), tmp_path / "stripe.pickle"
    server = start_local_stripe(port, state=state)
    card = _card(port)
    _stop(server)
    assert state.exists()

    server = start_local_stripe(port, state=state)
    try:
        assert _known(port, card)
    finally:
        _stop(server)


def test_a_double_started_without_a_file_forgets_everything_when_it_stops(tmp_path):
    port = free_port()
    server = start_local_stripe(port)
    card = _card(port)
    _stop(server)

    server = start_local_stripe(port)
    try:
        assert not _known(port, card)
    finally:
        _stop(server)
