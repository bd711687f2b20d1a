"""Where visitors come from, as the shop records it: an arrival from a campaign link or another site is a
touch on the visitor's timeline (source, medium, campaign, landing page); pages within a visit are not new
arrivals; the app says where it was opened from; product views count once a day; what a guest did joins
the customer's timeline at sign-in; and the first and last touch are what an order freezes."""
import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from catalog.models import Channel
from customers.attribution import attribution_for
from customers.models import Interaction
from tests.customers.conftest import PASSWORD, register
from tests.factories import stock_the_shop

pytestmark = pytest.mark.django_db
INSTAGRAM = "/?utm_source=Instagram&utm_medium=social&utm_campaign=spring-sale"


def arrivals(**who) -> list[tuple]:
    return [(a.detail["source"], a.detail["medium"], a.detail.get("campaign", ""), a.detail["landing"])
            for a in Interaction.objects.filter(kind=Interaction.Kind.ARRIVED, **who).order_by("id")]


def test_a_campaign_link_is_one_arrival_and_the_pages_after_it_are_the_same_visit(store):
    stock_the_shop(store=store)
    browser = Client()

    browser.get(INSTAGRAM)
    browser.get("/shop/", HTTP_REFERER="http://testserver/")
    browser.get("/shop/organic-tee/", HTTP_REFERER="http://testserver/shop/")

    assert arrivals() == [("instagram", "social", "spring-sale", INSTAGRAM)]
    visitor = Interaction.objects.get(kind=Interaction.Kind.ARRIVED).visitor
    assert visitor is not None and Interaction.objects.get(kind=Interaction.Kind.PRODUCT_VIEWED).visitor == visitor


@pytest.mark.parametrize("referrer, source, medium", [
    ("https://www.google.co.uk/", "google.co.uk", "organic"),
    ("https://l.facebook.com/l.php?u=x", "l.facebook.com", "social"),
    ("https://t.co/abc", "t.co", "social"),
    ("https://www.which.co.uk/reviews", "which.co.uk", "referral"),
])
def test_another_site_sending_a_visitor_names_the_source_and_medium(referrer, source, medium):
    Client().get("/shop/", HTTP_REFERER=referrer)

    assert arrivals() == [(source, medium, "", "/shop/")]


def test_a_new_campaign_or_a_return_after_half_an_hour_is_a_new_arrival_and_staff_pages_are_not_counted(store):
    browser = Client()
    browser.get("/")
    browser.get("/?utm_source=newsletter&utm_medium=email&utm_campaign=nov")
    browser.get("/shop/")
    cache.clear()  # half an hour passes (the visit is remembered for 30 minutes)
    browser.get("/shop/")
    browser.get("/admin/login/")
    browser.get("/scan/")

    assert arrivals() == [("(direct)", "(none)", "", "/"),
                          ("newsletter", "email", "nov", "/?utm_source=newsletter&utm_medium=email&utm_campaign=nov"),
                          ("(direct)", "(none)", "", "/shop/")]


def test_the_app_says_where_it_was_opened_from_and_its_install_is_the_visitor(store):
    install = uuid.uuid4()
    app = Client(HTTP_X_VISITOR_ID=str(install))

    app.get("/api/v1/products/", HTTP_X_ATTRIBUTION="utm_source=tiktok&utm_medium=social&utm_campaign=drop"
                                                      "&landing=/shop/organic-tee/")
    app.get("/api/v1/products/")
    Client().get("/api/v1/products/")  # an API client that names no install is not a visitor

    assert arrivals() == [("tiktok", "social", "drop", "/shop/organic-tee/")]
    arrival = Interaction.objects.get(kind=Interaction.Kind.ARRIVED)
    assert (arrival.visitor, arrival.channel.code) == (install, "mobile")


def test_a_product_view_counts_once_a_day_and_a_guests_views_join_the_timeline_at_sign_in(store):
    stock_the_shop(store=store)
    ada = register()
    browser = Client()
    browser.get("/?utm_source=instagram&utm_medium=social")
    for _ in range(3):
        browser.get("/shop/organic-tee/")
    assert Interaction.objects.filter(kind=Interaction.Kind.PRODUCT_VIEWED).count() == 1
    assert not ada.interactions.filter(kind=Interaction.Kind.PRODUCT_VIEWED).exists()

    signed_in = browser.post("/account/sign-in/", {"email": ada.email, "password": PASSWORD})

    assert signed_in.status_code == 302
    assert list(ada.interactions.filter(kind__in=["arrived", "product_viewed"]).order_by("id")
                .values_list("kind", "reference")) == [("arrived", "source:instagram"),
                                                      ("product_viewed", "product:organic-tee")]
    browser.get("/shop/organic-tee/")
    assert ada.interactions.filter(kind=Interaction.Kind.PRODUCT_VIEWED).count() == 1  # still once today


def test_an_order_freezes_the_first_and_the_last_touch(store):
    ada = register()
    web = Channel.objects.get(code=Channel.WEB)
    browser = Client()
    browser.get("/?utm_source=instagram&utm_medium=social&utm_campaign=spring-sale")
    browser.post("/account/sign-in/", {"email": ada.email, "password": PASSWORD})
    cache.clear()
    browser.get("/?utm_source=newsletter&utm_medium=email")

    frozen = attribution_for(customer=ada, visitor=None, channel=web)

    assert (frozen["first"]["source"], frozen["first"]["campaign"], frozen["first"]["channel"]) == (
        "instagram", "spring-sale", "web")
    assert (frozen["last"]["source"], frozen["last"]["medium"]) == ("newsletter", "email")
    assert attribution_for(customer=None, visitor=uuid.uuid4(), channel=web)["last"] == {
        "source": "(direct)", "medium": "(none)"}
    assert attribution_for(customer=ada, visitor=None, channel=Channel.objects.get(code=Channel.TILL))["last"][
        "source"] == "(in store)"
