"""Ranges decide what each channel (and each store's till) sells, and when. The products API, the cart,
checkout and the till all follow them: a variant in no active range for a channel is not sold there."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from backoffice.roles import STORE_STAFF, role_assign
from catalog.models import Channel, Range
from catalog.services import range_add_variants
from inventory import services as stock
from tests.factories import CategoryFactory, PriceFactory, ProductFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def narrowed(db):
    """The merchandisers have ended the install's whole-catalogue range: only their own ranges sell."""
    Range.objects.filter(code="whole-catalogue").update(ends_at=timezone.now() - timedelta(days=1))


def priced_everywhere(sku: str, **product):
    variant = VariantFactory(sku=sku, product=ProductFactory(**product))
    for channel in Channel.objects.all():
        PriceFactory(variant=variant, channel=channel, amount="20.00")
    return variant


def make_range(code: str, variants=(), channels=(), stores=(), **dates) -> Range:
    range_ = Range.objects.create(code=code, name=code.title(), **dates)
    range_.variants.set(variants)
    range_.channels.set(Channel.objects.filter(code__in=channels))
    range_.locations.set(stores)
    return range_


def listed_skus(channel: str) -> list[str]:
    client = APIClient()
    products = client.get("/api/v1/products/", HTTP_X_CHANNEL=channel).json()["results"]
    return sorted(v["sku"] for p in products for v in p["variants"])


def add_to_cart(channel: str, sku: str):
    return APIClient().post("/api/v1/cart/lines/", {"sku": sku, "quantity": 1}, format="json", HTTP_X_CHANNEL=channel)


def test_a_fresh_install_sells_every_priced_variant_on_every_channel(store):
    tee = priced_everywhere("TEE")
    stock.stock_receive(location=store, variant=tee, quantity=3)

    assert listed_skus("web") == listed_skus("mobile") == ["TEE"]
    assert add_to_cart("mobile", "TEE").status_code == 201


def test_a_web_only_range_shows_on_the_web_and_not_in_the_app_and_the_app_cannot_buy_it(narrowed, store):
    web_only, everywhere = priced_everywhere("WEB-EXCL"), priced_everywhere("TEE")
    for variant in (web_only, everywhere):
        stock.stock_receive(location=store, variant=variant, quantity=3)
    make_range("web-exclusives", [web_only], channels=["web"])
    make_range("core", [everywhere])  # no channels named: every channel

    assert listed_skus("web") == ["TEE", "WEB-EXCL"]
    assert listed_skus("mobile") == ["TEE"]
    refused = add_to_cart("mobile", "WEB-EXCL")
    assert refused.status_code == 422, refused.content
    assert "not sold on" in refused.json()["message"]
    assert add_to_cart("web", "WEB-EXCL").status_code == 201


def test_a_range_sells_only_between_its_start_and_its_end(narrowed):
    now = timezone.now()
    summer, winter = priced_everywhere("SUMMER"), priced_everywhere("WINTER")
    make_range("summer", [summer], starts_at=now - timedelta(days=30), ends_at=now - timedelta(minutes=1))
    make_range("winter", [winter], starts_at=now + timedelta(days=1))

    assert listed_skus("web") == []
    Range.objects.filter(code="winter").update(starts_at=now - timedelta(minutes=1))
    assert listed_skus("web") == ["WINTER"]


def test_a_store_range_is_sold_at_that_stores_till_and_nowhere_else(narrowed, store, other_store):
    local = priced_everywhere("LOCAL-ALE")
    for location in (store, other_store):
        stock.stock_receive(location=location, variant=local, quantity=5)
    make_range("london-locals", [local], channels=["till"], stores=[store])
    staff = role_assign(user=UserFactory(), role=STORE_STAFF, stores=[store, other_store])
    till = APIClient()
    till.force_authenticate(staff)

    def sell_at(location):
        return till.post("/api/v1/staff/till/sales/", {"store": location.code, "payment_method": "cash",
                                                        "lines": [{"sku": "LOCAL-ALE", "quantity": 1}]}, format="json")

    assert sell_at(store).status_code == 201
    refused = sell_at(other_store)
    assert refused.status_code == 422, refused.content
    assert f"Not sold at {other_store.name}: LOCAL-ALE" in refused.json()["message"]
    assert listed_skus("web") == []  # a store's range is not the website's


