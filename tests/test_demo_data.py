"""What a newcomer notices about `load_demo_data` (real places, prices everywhere, stock through the
ledger, a rerun changes nothing) and that `demo` refuses to run with DEBUG off."""
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, Sum

from catalog.models import Category, Channel, Price, Product, TaxClass, Variant
from inventory.models import Location, StockLevel, StockMovement
from inventory.selectors import ledger_drift

UK_BOUNDS = {"latitude": (49.8, 60.9), "longitude": (-8.2, 1.8)}


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    """Load the demo once for the module, inside a transaction rolled back when the module is done."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo_data", stdout=io.StringIO(), stderr=io.StringIO())
        yield
        transaction.set_rollback(True)


def snapshot() -> dict:
    return {
        "categories": Category.objects.count(),
        "products": Product.objects.count(),
        "variants": Variant.objects.count(),
        "prices": Price.objects.count(),
        "locations": Location.objects.count(),
        "movements": StockMovement.objects.count(),
        "stock rows": StockLevel.objects.count(),
        **StockLevel.objects.aggregate(on_hand=Sum("on_hand"), safety_stock=Sum("safety_stock")),
    }


def ean13_is_valid(code: str) -> bool:
    digits = [int(d) for d in code]
    return sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12])) % 10 == (10 - digits[12]) % 10


@pytest.mark.django_db
def test_stores_and_warehouses_are_real_places_in_the_uk(demo_data):
    stores = Location.objects.active().stores()
    warehouses = Location.objects.active().filter(kind=Location.Kind.WAREHOUSE)
    assert stores.count() >= 20
    assert warehouses.count() == 2
    for location in Location.objects.all():
        assert UK_BOUNDS["latitude"][0] < location.latitude < UK_BOUNDS["latitude"][1], location.code
        assert UK_BOUNDS["longitude"][0] < location.longitude < UK_BOUNDS["longitude"][1], location.code
        assert location.postcode and location.address_line and location.email and location.phone, location.code
        assert set(location.opening_hours) == {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, location.code
    assert set(Location.objects.values_list("country", flat=True)) == {"GB"}
    assert all(w.ships_orders and not w.sells_in_store and not w.offers_pickup for w in warehouses)
    assert stores.filter(offers_pickup=True).count() > stores.count() / 2
    assert stores.filter(ships_orders=True).exists()


@pytest.mark.django_db
def test_catalog_is_a_few_hundred_products_in_a_category_tree(demo_data):
    assert Product.objects.count() >= 300
    assert 2000 <= Variant.objects.count() <= 3000
    assert Category.objects.filter(parent__isnull=True, slug__in=["women", "men", "kids", "home"]).count() == 4
    assert not Product.objects.filter(category__parent__isnull=True).exists(), "products sit in leaf categories"
    assert not Product.objects.annotate(n=Count("variants")).filter(n=0).exists()
    assert Product.objects.values("brand").distinct().count() >= 5


@pytest.mark.django_db
def test_every_variant_has_a_price_on_web_mobile_and_till(demo_data):
    for code in (Channel.WEB, Channel.MOBILE, Channel.TILL):
        unpriced = Variant.objects.exclude(prices__channel__code=code)
        assert not unpriced.exists(), f"{unpriced.count()} variants have no {code} price"
    assert not Price.objects.exclude(currency="GBP").exists()
    assert not Price.objects.filter(amount__lte=0).exists()


@pytest.mark.django_db
def test_stock_exists_and_agrees_with_the_ledger_everywhere(demo_data):
    variants = Variant.objects.count()
    for location in Location.objects.all():
        assert ledger_drift(location=location) == [], location.code
        rows = StockLevel.objects.filter(location=location, on_hand__gt=0).count()
        if location.kind == Location.Kind.WAREHOUSE:
            assert rows == variants, f"{location.code} should hold every variant"
        else:
            assert 0.4 * variants < rows < 0.7 * variants, location.code
    assert StockLevel.objects.filter(location__kind=Location.Kind.STORE, safety_stock=1).exists()
    assert not StockMovement.objects.exclude(reason=StockMovement.Reason.RECEIPT).exists()


@pytest.mark.django_db
def test_childrens_clothes_are_zero_rated_and_every_variant_weighs_something(demo_data):
    kids = Product.objects.filter(category__parent__slug="kids")
    assert kids.exists() and set(kids.values_list("tax_class", flat=True)) == {TaxClass.ZERO}
    assert set(Product.objects.exclude(category__parent__slug="kids").values_list("tax_class", flat=True)) == {
        TaxClass.STANDARD}
    assert not Variant.objects.filter(weight_grams=0).exists()
    pan_sizes = list(Variant.objects.filter(product__category__slug="home-cookware", options__size__in=["20cm", "28cm"])
                     .order_by("product_id", "sku").values_list("options__size", "weight_grams")[:2])
    assert pan_sizes[0][1] < pan_sizes[1][1]  # the bigger pan weighs more


@pytest.mark.django_db
def test_a_second_run_changes_nothing(demo_data):
    before = snapshot()
    call_command("load_demo_data", stdout=io.StringIO(), stderr=io.StringIO())
    assert snapshot() == before


@pytest.mark.django_db
def test_barcodes_are_unique_valid_ean13(demo_data):
    barcodes = list(Variant.objects.values_list("barcode", flat=True))
    assert len(set(barcodes)) == len(barcodes)
    bad = [b for b in barcodes if not (b and len(b) == 13 and b.isdigit() and ean13_is_valid(b))]
    assert bad == []


def test_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=1"):
        call_command("demo", stdout=io.StringIO())
