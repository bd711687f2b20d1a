"""Phone numbers on the shop's pages: registration, the account's details page, addresses and checkout each
take a number typed any way and keep it in E.164; a number that is not valid is said next to its field and
nothing is saved."""
import pytest

from customers.models import Address, Customer
from orders.models import Order

from .helpers import error_next_to, idempotency_key, page

pytestmark = pytest.mark.django_db

HOW_TO_WRITE = ("Enter a UK number like 07700 900123, or an international one starting with + and the country "
                "code.")


def registering(browser, phone: str):
    return browser.post("/account/register/", {"email": "grace@example.com", "password": "a-long-passphrase-7",
                                               "first_name": "Grace", "phone": phone})


def test_the_registration_form_asks_for_a_mobile_and_keeps_it_in_e164(browser):
    assert 'type="tel"' in page(browser.get("/account/register/"))

    registered = registering(browser, "07700-900 123")

    assert registered.status_code == 302
    assert Customer.objects.get().phone == "+447700900123"
    assert 'value="+447700900123"' in page(browser.get("/account/details/"))


@pytest.mark.parametrize("typed, message", [("06 12 34 56 78", HOW_TO_WRITE),
                                            ("+44 7700", "That is not a valid phone number.")])
def test_a_bad_mobile_at_registration_is_said_next_to_it_and_makes_no_account(browser, typed, message):
    refused = registering(browser, typed)

    assert refused.status_code == 400
    assert error_next_to(refused, "id_phone") == message
    assert not Customer.objects.exists()


def test_the_details_page_shows_and_changes_the_phone(signed_in, shopper):
    shown = page(signed_in.get("/account/details/"))
    assert 'href="/account/details/" aria-current="page">Your details</a>' in shown
    assert shopper.email in shown

    saved = signed_in.post("/account/details/", {"first_name": "Ada", "last_name": "Lovelace",
                                                 "phone": "+44 (0)7700 900456"}, follow=True)

    assert "Your details are saved." in page(saved) and 'value="+447700900456"' in page(saved)
    shopper.refresh_from_db()
    assert (shopper.last_name, shopper.phone) == ("Lovelace", "+447700900456")


def test_a_bad_phone_on_the_details_page_is_refused_next_to_it_and_changes_nothing(signed_in, shopper):
    signed_in.post("/account/details/", {"first_name": "Ada", "phone": "07700 900456"})

    refused = signed_in.post("/account/details/", {"first_name": "Augusta", "phone": "0612345678"})

    assert refused.status_code == 400
    assert error_next_to(refused, "id_phone") == HOW_TO_WRITE
    shopper.refresh_from_db()
    assert (shopper.first_name, shopper.phone) == ("Ada", "+447700900456")


def test_an_address_phone_is_kept_in_e164_and_a_bad_one_saves_no_address(signed_in, shopper):
    address = {"recipient": "Ada Lovelace", "line1": "12 St James's Square", "city": "London", "postcode": "SW1Y 4JH",
               "country": "GB"}

    refused = signed_in.post("/account/addresses/", {**address, "phone": "020 7946"})
    assert refused.status_code == 400 and error_next_to(refused, "id_phone") == HOW_TO_WRITE
    assert not Address.objects.exists()

    signed_in.post("/account/addresses/", {**address, "phone": "020 7946 0958"})
    assert Address.objects.get().phone == "+442079460958"


def test_a_bad_mobile_at_checkout_is_said_next_to_it_and_places_no_order(browser, goods, store):
    browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 1})
    order = {"fulfilment": "pickup", "store": store.code, "email": "grace@example.com",
             "payment_method": "pay_at_pickup", "idempotency_key": idempotency_key(browser.get("/checkout/"))}

    refused = browser.post("/checkout/", {**order, "phone": "06 12 34 56 78"})
    assert refused.status_code == 400 and error_next_to(refused, "id_phone") == HOW_TO_WRITE
    assert not Order.objects.exists()

    assert browser.post("/checkout/", {**order, "phone": "0044 7700 900123"}).status_code == 302
    assert Order.objects.get().phone == "+447700900123"


def test_a_customers_phone_is_offered_at_checkout_as_kept(signed_in, shopper, goods):
    signed_in.post("/account/details/", {"first_name": "Ada", "phone": "07700 900123"})
    signed_in.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 1})

    assert 'value="+447700900123"' in page(signed_in.get("/checkout/"))

