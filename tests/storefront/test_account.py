"""Account pages: sign in and register (refusals next to the field), the guest basket merged at sign-in,
every order from every channel, addresses and consent."""
import pytest
from django.test import Client

from customers.models import Address, Cart, Customer
from inventory import services as stock
from orders.services import till_sale
from tests.factories import UserFactory

from .conftest import PASSWORD
from .helpers import error_next_to, page, title

pytestmark = pytest.mark.django_db


def test_a_wrong_password_is_said_next_to_the_password_and_signs_nobody_in(browser, shopper):
    response = browser.post("/account/sign-in/", {"email": shopper.email, "password": "nope"})
    assert response.status_code == 400
    assert error_next_to(response, "id_password") == "That email and password do not match an account."
    assert browser.get("/account/").status_code == 302


def test_signing_in_merges_the_guest_basket_and_says_what_was_capped(browser, shopper, goods):
    browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 4})
    from catalog.models import Channel
    from customers import services
    mine = services.cart_open_for_customer(customer=shopper, channel=Channel.objects.get(code="mobile"))
    services.cart_add_line(cart=mine, variant=goods[0], quantity=3, channel=Channel.objects.get(code="mobile"))

    response = browser.post("/account/sign-in/", {"email": "ADA@example.com", "password": PASSWORD}, follow=True)

    assert "TEE-NAVY-M: only 5 available for delivery, so your cart has 5 (you had 7)." in page(response)
    assert list(Cart.objects.get(customer=shopper, status="open").lines.values_list("quantity", flat=True)) == [5]


@pytest.mark.parametrize("changes, field, message", [
    ({"email": "ada@example.com"}, "id_email",
     "An account with this email already exists: sign in, or reset your password to claim it."),
    ({"password": "12345678"}, "id_password", "This password is too common."),
    ({"email": "ada"}, "id_email", "Enter an email address like name@example.com."),
])
def test_registration_refusals_are_next_to_the_field(browser, shopper, changes, field, message):
    response = browser.post("/account/register/", {"email": "grace@example.com", "password": "a-long-passphrase-7",
                                                   **changes})
    assert response.status_code == 400
    assert message in error_next_to(response, field)
    assert Customer.objects.count() == 1


def test_registering_signs_in_with_the_basket_and_the_consent_given(browser, goods):
    browser.post("/shop/organic-tee/", {"sku": "TEE-NAVY-M", "quantity": 1})
    browser.post("/account/register/", {"email": "grace@example.com", "password": "a-long-passphrase-7",
                                        "first_name": "Grace", "email_consent": "on"})
    grace = Customer.objects.get(email="grace@example.com")
    assert grace.consents_to("email") and not grace.consents_to("sms")
    assert Cart.objects.get(customer=grace, status="open").lines.count() == 1
    assert title(browser.get("/account/")) == "Your orders · Hearth & Thread"


def test_the_account_lists_orders_from_every_channel(signed_in, shopper, goods, store):
    till_staff = UserFactory(username="till")
    stock.stock_receive(location=store, variant=goods[2], quantity=1)
    sale = till_sale(store=store, lines=[(goods[2], 1)], staff=till_staff, payment_method="cash", customer=shopper)
    html = page(signed_in.get("/account/"))
    assert sale.number in html and "Store till" in html, html[html.find("<main"):][:1500]


def test_an_address_with_a_bad_postcode_is_refused_next_to_it_and_not_saved(signed_in, shopper):
    response = signed_in.post("/account/addresses/", {"recipient": "Ada Lovelace", "line1": "12 St James's Square",
                                                      "city": "London", "postcode": "!!", "country": "GB"})
    assert response.status_code == 400
    assert error_next_to(response, "id_postcode") == "Enter a postcode, e.g. W1C 1DA."
    assert not Address.objects.exists()


def test_addresses_are_saved_edited_and_deleted(signed_in, shopper):
    signed_in.post("/account/addresses/", {"recipient": "Ada Lovelace", "line1": "12 St James's Square",
                                           "city": "London", "postcode": "sw1y 4jh", "country": "GB",
                                           "is_default": "on", "label": "Home"})
    address = Address.objects.get()
    assert (address.postcode, address.is_default) == ("SW1Y 4JH", True)
    signed_in.post(f"/account/addresses/{address.pk}/", {"recipient": "Ada King", "line1": "12 St James's Square",
                                                         "city": "London", "postcode": "SW1Y 4JH", "country": "GB",
                                                         "action": "save"})
    address.refresh_from_db()
    assert address.recipient == "Ada King"
    signed_in.post(f"/account/addresses/{address.pk}/", {"action": "delete"})
    assert not Address.objects.exists()


def test_someone_elses_address_is_not_found(signed_in, shopper):
    from catalog.models import Channel
    from customers.services import address_save, customer_register
    eve = customer_register(email="eve@example.com", password="correct-horse-battery-9",
                            channel=Channel.objects.get(code="web"))
    hers = address_save(customer=eve, recipient="Eve", line1="1 Road", city="Leeds", postcode="LS1 1AA")
    assert signed_in.get(f"/account/addresses/{hers.pk}/").status_code == 404


def test_consent_is_given_and_taken_back(signed_in, shopper):
    signed_in.post("/account/consent/", {"sms": "on"})
    shopper.refresh_from_db()
    assert shopper.consents_to("sms") and not shopper.consents_to("email")
    signed_in.post("/account/consent/", {})
    shopper.refresh_from_db()
    assert not shopper.consents_to("sms")


def test_a_staff_login_without_a_shopping_account_is_told_so(db):
    staff = UserFactory(username="clerk")
    staff.set_password("clerk-pass-1")
    staff.save()
    client = Client()
    client.force_login(staff)
    response = client.get("/account/")
    assert response.status_code == 403 and "This login has no shopping account" in page(response)


def test_sign_in_goes_back_where_the_shopper_was_but_never_to_another_site(browser, shopper):
    asked = browser.get("/account/addresses/")
    assert asked.status_code == 302 and asked["Location"] == "/account/sign-in/?next=%2Faccount%2Faddresses%2F"
    home = browser.post("/account/sign-in/", {"email": shopper.email, "password": PASSWORD,
                                              "next": "https://evil.example/"})
    assert home["Location"] == "/account/"
    browser.post("/account/sign-out/")
    back = browser.post("/account/sign-in/", {"email": shopper.email, "password": PASSWORD,
                                              "next": "/account/addresses/"})
    assert back["Location"] == "/account/addresses/"


def test_guessing_passwords_is_slowed_down_like_the_apis_sign_in(browser, shopper):
    for _ in range(10):  # the auth rate: 10 a minute
        assert browser.post("/account/sign-in/", {"email": shopper.email, "password": "guess"}).status_code == 400

    blocked = browser.post("/account/sign-in/", {"email": shopper.email, "password": PASSWORD})

    assert blocked.status_code == 429
    assert "Too many attempts from here or for this account; wait a while and try again." in page(blocked)
    assert "_auth_user_id" not in browser.session
