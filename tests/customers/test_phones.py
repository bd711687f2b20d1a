"""Phone numbers through the customer API: typed any way a person writes them, kept and shown in E.164; a number
that is not valid (a digit short, a foreign one without its country code) is refused naming the field, with how
to write it, and nothing is saved."""
import pytest

from catalog.models import Channel
from core.phones import PhoneInvalid
from customers.models import Address, Customer
from customers.services import customer_update

from .conftest import PASSWORD, app_client

pytestmark = pytest.mark.django_db

HOW_TO_WRITE = ("Enter a UK number like 07700 900123, or an international one starting with + and the country "
                "code.")
NOT_A_NUMBER = "That is not a valid phone number."


def signing_up(api, phone: str):
    return api.post("/api/v1/auth/register/", {"email": "ada@example.com", "password": PASSWORD, "phone": phone},
                    format="json")


@pytest.mark.parametrize("typed", ["07700 900123", "07700-900-123", "+44 7700 900123", "+44 (0)7700 900123",
                                   "0044 7700 900123", "447700900123", "(07700) 900123"])
def test_a_phone_typed_any_way_at_sign_up_is_kept_and_shown_in_e164(api, typed):
    signed_up = signing_up(api, typed)

    assert signed_up.status_code == 201, signed_up.json()
    assert signed_up.json()["customer"]["phone"] == "+447700900123"
    assert Customer.objects.get().phone == "+447700900123"


def test_a_landline_and_a_foreign_number_with_its_country_code_are_taken(api, ada):
    app = app_client(ada)

    landline = app.patch("/api/v1/me/", {"phone": "020 7946 0958"}, format="json").json()["phone"]
    french = app.patch("/api/v1/me/", {"phone": "+33 6 12 34 56 78"}, format="json").json()["phone"]

    assert (landline, french) == ("+442079460958", "+33612345678")


@pytest.mark.parametrize("typed, message", [
    ("07700 90012", HOW_TO_WRITE),  # a digit short
    ("06 12 34 56 78", HOW_TO_WRITE),  # a French mobile without +33
    ("call me", HOW_TO_WRITE),
    ("+44 7700 12", NOT_A_NUMBER),
    ("+33 12", NOT_A_NUMBER),
])
def test_a_bad_number_at_sign_up_is_refused_naming_the_field_and_no_account_is_made(api, typed, message):
    refused = signing_up(api, typed)

    assert refused.status_code == 400
    assert refused.json()["detail"]["fields"] == {"phone": [message]}
    assert not Customer.objects.exists()


def test_changing_my_phone_to_a_bad_number_is_refused_and_keeps_the_old_one(ada):
    app = app_client(ada)
    app.patch("/api/v1/me/", {"phone": "07700 900123"}, format="json")

    refused = app.patch("/api/v1/me/", {"phone": "06 12 34 56 78"}, format="json")

    assert refused.status_code == 400
    assert refused.json()["detail"]["fields"] == {"phone": [HOW_TO_WRITE]}
    assert app.get("/api/v1/me/").json()["phone"] == "+447700900123"
    assert app.patch("/api/v1/me/", {"phone": ""}, format="json").json()["phone"] == ""  # taking it off is fine


def test_an_address_phone_is_kept_in_e164_and_a_bad_one_saves_no_address(ada):
    app = app_client(ada)
    address = {"recipient": "Ada", "line1": "1 Mill Lane", "city": "Leeds", "postcode": "LS1 1AA"}

    refused = app.post("/api/v1/me/addresses/", {**address, "phone": "0113 496"}, format="json")
    assert refused.status_code == 400 and refused.json()["detail"]["fields"] == {"phone": [HOW_TO_WRITE]}
    assert not Address.objects.exists()

    saved = app.post("/api/v1/me/addresses/", {**address, "phone": "0113 496 0000"}, format="json").json()
    changed = app.patch(f"/api/v1/me/addresses/{saved['id']}/", {"phone": "+44 113 496 0999"}, format="json")
    assert (saved["phone"], changed.json()["phone"]) == ("+441134960000", "+441134960999")
    bad_change = app.patch(f"/api/v1/me/addresses/{saved['id']}/", {"phone": "+44 113"}, format="json")
    assert bad_change.status_code == 400 and bad_change.json()["detail"]["fields"] == {"phone": [NOT_A_NUMBER]}
    assert Address.objects.get().phone == "+441134960999"


def test_the_service_itself_refuses_a_bad_number_and_changes_nothing(ada):
    with pytest.raises(PhoneInvalid) as refused:
        customer_update(customer=ada, channel=Channel.objects.get(code=Channel.TILL), phone="12345",
                        first_name="Augusta")

    assert refused.value.message == HOW_TO_WRITE and refused.value.detail == {"field": "phone"}
    ada.refresh_from_db()
    assert (ada.first_name, ada.phone) == ("Ada", "")
