"""What a shopper sees when something is missing or breaks: the shop's own 404 and 500 pages, never a
stack trace; and the staff pages share the shop's look and stylesheet."""
import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import UserFactory

from .helpers import page, title

pytestmark = pytest.mark.django_db


def test_an_unknown_page_and_an_unknown_product_show_the_shops_404(browser, goods):
    for url in ("/no-such-page/", "/shop/no-such-product/"):
        response = browser.get(url)
        assert response.status_code == 404
        assert title(response) == "Page not found · Hearth & Thread"
        assert "We cannot find that page" in page(response)


def test_a_crash_shows_the_shops_500_page_without_a_stack_trace(goods, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr("storefront.views.shop.product_list", broken)
    response = Client(raise_request_exception=False).get("/shop/")
    assert response.status_code == 500
    assert "Sorry, something went wrong on our side" in page(response)
    assert "Traceback" not in page(response) and "database on fire" not in page(response)


def test_the_stylesheet_is_served_by_whitenoise(browser):
    response = browser.get("/static/storefront/site.css")
    assert response.status_code == 200 and b"--brand" in b"".join(response.streaming_content)


def test_the_scan_station_and_pick_list_use_the_shops_base_template(store):
    staff = UserFactory(username="counter")
    staff.user_permissions.add(Permission.objects.get(codename="use_scan_station"))
    store.staff.add(staff)
    client = Client()
    client.force_login(staff)
    for url, heading in (("/scan/", "Pickup counter"), (f"/scan/pick-list/{store.code}/", "Pick list")):
        html = page(client.get(url))
        assert 'href="/static/storefront/site.css"' in html and '<a class="brand" href="/">Hearth &amp; Thread</a>' in html
        assert f'<span class="staff-tag">{heading} · {store.name}</span>' in html
