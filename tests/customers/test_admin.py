"""The customer page in the back office: profile, consent, the open cart and the timeline together,
and finding a customer by email, phone or name."""
import pytest

from customers import services
from customers.models import Customer
from tests.customers.conftest import app_client

pytestmark = pytest.mark.django_db


def test_the_customer_page_shows_the_open_cart_and_the_timeline(admin_client, ada, priced):
    phone = app_client(ada)
    phone.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M", "quantity": 2}, format="json")
    phone.put("/api/v1/me/consent/", {"sms": True}, format="json")

    page = admin_client.get(f"/admin/customers/customer/{ada.pk}/change/").content.decode()

    assert "TEE-NAVY-M" in page and "Mobile app" in page
    for event in ("Signed up", "Signed in", "Changed the cart", "Changed marketing consent"):
        assert event in page
    assert page.index("Changed marketing consent") < page.index("Signed up")  # newest first


@pytest.mark.parametrize("query", ["grace@example", "+44 7700 900456", "Hopper"])
def test_staff_find_a_customer_by_email_phone_or_name(admin_client, ada, grace, query):
    services.customer_update(customer=grace, channel=None, phone="+44 7700 900456", last_name="Hopper")

    page = admin_client.get("/admin/customers/customer/", {"q": query}).content.decode()

    assert "grace@example.com" in page and "ada@example.com" not in page


def test_carts_cannot_be_edited_in_the_back_office(admin_client, ada, priced):
    app_client(ada).post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M"}, format="json")
    cart = Customer.objects.get(pk=ada.pk).carts.get()

    assert admin_client.get("/admin/customers/cart/add/").status_code == 403
    page = admin_client.get(f"/admin/customers/cart/{cart.pk}/change/").content.decode()
    assert 'name="_save"' not in page
