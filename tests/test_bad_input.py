"""Input a fuzzer or an attacker sends: each gets a 4xx that says what is wrong (the API's JSON error shape,
or a page) and changes nothing; a bug behind the API still answers in that shape, without a trace."""
import json
import uuid

import pytest
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient

from config import urls as project_urls
from customers.models import Cart
from orders.models import CheckoutAttempt, Order
from tests.factories import stock_the_shop

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("secret detail of a bug")


urlpatterns = [path("api/v1/boom/", boom), *project_urls.urlpatterns]
handler404, handler500 = project_urls.handler404, project_urls.handler500


@pytest.mark.parametrize("address", ["/api/v1/products/?store=%00", "/api/v1/variants/TEE%00/availability/",
                                     "/api/v1/orders/R%00/", "/api/v1/staff/fulfillments/?status=%00"])
def test_a_nul_byte_in_an_api_address_is_a_400_that_says_so(address):
    answer = APIClient().get(address)
    assert answer.status_code == 400
    assert answer.json()["code"] == "bad_request" and "control character" in answer.json()["message"]


def test_a_nul_byte_in_a_page_address_is_a_bad_request_page():
    answer = Client().get("/orders/R1%00/")
    assert answer.status_code == 400
    assert answer["Content-Type"].startswith("text/html")


def test_json_nested_beyond_reason_is_refused_and_adds_nothing_to_the_cart(store):
    stock_the_shop(store=store)
    deep = "[" * 100_000 + "]" * 100_000
    answer = APIClient().post("/api/v1/cart/lines/", deep, content_type="application/json")
    assert answer.status_code == 400
    assert "nested too deeply" in json.dumps(answer.json())
    assert not Cart.objects.exists()


def test_a_payment_method_id_longer_than_any_stripe_makes_is_refused_before_stripe_is_asked(store):
    stock_the_shop(store=store)
    shopper = APIClient()
    cart = shopper.post("/api/v1/cart/lines/", {"sku": "TEE-NAVY-M"}, format="json").json()
    answer = shopper.post("/api/v1/checkout/", {"fulfilment": "pickup", "store": store.code, "payment_method": "card",
                                                "payment_method_id": "pm_" + "x" * 20_000, "email": "a@example.com"},
                          format="json", headers={"Idempotency-Key": str(uuid.uuid4()), "X-Cart-Token": cart["token"]})
    assert answer.status_code == 400
    assert "payment_method_id" in answer.json()["detail"]["fields"]
    assert not Order.objects.exists() and not CheckoutAttempt.objects.exists()


def test_a_session_sign_in_posted_from_another_site_is_refused(django_user_model):
    django_user_model.objects.create_user("ada@example.com", email="ada@example.com", password="correct-horse-9")
    browser = Client(enforce_csrf_checks=True)  # a form on another site posts with the shopper's browser
    answer = browser.post("/api/v1/auth/session/", {"email": "ada@example.com", "password": "correct-horse-9"},
                          content_type="application/json")
    assert answer.status_code == 403
    assert "sessionid" not in answer.cookies


def test_a_bug_behind_the_api_answers_in_the_error_shape_without_a_trace(settings):
    settings.ROOT_URLCONF = __name__
    answer = Client(raise_request_exception=False).get("/api/v1/boom/")
    assert answer.status_code == 500
    assert answer.json()["code"] == "server_error"
    assert "secret detail" not in answer.content.decode() and "Traceback" not in answer.content.decode()
