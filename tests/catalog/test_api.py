"""The catalog API as a shopper (or store staff) meets it: finding products, the price for their
channel, how many they can have and where, the nearest stores that have a variant, and the stores."""
import math
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from catalog.models import Channel
from inventory import services
from inventory.models import Location
from inventory.services import StockLine
from tests.factories import CategoryFactory, LocationFactory, PriceFactory, ProductFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db

LONDON = (51.5072, -0.1276)
NEAR_LONDON = "51.5072,-0.1276"
HOURS = {"mon": "09:00-20:00", "sun": "11:00-17:00"}


def km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance, worked out here independently of the database, to 0.1 km."""
    (lat1, lng1), (lat2, lng2) = (map(math.radians, a), map(math.radians, b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return round(2 * 6371.0088 * math.asin(math.sqrt(h)), 1)


def on_sale(channel, amount="20.00", **variant_fields):
    variant = VariantFactory(**variant_fields)
    PriceFactory(variant=variant, channel=channel, amount=amount)
    return variant


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["name"] for p in response.json()["results"]]


def field_errors(response) -> dict:
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    return body["detail"]["fields"]


# Finding products -----------------------------------------------------------------------------


def test_search_matches_name_brand_description_and_a_variant_sku_or_barcode(client, web):
    on_sale(web, product=ProductFactory(name="Merino Crew", brand="Fellside"))
    on_sale(web, product=ProductFactory(name="Rain Shell", description="Seam-sealed, packs into its pocket"))
    on_sale(web, product=ProductFactory(name="Canvas Tote"), sku="TOTE-OAT", barcode="5012345678900")

    assert names(client.get("/api/v1/products/", {"search": "merino"})) == ["Merino Crew"]
    assert names(client.get("/api/v1/products/", {"search": "fellside"})) == ["Merino Crew"]
    assert names(client.get("/api/v1/products/", {"search": "seam-SEALED"})) == ["Rain Shell"]
    assert names(client.get("/api/v1/products/", {"search": "tote-oat"})) == ["Canvas Tote"]
    assert names(client.get("/api/v1/products/", {"search": "5012345678900"})) == ["Canvas Tote"]
    assert names(client.get("/api/v1/products/", {"search": "merino shell"})) == []


def test_a_category_lists_its_own_products_and_those_of_every_category_beneath_it(client, web):
    clothing = CategoryFactory(name="Clothing")
    tops = CategoryFactory(name="Tops", parent=clothing)
    tees = CategoryFactory(name="Tees", parent=tops)
    shoes = CategoryFactory(name="Shoes")
    on_sale(web, product=ProductFactory(name="Chore Jacket", category=clothing))
    on_sale(web, product=ProductFactory(name="Polo", category=tops))
    on_sale(web, product=ProductFactory(name="Pocket Tee", category=tees))
    on_sale(web, product=ProductFactory(name="Trainer", category=shoes))

    assert names(client.get("/api/v1/products/", {"category": "clothing"})) == ["Chore Jacket", "Pocket Tee", "Polo"]
    assert names(client.get("/api/v1/products/", {"category": "tops"})) == ["Pocket Tee", "Polo"]
    assert names(client.get("/api/v1/products/", {"category": "tees"})) == ["Pocket Tee"]
    assert names(client.get("/api/v1/products/", {"category": "no-such-category"})) == []


def test_the_brand_filter_ignores_case_but_not_partial_names(client, web):
    on_sale(web, product=ProductFactory(name="Fleece", brand="Fellside"))
    on_sale(web, product=ProductFactory(name="Beanie", brand="Fellside Kids"))

    assert names(client.get("/api/v1/products/", {"brand": "FELLSIDE"})) == ["Fleece"]


def test_a_product_shows_category_variants_and_price_range(client, web):
    product = ProductFactory(name="Organic Tee", description="Heavyweight jersey")
    on_sale(web, "24.00", product=product, sku="TEE-M", options={"size": "M"})
    on_sale(web, "26.50", product=product, sku="TEE-XL", options={"size": "XL"}, barcode=None)

    body = client.get(f"/api/v1/products/{product.slug}/").json()

    assert body["category"] == {"slug": "tops", "name": "Tops"}
    assert body["description"] == "Heavyweight jersey"
    assert body["price_range"] == {"from": "24.00", "to": "26.50", "currency": "GBP"}
    assert [(v["sku"], v["options"], v["price"], v["barcode"] is None) for v in body["variants"]] == [
        ("TEE-M", {"size": "M"}, {"amount": "24.00", "currency": "GBP"}, False),
        ("TEE-XL", {"size": "XL"}, {"amount": "26.50", "currency": "GBP"}, True),
    ]


def test_an_unknown_or_inactive_product_is_not_found(client, web):
    on_sale(web, product=ProductFactory(slug="retired", is_active=False))

    for slug in ("no-such-product", "retired"):
        response = client.get(f"/api/v1/products/{slug}/")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


# Prices follow the channel --------------------------------------------------------------------


def test_the_price_shown_is_the_one_for_the_shoppers_channel(client, web, till):
    mobile = Channel.objects.get(code=Channel.MOBILE)
    variant = on_sale(web, "20.00")
    PriceFactory(variant=variant, channel=till, amount="18.00")
    PriceFactory(variant=variant, channel=mobile, amount="19.00")
    url = f"/api/v1/products/{variant.product.slug}/"
    staff = UserFactory()
    app_token = Token.objects.create(user=UserFactory(is_staff=False, username="shopper"))

    assert client.get(url).json()["variants"][0]["price"]["amount"] == "20.00"
    assert client.get(url, headers={"Authorization": f"Token {app_token.key}"}).json()["price_range"]["from"] == "19.00"
    client.force_login(staff)
    assert client.get(url, headers={"X-Channel": "till"}).json()["variants"][0]["price"]["amount"] == "18.00"
    assert client.get(url, headers={"X-Channel": "web"}).json()["variants"][0]["price"]["amount"] == "20.00"


def test_a_shopper_who_is_not_staff_cannot_use_the_till_channel(client, web):
    on_sale(web)

    response = client.get("/api/v1/products/", headers={"X-Channel": "till"})

    assert response.status_code == 403
    assert "staff" in response.json()["message"]


def test_a_sale_window_shows_the_sale_price_while_it_runs(client, web):
    variant = VariantFactory()
    now = timezone.now()
    PriceFactory(variant=variant, channel=web, amount="30.00", valid_until=now - timedelta(days=1))
    PriceFactory(variant=variant, channel=web, amount="22.50", valid_from=now - timedelta(days=1),
                 valid_until=now + timedelta(days=1))
    PriceFactory(variant=variant, channel=web, amount="15.00", valid_from=now + timedelta(days=2))

    product = client.get("/api/v1/products/").json()["results"][0]

    assert product["variants"][0]["price"]["amount"] == "22.50"


def test_variants_not_priced_on_the_channel_are_left_out_and_a_product_with_none_shows_no_price(client, web, till):
    product = ProductFactory(name="Tee")
    on_sale(web, product=product, sku="TEE-WEB")
    on_sale(till, product=product, sku="TEE-STORE-ONLY")
    store_only = on_sale(till, "5.00", product=ProductFactory(name="Gift Card"))

    listed = client.get("/api/v1/products/").json()["results"]

    assert [(p["name"], [v["sku"] for v in p["variants"]], p["price_range"]) for p in listed] == [
        ("Gift Card", [], None),
        ("Tee", ["TEE-WEB"], {"from": "20.00", "to": "20.00", "currency": "GBP"}),
    ]
    client.force_login(UserFactory())
    at_the_till = client.get(f"/api/v1/products/{store_only.product.slug}/", headers={"X-Channel": "till"}).json()
    assert [v["price"]["amount"] for v in at_the_till["variants"]] == ["5.00"]


# Availability ---------------------------------------------------------------------------------


def test_online_availability_keeps_safety_stock_back_and_the_till_sells_it(client, store, web, till):
    variant = on_sale(web, sku="TEE-NAVY-M")
    PriceFactory(variant=variant, channel=till)
    services.stock_receive(location=store, variant=variant, quantity=5)
    services.stock_set_safety_stock(location=store, variant=variant, quantity=2)
    url = "/api/v1/variants/TEE-NAVY-M/availability/"

    assert client.get(url).json() == [
        {
            "store": {"code": "LDN-OXF", "name": "London Oxford Street", "city": "London", "kind": "store"},
            "available": 3,
        }
    ]
    client.force_login(UserFactory())
    assert client.get(url, headers={"X-Channel": "till"}).json()[0]["available"] == 5
    products = client.get("/api/v1/products/", {"store": "LDN-OXF"}, headers={"X-Channel": "till"}).json()["results"]
    assert products[0]["variants"][0]["available"] == 5


def test_products_show_availability_at_the_chosen_store_or_else_for_delivery(client, web):
    shop = LocationFactory(code="BRI-CAB", ships_orders=False)
    warehouse = LocationFactory(code="WH-DAV", kind=Location.Kind.WAREHOUSE, ships_orders=True)
    shipping_store = LocationFactory(code="LDN-OXF", ships_orders=True)
    in_shop, elsewhere = on_sale(web, sku="A-1"), on_sale(web, sku="B-1")
    services.stock_receive(location=shop, variant=in_shop, quantity=4)
    services.stock_receive(location=warehouse, variant=elsewhere, quantity=7)
    services.stock_receive(location=shipping_store, variant=elsewhere, quantity=2)

    def stock(params):
        results = client.get("/api/v1/products/", params).json()["results"]
        return {v["sku"]: (v["available"], v["in_stock"]) for p in results for v in p["variants"]}

    assert stock({"store": "BRI-CAB"}) == {"A-1": (4, True), "B-1": (0, False)}
    assert stock({}) == {"A-1": (0, False), "B-1": (9, True)}
    response = client.get("/api/v1/products/", {"store": "WH-DAV"})
    assert response.status_code == 400 and "store" in field_errors(response)


def test_nearest_stores_that_can_sell_the_quantity_come_nearest_first_with_distance_and_hours(client, web):
    variant = on_sale(web, sku="TEE-NAVY-M")
    london = LocationFactory(
        code="LDN-OXF", latitude=51.5154, longitude=-0.1410, opening_hours=HOURS, postcode="W1D 1AN"
    )
    manchester = LocationFactory(code="MAN-ARN", latitude=53.4831, longitude=-2.2399)
    edinburgh = LocationFactory(code="EDI-PRI", latitude=55.9521, longitude=-3.1965)
    short = LocationFactory(code="LDN-KEN", latitude=51.5010, longitude=-0.1920)
    warehouse = LocationFactory(code="WH-LDN", kind=Location.Kind.WAREHOUSE, latitude=51.50, longitude=-0.12)
    for location in (edinburgh, manchester, london, warehouse):
        services.stock_receive(location=location, variant=variant, quantity=3)
    services.stock_receive(location=short, variant=variant, quantity=1)

    rows = client.get("/api/v1/variants/TEE-NAVY-M/availability/", {"near": NEAR_LONDON, "quantity": 2}).json()

    # The stores that can sell two now, nearest first; then those that can have them sent to collect.
    assert [r["code"] for r in rows] == ["LDN-OXF", "MAN-ARN", "EDI-PRI", "LDN-KEN"]
    expected = [km(LONDON, (s.latitude, s.longitude)) for s in (london, manchester, edinburgh, short)]
    assert [r["distance_km"] for r in rows] == expected
    assert rows[3]["available"] == 1 and rows[3]["collect_from"] is not None
    assert 255 < rows[1]["distance_km"] < 270  # London to Manchester, as the crow flies
    assert rows[0]["opening_hours"] == HOURS and rows[0]["postcode"] == "W1D 1AN"
    assert rows[0]["available"] == 3 and rows[0]["offers_pickup"] is True
    nearest = client.get("/api/v1/variants/TEE-NAVY-M/availability/", {"near": NEAR_LONDON, "limit": 1}).json()
    assert [r["code"] for r in nearest] == ["LDN-OXF"]


@pytest.mark.parametrize("near", ["", "london", "51.5", "51.5,-0.1,3", "91,0", "51.5,-181", "nan,0"])
def test_a_point_that_is_not_a_latitude_and_longitude_is_refused_naming_near(client, web, near):
    on_sale(web, sku="TEE-NAVY-M")

    for url in ("/api/v1/variants/TEE-NAVY-M/availability/", "/api/v1/stores/"):
        response = client.get(url, {"near": near})
        assert response.status_code == 400
        assert response.json()["code"] == "invalid"
        assert list(field_errors(response)) == ["near"]


def test_an_unknown_sku_is_not_found(client, web):
    response = client.get("/api/v1/variants/NO-SUCH-SKU/availability/", {"near": NEAR_LONDON})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_product_list_makes_the_same_number_of_queries_for_5_or_50_products(client, store, web):
    lines = []
    for _ in range(60):
        product = ProductFactory()
        lines += [StockLine(location=store, variant=on_sale(web, product=product), quantity=3) for _ in range(2)]
    services.stock_receive_many(lines=lines)

    client.get("/api/v1/products/", {"store": store.code})  # fills the process's reference tables (channels)
    counts = {}
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/products/", {"store": store.code, "page_size": size})
        results = response.json()["results"]
        assert len(results) == size and all(v["available"] == 3 for p in results for v in p["variants"])
        counts[size] = len(queries)

    assert counts[5] == counts[50], counts


# Stores ---------------------------------------------------------------------------------------


def test_stores_near_a_point_come_nearest_first_with_distance_hours_and_services(client, store, other_store):
    LocationFactory(code="WH-DAV", kind=Location.Kind.WAREHOUSE, latitude=51.5, longitude=-0.13)
    LocationFactory(code="LDN-OLD", is_active=False, latitude=51.5, longitude=-0.13)
    Location.objects.filter(pk=store.pk).update(opening_hours=HOURS)

    piccadilly = (53.4774, -2.2309)

    nearby = client.get("/api/v1/stores/", {"near": "53.4774,-2.2309"}).json()["results"]
    by_code = client.get("/api/v1/stores/").json()["results"]

    assert [(s["code"], s["distance_km"]) for s in nearby] == [
        ("MAN-ARN", km(piccadilly, (other_store.latitude, other_store.longitude))),
        ("LDN-OXF", km(piccadilly, (store.latitude, store.longitude))),
    ]
    assert nearby[1]["opening_hours"] == HOURS and nearby[1]["offers_pickup"] is True
    assert [(s["code"], s["distance_km"]) for s in by_code] == [("LDN-OXF", None), ("MAN-ARN", None)]


def test_a_store_is_found_by_its_code_and_a_closed_or_unknown_one_is_not(client, store):
    LocationFactory(code="LDN-OLD", is_active=False)

    assert client.get("/api/v1/stores/LDN-OXF/").json()["name"] == "London Oxford Street"
    assert client.get("/api/v1/stores/LDN-OLD/").status_code == 404
    assert client.get("/api/v1/stores/NOPE/").status_code == 404


def test_the_api_docs_describe_the_point_store_quantity_and_channel_parameters(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]

    def parameters(path):
        return {p["name"] for p in paths[path]["get"]["parameters"]}

    assert {"search", "category", "brand", "store", "page_size", "X-Channel"} <= parameters("/api/v1/products/")
    assert {"near", "quantity", "limit", "X-Channel"} <= parameters("/api/v1/variants/{sku}/availability/")
    assert "near" in parameters("/api/v1/stores/")
