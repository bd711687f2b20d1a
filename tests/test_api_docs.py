"""The OpenAPI schema and the interactive docs, which must work with no internet: every script and
stylesheet the docs page loads is served by this site. The schema tells an app developer the truth: each
operation in its own words, every error it can answer in the one error shape, consent as it is answered."""
import inspect
import re

import pytest
from rest_framework.test import APIClient

from catalog.channels import ChannelMixin
from catalog.models import Channel
from core.schema import FALLBACK_DESCRIPTION
from customers.services import customer_register
from customers.throttles import AuthThrottled

pytestmark = pytest.mark.django_db


def test_the_schema_is_openapi_3_and_lists_the_api(client):
    schema = client.get("/api/schema/?format=json").json()

    assert schema["openapi"].startswith("3.")
    assert {"/api/v1/cart/", "/api/v1/cart/lines/", "/api/v1/auth/token/", "/api/v1/me/consent/"} <= set(schema["paths"])


def test_the_docs_page_loads_only_assets_this_site_serves(client):
    page = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page)

    assert assets, "the docs page should load its Swagger UI assets"
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))]
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served.close()


# What the schema says of each operation ---------------------------------------------------------------

ERROR_REF = "#/components/schemas/ApiError"


@pytest.fixture
def schema(client):
    return client.get("/api/schema/?format=json").json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield f"{method.upper()} {path}", path, operation


def test_every_operation_is_described_in_its_own_words_for_an_app_developer(schema):
    inherited = {inspect.getdoc(ChannelMixin), inspect.getdoc(AuthThrottled)}
    for name, _, operation in operations(schema):
        description = operation.get("description", "")

        assert description and not description.startswith(FALLBACK_DESCRIPTION), f"{name} is not described"
        assert description not in inherited and "self.channel" not in description, f"{name}: {description!r}"
        assert re.search(r"\b(anyone|signed-in|staff|Stripe)\b", description, re.IGNORECASE), (
            f"{name} does not say who may call it: {description!r}")


def test_every_operation_lists_its_errors_in_the_one_error_shape(schema):
    error = schema["components"]["schemas"]["ApiError"]
    assert set(error["required"]) == {"code", "message", "detail"}
    assert (error["properties"]["code"]["type"], error["properties"]["message"]["type"],
            error["properties"]["detail"]["type"]) == ("string", "string", "object")

    for name, path, operation in operations(schema):
        responses = operation["responses"]
        errors = {int(code) for code in responses if int(code) >= 400}
        needs_sign_in = {} not in operation.get("security", [{}])

        assert 400 in errors, f"{name} does not say a bad request is refused"
        assert not needs_sign_in or {401, 403} <= errors, f"{name} needs a sign-in but lists no 401 and 403"
        assert "{" not in path or 404 in errors, f"{name} takes an id in its path but lists no 404"
        for code in errors:
            content = responses[str(code)]["content"]
            assert content == {"application/json": {"schema": {"$ref": ERROR_REF}}}, f"{name} {code}: {content}"
            assert responses[str(code)]["description"], f"{name} {code} says nothing of why"


def test_the_throttled_and_refusing_operations_say_so(schema):
    paths = schema["paths"]
    for path in ("/api/v1/auth/token/", "/api/v1/auth/session/", "/api/v1/auth/register/",
                 "/api/v1/auth/password-reset/", "/api/v1/auth/password-reset/confirm/",
                 "/api/v1/staff/pickups/lookup/", "/api/v1/staff/pickups/collect/"):
        assert "429" in paths[path]["post"]["responses"], path
    checkout = paths["/api/v1/checkout/"]["post"]["responses"]
    assert {"402", "409", "422"} <= set(checkout)
    assert "insufficient_stock" in checkout["409"]["description"]
    assert "idempotency_key_reused" in checkout["422"]["description"]
    assert "return_refused" in paths["/api/v1/orders/{number}/returns/"]["post"]["responses"]["422"]["description"]
    assert "not_enough_stock" in paths["/api/v1/cart/lines/"]["post"]["responses"]["409"]["description"]


def test_consent_is_sent_as_booleans_and_answered_with_when_it_was_given(schema):
    components = schema["components"]["schemas"]

    def resolved(ref: dict) -> dict:
        return components[ref["$ref"].rsplit("/", 1)[-1]]

    for method in ("get", "put"):
        answer = resolved(schema["paths"]["/api/v1/me/consent/"][method]["responses"]["200"]["content"]
                          ["application/json"]["schema"])
        assert set(answer["properties"]) == {"email", "sms", "messenger"}
        for channel in answer["properties"].values():
            state = resolved(channel)
            assert state["properties"]["given"]["type"] == "boolean"
            assert (state["properties"]["at"]["format"], state["properties"]["at"]["nullable"]) == ("date-time", True)
    sent = resolved(schema["paths"]["/api/v1/me/consent/"]["put"]["requestBody"]["content"]["application/json"]
                    ["schema"])
    assert {name: field["type"] for name, field in sent["properties"].items()} == {
        "email": "boolean", "sms": "boolean", "messenger": "boolean"}


def test_the_answer_a_shopper_gets_for_consent_is_the_shape_the_schema_gives():
    ada = customer_register(email="ada@example.com", password="correct-horse-battery-9",
                            channel=Channel.objects.get(code=Channel.WEB))
    app = APIClient()
    app.force_authenticate(ada.user)

    answer = app.put("/api/v1/me/consent/", {"sms": True}, format="json").json()

    assert answer["sms"]["given"] is True and answer["sms"]["at"].endswith("Z")
    assert answer["email"] == {"given": False, "at": None}


def test_enum_names_are_stable(schema):
    hashed = [name for name in schema["components"]["schemas"] if re.search(r"[0-9a-f]{3}Enum$", name)]
    assert not hashed