def test_a_store_price_is_what_that_stores_till_charges(store, other_store):
    tee = priced_everywhere("TEE")
    till_channel = Channel.objects.get(code=Channel.TILL)
    PriceFactory(variant=tee, channel=till_channel, location=store, amount="15.00")
    for location in (store, other_store):
        stock.stock_receive(location=location, variant=tee, quantity=5)
    staff = UserFactory(is_superuser=True, is_staff=True)
    till = APIClient()
    till.force_authenticate(staff)

    totals = {
        location.code: till.post("/api/v1/staff/till/sales/", {
            "store": location.code, "payment_method": "cash", "lines": [{"sku": "TEE", "quantity": 2}]},
            format="json").json()["total_amount"]
        for location in (store, other_store)
    }

    assert totals == {store.code: "30.00",
                      other_store.code: "40.00"}


def test_checkout_refuses_a_cart_line_whose_range_ended_after_it_was_added(narrowed, store, stripe_double):
    from tests.factories import card

    tee = priced_everywhere("TEE")
    stock.stock_receive(location=store, variant=tee, quantity=5)
    core = make_range("core", [tee])
    shopper = APIClient()
    assert shopper.post("/api/v1/cart/lines/", {"sku": "TEE", "quantity": 1}, format="json").status_code == 201
    Range.objects.filter(pk=core.pk).update(ends_at=timezone.now())

    refused = shopper.post("/api/v1/checkout/", {
        "fulfilment": "pickup", "store": store.code, "email": "ada@example.com",
        "payment_method": "card", "payment_method_id": card(stripe_double),
    }, format="json", HTTP_IDEMPOTENCY_KEY="range-ended")

    assert refused.status_code == 422, refused.content
    assert "TEE" in refused.json()["message"]


def test_adding_by_category_takes_its_sub_categories_and_by_brand_only_that_brand(db):
    tops = CategoryFactory(name="Tops", slug="tops")
    tees = CategoryFactory(name="Tees", slug="tees", parent=tops)
    shoes = CategoryFactory(name="Shoes", slug="shoes")
    a = VariantFactory(sku="TEE-A", product=ProductFactory(category=tees, brand="Hearth"))
    b = VariantFactory(sku="TOP-B", product=ProductFactory(category=tops, brand="Other"))
    VariantFactory(sku="SHOE-C", product=ProductFactory(category=shoes, brand="Hearth"))
    range_ = Range.objects.create(code="tops", name="Tops")

    assert range_add_variants(range_=range_, category=tops) == 2
    assert range_add_variants(range_=range_, category=tops) == 0  # already in
    assert sorted(range_.variants.values_list("sku", flat=True)) == ["TEE-A", "TOP-B"]

    hearth = Range.objects.create(code="hearth-shoes", name="Hearth shoes")
    range_add_variants(range_=hearth, brand="hearth", category=shoes)
    assert list(hearth.variants.values_list("sku", flat=True)) == ["SHOE-C"]
    assert {a.pk, b.pk} == set(range_.variants.values_list("pk", flat=True))


def test_the_range_admin_adds_a_brand_when_saved(admin_client, db):
    VariantFactory(sku="H-1", product=ProductFactory(brand="Hearth"))
    VariantFactory(sku="X-1", product=ProductFactory(brand="Other"))

    response = admin_client.post("/admin/catalog/range/add/", {
        "name": "Hearth", "code": "hearth", "starts_at_0": "2026-01-01", "starts_at_1": "00:00:00",
        "add_brand": "Hearth",
    }, follow=True)

    assert response.status_code == 200
    assert "Added 1 variant(s) of brand Hearth" in response.content.decode()
    assert list(Range.objects.get(code="hearth").variants.values_list("sku", flat=True)) == ["H-1"]
