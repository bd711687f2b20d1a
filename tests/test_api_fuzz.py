"""The API answers as its published schema says. Schemathesis fuzzes every operation of /api/schema/ against a
live server on the test database (PostgreSQL in CI), anonymously, as a signed-in shopper and as store staff,
and the test fails on any server error (5xx) and on any answer the schema does not describe: a status it does
not list, a content type it does not name, a body that does not match.

Bounded for CI: API_FUZZ_EXAMPLES examples per operation and identity, API_FUZZ_SECONDS for the whole run (an
operation not reached in time is named in a warning). Derandomized, so a run repeats the one before it; raise
API_FUZZ_EXAMPLES for a deeper search on a workstation."""
import contextlib
import os
import re
import time
import uuid
import warnings
from collections.abc import MutableMapping
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backoffice.roles import STORE_STAFF, role_assign
from catalog.models import Channel
from core.exceptions import DomainError
from customers import services as customers
from customers.models import Cart, Customer
from fulfillment.models import Fulfillment
from inventory import services as stock
from orders.claims import claim_token
from orders.models import Voucher
from tests.factories import LocationFactory, UserFactory, card, stock_the_shop

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "20"))
SECONDS = float(os.environ.get("API_FUZZ_SECONDS", "150"))
SHUT_OUT_AFTER = 6
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PASSWORD = "correct-horse-battery-9"
# Failures the fuzzer finds whose fix lies outside the API layer, tolerated until it lands (each one that happens
# is named in a warning): (operation, status, error code) -> what must change. Delete an entry with its fix.
KNOWN_FAILURES: dict[tuple[str, int, str], str] = {}


@dataclass
class Identity:
    """Who the fuzzer calls as: nobody, or a login whose token it sends (put back if an operation signed out)."""

    name: str
    user: object = None
    key: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.key}"} if self.key else {}

    def restore(self) -> None:
        """After a sign-out (the token deleted) or a sign-in found by the fuzzer (another token made)."""
        if self.key and not Token.objects.filter(key=self.key).exists():
            Token.objects.filter(user=self.user).delete()
            Token.objects.create(key=self.key, user=self.user)


@dataclass
class Shop:
    """The live server, who calls it, and values that name real rows: by parameter or field name, and by the
    start of an operation's path where the same name means something else there."""

    url: str
    identities: list[Identity]
    shopper: Customer
    goods: list
    known: dict[str, list] = field(default_factory=dict)
    known_under: dict[str, dict[str, list]] = field(default_factory=dict)

    def refill(self) -> None:
        """Keep something in the shopper's cart and the guest's, so checkout is tried for real, again and again:
        an order placed empties a cart, and the guest's is closed by it."""
        web = Channel.objects.get(code=Channel.WEB)
        guest = Cart.objects.filter(token=self.known["X-Cart-Token"][0], status=Cart.Status.OPEN).first()
        if guest is None:
            guest = customers.cart_create_guest(channel=web)
            self.known["X-Cart-Token"][:] = [str(guest.token)]
        for cart in (customers.cart_open_for_customer(customer=self.shopper, channel=web), guest):
            if not cart.lines.exists():
                with contextlib.suppress(DomainError):  # nothing left to supply where the cart is fulfilled
                    customers.cart_add_line(cart=cart, variant=self.goods[0], quantity=1, channel=web)

    def known_for(self, path: str) -> dict[str, list]:
        known = dict(self.known)
        for prefix, values in self.known_under.items():
            if path.startswith(prefix):
                known.update(values)
        return known


