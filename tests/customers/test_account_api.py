"""Accounts through the API: sign-up, sign-in by session or token, sign-out, password reset,
profile, consent, addresses and the timeline, with every refusal."""
import re

import pytest
from django.core import mail
from rest_framework.authtoken.models import Token

from customers.models import Customer, Interaction
from customers.services import customer_login_for_reset
from notifications.delivery import messages_deliver_pending
from tests.customers.conftest import PASSWORD, app_client, browser

pytestmark = pytest.mark.django_db


def test_signing_up_on_the_app_returns_a_token_that_works(api):
    created = api.post("/api/v1/auth/register/", {"email": "Lin@Example.com", "password": PASSWORD,
                                                  "first_name": "Lin"}, format="json")

    assert created.status_code == 201
    api.credentials(HTTP_AUTHORIZATION=f"Token {created.json()['token']}")
    me = api.get("/api/v1/me/").json()
    assert (me["email"], me["first_name"]) == ("Lin@Example.com", "Lin")
    signed_up = Customer.objects.get().interactions.get(kind=Interaction.Kind.SIGNED_UP)
    assert signed_up.channel.code == "mobile"


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "new@example.com", "password": "123"}, "password"),
        ({"email": "new@example.com", "password": "password"}, "password"),
        ({"email": "new@example.com"}, "password"),
    ],
)
def test_a_bad_sign_up_is_refused_naming_the_field_and_creates_nothing(api, payload, field):
    refused = api.post("/api/v1/auth/register/", payload, format="json")

    assert refused.status_code == 400 and field in refused.json()["detail"]["fields"]
    assert not Customer.objects.exists()


def test_an_email_already_registered_in_any_case_is_refused(api, ada):
    refused = api.post("/api/v1/auth/register/", {"email": "ADA@EXAMPLE.COM", "password": PASSWORD}, format="json")

    assert refused.status_code == 409 and refused.json()["code"] == "email_taken"
    assert Customer.objects.count() == 1


def test_a_wrong_password_is_401_and_records_no_sign_in(api, ada):
    refused = api.post("/api/v1/auth/token/", {"email": ada.email, "password": "wrong-password-1"}, format="json")

    assert refused.status_code == 401 and refused.json()["code"] == "authentication_failed"
    assert not ada.interactions.filter(kind=Interaction.Kind.SIGNED_IN).exists()


def test_sign_in_attempts_are_throttled(api, ada):
    answers = [
        api.post("/api/v1/auth/token/", {"email": ada.email, "password": "guess-number-1"}, format="json").status_code
        for _ in range(11)
    ]

    assert answers[:10] == [401] * 10 and answers[10] == 429


def test_signing_in_is_on_the_timeline_with_its_channel(ada):
    app_client(ada)
    browser(ada)

    assert list(ada.interactions.filter(kind=Interaction.Kind.SIGNED_IN).values_list("channel__code", flat=True)) \
        == ["web", "mobile"]


def test_signing_out_of_the_app_revokes_its_token(ada):
    phone = app_client(ada)

    assert phone.post("/api/v1/auth/sign-out/").status_code == 204

    assert phone.get("/api/v1/me/").status_code == 401
    assert not Token.objects.exists()


def test_password_reset_mails_a_link_that_sets_a_new_password_once(api, ada):
    asked = api.post("/api/v1/auth/password-reset/", {"email": "ada@EXAMPLE.com"}, format="json")
    messages_deliver_pending()
    uid, token = re.search(r"uid=(\S+) token=(\S+)", mail.outbox[0].body).groups()

    done = api.post("/api/v1/auth/password-reset/confirm/",
                    {"uid": uid, "token": token, "password": "a-brand-new-secret-7"}, format="json")
    replay = api.post("/api/v1/auth/password-reset/confirm/",
                      {"uid": uid, "token": token, "password": "another-secret-8"}, format="json")

    assert asked.status_code == 202 and done.status_code == 200
    assert replay.status_code == 400 and "token" in replay.json()["detail"]["fields"]
    signed_in = api.post("/api/v1/auth/token/", {"email": ada.email, "password": "a-brand-new-secret-7"}, format="json")
    assert signed_in.status_code == 200


def test_password_reset_for_an_unknown_email_answers_the_same_and_sends_nothing(api):
    asked = api.post("/api/v1/auth/password-reset/", {"email": "nobody@example.com"}, format="json")

    assert messages_deliver_pending() == 0
    assert asked.status_code == 202 and mail.outbox == []


def test_a_customer_met_at_the_till_claims_the_account_through_a_reset(db):
    walk_in = Customer.objects.create(email="sam@example.com", first_name="Sam")

    login = customer_login_for_reset(email="SAM@example.com")

    walk_in.refresh_from_db()
    assert walk_in.user == login and not login.has_usable_password()


def test_profile_changes_are_validated(ada, store):
    phone = app_client(ada)

    changed = phone.patch("/api/v1/me/", {"phone": "+44 7700 900123", "preferred_store": store.code}, format="json")
    refused = phone.patch("/api/v1/me/", {"preferred_store": "NOWHERE"}, format="json")

    assert changed.json()["preferred_store"] == store.code
    assert refused.status_code == 400 and "preferred_store" in refused.json()["detail"]["fields"]
    ada.refresh_from_db()
    assert ada.preferred_store == store


def test_consent_is_stamped_when_given_and_cleared_when_withdrawn(ada):
    phone = app_client(ada)

    given = phone.put("/api/v1/me/consent/", {"email": True, "sms": True}, format="json").json()
    withdrawn = phone.put("/api/v1/me/consent/", {"sms": False}, format="json").json()

    assert given["email"]["given"] and given["email"]["at"] and given["sms"]["given"]
    assert withdrawn["sms"] == {"given": False, "at": None}
    assert withdrawn["email"]["at"] == given["email"]["at"]
    assert ada.interactions.filter(kind=Interaction.Kind.CONSENT_CHANGED).count() == 2


def test_addresses_are_kept_with_one_default(ada):
    phone = app_client(ada)
    home = {"label": "Home", "recipient": "Ada L", "line1": "1 Mill Lane", "city": "Leeds", "postcode": "LS1 1AA",
            "is_default": True}

    first = phone.post("/api/v1/me/addresses/", home, format="json").json()
    second = phone.post("/api/v1/me/addresses/", home | {"label": "Work"}, format="json").json()
    missing = phone.post("/api/v1/me/addresses/", {"recipient": "Ada"}, format="json")

    listed = phone.get("/api/v1/me/addresses/").json()
    assert [(a["label"], a["is_default"]) for a in listed] == [("Work", True), ("Home", False)]
    assert first["id"] != second["id"]
    assert missing.status_code == 400 and {"line1", "city", "postcode"} <= set(missing.json()["detail"]["fields"])


def test_the_timeline_is_newest_first(ada, priced):
    phone = app_client(ada)
    phone.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M"}, format="json")

    kinds = [row["kind"] for row in phone.get("/api/v1/me/timeline/").json()["results"]]

    assert kinds == ["cart_changed", "signed_in", "signed_up"]


def test_me_needs_a_signed_in_customer(api):
    assert api.get("/api/v1/me/").status_code == 401


def test_opening_a_product_page_in_the_app_is_on_my_timeline(ada, priced):
    phone = app_client(ada)
    slug = priced[0].product.slug

    assert phone.get(f"/api/v1/products/{slug}/").status_code == 200

    viewed = ada.interactions.get(kind=Interaction.Kind.PRODUCT_VIEWED)
    assert (viewed.reference, viewed.channel.code) == (f"product:{slug}", "mobile")
