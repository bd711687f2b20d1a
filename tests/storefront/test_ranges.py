"""The storefront follows the ranges exactly as the API does: what the web's active ranges do not hold is
neither shown nor sold on the web pages, while the app (whose range holds it) still sells it."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Channel, Range

pytestmark = pytest.mark.django_db


@pytest.fixture
def app_only_hoodie(goods):
    tee_m, tee_l, hood = goods
    Range.objects.filter(code="whole-catalogue").update(ends_at=timezone.now() - timedelta(days=1))
    everywhere = Range.objects.create(code="core", name="Core")
    everywhere.variants.set([tee_m, tee_l])
    app = Range.objects.create(code="app-exclusives", name="App exclusives")
    app.variants.set([hood])
    app.channels.set([Channel.objects.get(code=Channel.MOBILE)])
    return hood


def test_the_web_pages_and_the_web_api_agree_and_the_app_still_sells_it(browser, app_only_hoodie):
    web_api = sorted(p["name"] for p in APIClient().get("/api/v1/products/").json()["results"] if p["variants"])
    app_api = sorted(p["name"] for p in APIClient().get("/api/v1/products/", HTTP_X_CHANNEL="mobile").json()["results"]
                     if p["variants"])
    listing = browser.get("/shop/").content.decode()

    assert web_api == ["Organic Tee"]
    assert app_api == ["Harbour Hoodie", "Organic Tee"]
    assert "Organic Tee" in listing and "Harbour Hoodie" not in listing
    page = browser.get("/shop/harbour-hoodie/").content.decode()  # an old link still opens, with nothing to buy
    assert "Not sold online at the moment." in page and "HOOD-GREY-L" not in page
    web_add = APIClient().post("/api/v1/cart/lines/", {"sku": "HOOD-GREY-L"}, format="json")
    app_add = APIClient().post("/api/v1/cart/lines/", {"sku": "HOOD-GREY-L"}, format="json", HTTP_X_CHANNEL="mobile")
    assert (web_add.status_code, app_add.status_code) == (422, 201)