@pytest.fixture
def shop(live_server, stripe_double) -> Shop:
    """A store and a warehouse with priced stocked products; a member of store staff; a shopper with an address,
    a line in the cart, a collected pickup with a return started, a pickup ready with its code, a delivery
    picked (three) and one new; a guest order the shopper can claim, a voucher, a guest's cart, a password reset link."""
    store = LocationFactory(code="LDN-OXF", name="London Oxford Street", latitude=51.5154, longitude=-0.1410,
                            sells_in_store=True, offers_pickup=True, ships_orders=True, accepts_returns=True)
    warehouse = LocationFactory(code="WH-DAV", name="Daventry DC", kind="warehouse", latitude=52.2565,
                                longitude=-1.1627, ships_orders=True, offers_pickup=False, sells_in_store=False)
    tee_m, tee_l, hood = stock_the_shop(store=store, warehouse=warehouse)
    for location in (store, warehouse):  # enough for every order the fuzzer places
        for variant in (tee_m, tee_l, hood):
            stock.stock_receive(location=location, variant=variant, quantity=200)
    voucher = Voucher.objects.create(code="WELCOME10", kind=Voucher.Kind.PERCENT, value=10)
    web = Channel.objects.get(code=Channel.WEB)
    shopper = customers.customer_register(email="ada@example.com", password=PASSWORD, channel=web, first_name="Ada")
    address = customers.address_save(customer=shopper, recipient="Ada Lovelace", line1="1 St James's Square",
                                      city="London", postcode="SW1Y 4JH", country="GB", is_default=True)
    forgetful = customers.customer_register(email="grace@example.com", password=PASSWORD, channel=web)
    staff = role_assign(user=UserFactory(username="sam"), role=STORE_STAFF, stores=[store, warehouse])
    staff.set_password(PASSWORD)
    staff.save(update_fields=["password"])
    app, counter, guest = APIClient(), APIClient(), APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=shopper.user).key}")
    counter.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff).key}")

    pickup = {"fulfilment": "pickup", "store": store.code}
    delivery = {"fulfilment": "delivery", "address_id": address.pk, "delivery_method": "standard"}
    collected = place(app, tee_m, **pickup, payment_method="pay_at_pickup")
    ready = place(app, hood, **pickup, payment_method="card", payment_method_id=card(stripe_double))
    picked = [place(app, tee_l, **delivery, payment_method="card", payment_method_id=card(stripe_double))
              for _ in range(3)]  # each can be packed once
    new = place(app, tee_l, **delivery, payment_method="card", payment_method_id=card(stripe_double))
    place(guest, tee_m, **pickup, payment_method="pay_at_pickup", email=shopper.email)
    steps = {collected["number"]: ("pick", "ready"), ready["number"]: ("pick", "ready"),
             **{order["number"]: ("pick",) for order in picked}}
    for fulfilment in Fulfillment.objects.filter(order__number__in=steps):
        for step in steps[fulfilment.order.number]:
            answer = counter.post(f"/api/v1/staff/fulfillments/{fulfilment.pk}/{step}/")
            assert answer.status_code == 200, answer.json()
    code = Fulfillment.objects.get(order__number=collected["number"]).pickup_code
    handed = counter.post("/api/v1/staff/pickups/collect/", {"store": store.code, "code": code}, format="json")
    assert handed.status_code == 200, handed.json()
    returned = app.post(f"/api/v1/orders/{collected['number']}/returns/",
                        {"lines": [{"id": collected["lines"][0]["id"], "quantity": 1}]}, format="json")
    assert returned.status_code == 201, returned.json()
    cart = app.post("/api/v1/cart/lines/", {"sku": hood.sku, "quantity": 1}, format="json").json()
    guest_cart = APIClient().post("/api/v1/cart/lines/", {"sku": tee_m.sku}, format="json").json()

    orders = [collected, ready, *picked, new]
    return Shop(
        url=live_server.url, shopper=shopper, goods=[tee_m, tee_l, hood],
        identities=[Identity("anonymous"),
                    Identity("shopper", shopper.user, Token.objects.get(user=shopper.user).key),
                    Identity("store staff", staff, Token.objects.get(user=staff).key)],
        known={
            "number": [order["number"] for order in orders], "order": [order["number"] for order in orders],
            "id": [line["id"] for order in orders for line in order["lines"]],
            "line_id": [line["id"] for order in orders for line in order["lines"]],
            "slug": ["organic-tee", "harbour-hoodie"], "sku": [tee_m.sku, tee_l.sku, hood.sku],
            "store": [store.code, warehouse.code], "code": [store.code], "address_id": [address.pk],
            "email": [shopper.email], "username": [staff.username], "password": [PASSWORD], "voucher": [voucher.code], "return_code": [returned.json()["code"]],
            "X-Cart-Token": [guest_cart["token"]], "X-Channel": ["web", "mobile", "till"],
            "phone": ["07700 900123", "+447700900123"], "delivery_method": ["standard", "express"],
            "payment_method_id": [card(stripe_double), "pm_card_visa", "pm_junk", "junk"],
            "uid": [urlsafe_base64_encode(force_bytes(forgetful.user.pk))],
            "token": [default_token_generator.make_token(forgetful.user)],
        },
        known_under={
            # the shopper may cancel and return these; the others are left for staff to move on
            "/api/v1/orders/": {"number": [collected["number"], new["number"]]},
            "/api/v1/me/addresses/": {"id": [address.pk]},
            "/api/v1/cart/lines/": {"id": [line["id"] for line in cart["lines"]]},
            "/api/v1/staff/fulfillments/": {"id": list(Fulfillment.objects.values_list("pk", flat=True))},
            "/api/v1/staff/pickups/": {"code": list(Fulfillment.objects.exclude(pickup_code="")
                                                    .values_list("pickup_code", flat=True))},
            "/api/v1/vouchers/": {"code": [voucher.code]},
            "/api/v1/me/orders/claim/": {"token": [claim_token(shopper)]},
        },
    )


