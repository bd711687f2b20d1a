"""Staff sign in to the API as customers do, by username or by the email on their login, so a till or counter
app can work as its member of staff: the token (or the browser session) opens the staff API, with no customer
profile. A username is matched exactly, an email in any case; customers keep signing in by email."""
import pytest
from rest_framework.test import APIClient

from backoffice.roles import PICKUP_STAFF, role_assign
from tests.factories import UserFactory

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def pickup(store):
    """The counter's login, as the demo makes it: username pickup, password pickup, Pickup staff at the store."""
    user = role_assign(user=UserFactory(username="pickup", email="pickup@hearth.example"), role=PICKUP_STAFF,
                       stores=[store])
    user.set_password("pickup")
    user.save()
    return user


def look_up_at_the_counter(store, client):
    return client.post("/api/v1/staff/pickups/lookup/", {"store": store.code, "code": "NOSUCH"}, format="json")


def with_token(token: str) -> APIClient:
    app = APIClient()
    app.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return app


@pytest.mark.parametrize("who", [{"username": "pickup"}, {"email": "pickup@hearth.example"},
                                 {"email": "PICKUP@Hearth.Example"}], ids=["username", "email", "email-any-case"])
def test_a_member_of_staff_gets_a_token_that_opens_the_staff_api(api, pickup, store, who):
    signed_in = api.post("/api/v1/auth/token/", {**who, "password": "pickup"}, format="json")

    assert signed_in.status_code == 200, signed_in.json()
    body = signed_in.json()
    assert body["token"] and body["customer"] is None and body["cart"] is None
    looked_up = look_up_at_the_counter(store, with_token(body["token"])).json()
    assert looked_up["detail"] == {"reason": "unknown_code"}, looked_up  # the counter answers, as to its staff
    assert look_up_at_the_counter(store, with_token("not-a-token")).status_code == 401


def test_a_member_of_staff_signs_a_browser_in_by_username(api, pickup, store):
    signed_in = api.post("/api/v1/auth/session/", {"username": "pickup", "password": "pickup"}, format="json")

    assert signed_in.status_code == 200 and signed_in.json()["token"] is None
    assert look_up_at_the_counter(store, api).json()["detail"] == {"reason": "unknown_code"}


@pytest.mark.parametrize("who, password, message", [
    ({"username": "pickup"}, "wrong", "That username and password do not match an account."),
    ({"username": "Pickup"}, "pickup", "That username and password do not match an account."),  # exactly
    ({"email": "pickup@hearth.example"}, "wrong", "That email and password do not match an account."),
    ({"email": "nobody@hearth.example"}, "pickup", "That email and password do not match an account."),
])
def test_a_wrong_username_email_or_password_gets_no_token(api, pickup, who, password, message):
    refused = api.post("/api/v1/auth/token/", {**who, "password": password}, format="json")

    assert refused.status_code == 401
    assert refused.json()["message"] == message
    assert "token" not in refused.json()


@pytest.mark.parametrize("body, field, message", [
    ({"password": "pickup"}, "email", "Give your email, or the username of a staff login."),
    ({"username": "pickup", "email": "pickup@hearth.example", "password": "pickup"}, "username",
     "Give a username or an email, not both."),
])
def test_sign_in_asks_for_one_of_username_or_email(api, pickup, body, field, message):
    refused = api.post("/api/v1/auth/token/", body, format="json")

    assert refused.status_code == 400
    assert refused.json()["detail"]["fields"] == {field: [message]}


def test_a_customer_still_signs_in_by_email_in_any_case_with_their_profile(api, ada):
    signed_in = api.post("/api/v1/auth/token/", {"email": "ADA@Example.com", "password": PASSWORD}, format="json")

    assert signed_in.status_code == 200
    assert signed_in.json()["customer"]["email"] == "ada@example.com" and signed_in.json()["cart"] is not None


def test_the_schema_documents_username_or_email(client):
    schema = client.get("/api/schema/?format=json").json()
    body = schema["paths"]["/api/v1/auth/token/"]["post"]["requestBody"]["content"]["application/json"]
    sign_in = schema["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]

    assert {"username", "email", "password"} <= set(sign_in["properties"])
    assert sign_in["required"] == ["password"]
    examples = {example["summary"] for example in body["examples"].values()}
    assert {"A customer, by email", "A member of staff (a till or counter app), by username"} <= examples