def place(client: APIClient, variant, **choice) -> dict:
    client.post("/api/v1/cart/lines/", {"sku": variant.sku, "quantity": 1}, format="json")
    placed = client.post("/api/v1/checkout/", choice, format="json", headers={"Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.json()
    return placed.json()


def realistic(case, known: dict[str, list], declared: dict[str, set[str]], data) -> None:
    """Give most parameters and fields whose names the shop knows values that name real rows (a store code, an
    order number, a line id), adding ones the operation declares but the case left out, so the fuzzer reaches
    past "not found" and "missing" into the rules behind them; and push a few other body fields to the edge of
    what a database column holds (a number past 32 or 64 bits, a string of hundreds of characters)."""

    def swap(values: MutableMapping, names: set[str] = frozenset(), body: bool = False) -> None:
        missing = sorted(names & known.keys() - values.keys())
        for name in list(values):
            if name in known and likely(data):
                values[name] = data.draw(st.sampled_from(known[name]))
            elif isinstance(values[name], dict):
                swap(values[name], body=body)
            elif isinstance(values[name], list):
                for item in values[name]:
                    if isinstance(item, dict):
                        swap(item, body=body)
            if body and not likely(data):
                values[name] = data.draw(edge_of(values[name]))
        for name in missing:  # half the time: some go together badly (an email and a username to sign in)
            if data.draw(st.integers(0, 1)) == 0:
                values[name] = data.draw(st.sampled_from(known[name]))

    if case.path_parameters:
        swap(case.path_parameters)
    for part, where in (("query", "query"), ("headers", "header"), ("body", "body")):
        values = getattr(case, part)
        if values is None and where != "body" and declared[where] & known.keys():
            values = {}
            setattr(case, part, values)
        if isinstance(values, MutableMapping):  # the headers are a CaseInsensitiveDict
            swap(values, declared[where], body=where == "body")


def edge_of(value) -> st.SearchStrategy:
    """A value of the same kind at the edge of a column: a number past 32 or 64 bits, or the string made long
    (at its start, so an email keeps its form, or at its end, so a URL does)."""
    if isinstance(value, bool) or value is None:
        return st.just(value)
    if isinstance(value, int | float):
        return st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**20])
    if isinstance(value, str):
        return st.sampled_from(["a" * 250 + value, value + "a" * 250, value + "é" * 1000])
    return st.just(value)


def likely(data) -> bool:
    """Seven times in eight; Hypothesis's simplest draw (0) says yes, so its first examples are realistic too."""
    return data.draw(st.integers(0, 7)) != 7


def declared_names(schema: dict, operation) -> dict[str, set[str]]:
    """The query parameters, headers and top-level JSON body fields an operation declares."""
    raw = operation.definition.raw
    names = {"query": set(), "header": set(), "body": set()}
    for parameter in raw.get("parameters", []):
        if parameter.get("in") in names:
            names[parameter["in"]].add(parameter["name"])
    body = raw.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    names["body"] = set(body.get("properties", {}))
    return names


def test_every_operation_answers_as_the_schema_says(shop):
    schema = schemathesis.openapi.from_url(f"{shop.url}/api/schema/?format=json")
    schema.config.generation.update(with_security_parameters=False)  # each identity sends its own token
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, "the schema should list the whole API"
    deadline, failures, not_reached, tolerated = time.monotonic() + SECONDS, [], [], set()

    for operation in operations:
        for identity in shop.identities:
            if time.monotonic() > deadline:
                not_reached.append(f"{operation.label} as {identity.name}")
                continue
            failure = fuzz(operation, identity, shop, deadline, tolerated)
            if failure:
                failures.append(f"{operation.label} as {identity.name}:\n{failure}")

    for known in sorted(tolerated):
        warnings.warn(f"A known API failure happened again, still to fix: {known}", stacklevel=1)
    if not_reached:
        warnings.warn(f"The API fuzz ran out of its {SECONDS:.0f}s before: " + "; ".join(not_reached), stacklevel=1)
    assert not failures, "\n\n".join(failures)


class Enough(Exception):
    """Stop sending this operation more: the time is up, or the identity is turned away at the door."""


def fuzz(operation, identity: Identity, shop: Shop, deadline: float, tolerated: set[str]) -> str | None:
    """Up to EXAMPLES requests to one operation, two in three valid by the schema and one invalid; the first
    failure, if any. An identity the operation turns away at the door (401 or 403 to each of its first
    SHUT_OUT_AFTER requests) is sent no more: the door was checked and there is nothing behind it to search."""
    valid, invalid = operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    known, declared = shop.known_for(operation.path), declared_names(operation.schema.raw_schema, operation)
    fills_carts = any(part in operation.path for part in ("/cart", "/checkout/", "/vouchers/"))
    answered: list[int] = []

    def run(case, data):
        if likely(data):
            realistic(case, known, declared, data)
        if time.monotonic() > deadline or len(answered) >= SHUT_OUT_AFTER and set(answered) <= {401, 403}:
            raise Enough  # after every draw: Hypothesis replays an example that raised, with the same draws
        cache.clear()  # no sign-in attempts or wrong pickup codes counted: the limits would stop the search
        identity.restore()
        if fills_carts:
            shop.refill()
        response = case.call(base_url=shop.url, headers=identity.headers, timeout=30)
        answered.append(response.status_code)
        known_failure = KNOWN_FAILURES.get((operation.label, response.status_code, error_code(response)))
        if known_failure:
            tolerated.add(known_failure)
            return
        case.validate_response(response, checks=CHECKS)

    run.__name__ = re.sub(r"\W", "_", f"fuzz {operation.label} as {identity.name}")  # its own random sequence
    test = given(case=st.one_of(valid, valid, invalid), data=st.data())(run)
    test = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False)(test)
    try:
        test()
    except Enough:
        return None
    except (Exception, BaseExceptionGroup) as exc:  # failed checks (a group of them), or a request not made
        return f"{type(exc).__name__}: {exc}"
    return None


def error_code(response) -> str | None:
    try:
        return response.json().get("code")
    except (ValueError, AttributeError):
        return None
