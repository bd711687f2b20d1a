"""CSV import and export as a merchandiser meets it: every bad row reported by line, column and reason,
nothing saved from a bad file (unless the good rows are asked for), a second import that changes
nothing, stock counts booked through the ledger, overlapping prices refused, the command and the page."""
import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse

from backoffice.imports import csv_import, csv_rows
from catalog.models import Price, Product, Range, Variant
from inventory import services as stock
from inventory.models import StockLevel, StockMovement
from tests.factories import (
    CategoryFactory,
    PriceFactory,
    ProductFactory,
    RangeFactory,
    UserFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def run(kind: str, text: str, **options):
    return csv_import(kind=kind, file=io.StringIO(text), **options)


def errors(result) -> list[str]:
    return [str(e) for e in result.errors]


def counts() -> dict:
    return {
        "products": Product.objects.count(), "variants": Variant.objects.count(), "prices": Price.objects.count(),
        "ranges": Range.objects.count(), "range skus": Range.variants.through.objects.count(),
        "range channels": Range.channels.through.objects.count(),
        "range stores": Range.locations.through.objects.count(),
        "movements": StockMovement.objects.count(), "levels": StockLevel.objects.count(),
    }


@pytest.fixture
def tops(db):
    return CategoryFactory(name="Tops", slug="tops")


PRODUCTS = """slug,name,brand,category,description,tax_class,is_active
organic-tee,Organic Tee,Northwind,tops,"Soft, heavy cotton",standard,true
linen-shirt,Linen Shirt,Northwind,tops,,reduced,false
"""
VARIANTS = """sku,product_slug,barcode,options,weight_grams,is_active
TEE-NAVY-M,organic-tee,5012345678900,size=M;colour=Navy,180,true
TEE-NAVY-L,organic-tee,,size=L;colour=Navy,190,true
SHIRT-S,linen-shirt,5012345678917,size=S,240,false
"""
PRICES = """sku,channel,location,amount,currency,valid_from,valid_until
TEE-NAVY-M,web,,20.00,GBP,,2025-06-01T00:00:00+01:00
TEE-NAVY-M,web,,16.00,GBP,2025-06-01T00:00:00+01:00,
TEE-NAVY-M,till,LDN-OXF,19.50,GBP,,
TEE-NAVY-L,web,,22.00,,,
"""
RANGES = """range_code,name,sku,channels,stores,starts_at,ends_at
summer-tees,Summer tees,TEE-NAVY-M,web;mobile,LDN-OXF;MAN-ARN,2025-05-01T00:00:00+01:00,2025-09-01T00:00:00+01:00
summer-tees,Summer tees,TEE-NAVY-L,web;mobile,LDN-OXF;MAN-ARN,2025-05-01T00:00:00+01:00,2025-09-01T00:00:00+01:00
"""
STOCK = """store,sku,counted
LDN-OXF,TEE-NAVY-M,7
LDN-OXF,TEE-NAVY-L,5
MAN-ARN,TEE-NAVY-M,0
"""


@pytest.fixture
def catalogue(tops, store, other_store):
    """Products, variants, prices, a range and stock counts, each imported from the files above."""
    for kind, text in (("products", PRODUCTS), ("variants", VARIANTS), ("prices", PRICES), ("ranges", RANGES),
                       ("stock", STOCK)):
        result = run(kind, text)
        assert result.imported and not result.errors, errors(result)


# Validation -----------------------------------------------------------------------------------


def test_a_bad_file_reports_every_problem_by_line_and_column_and_saves_nothing(tops):
    text = """slug,name,category,tax_class,is_active
good-tee,Good Tee,tops,standard,true
bad slug,Bad Slug,tops,standard,true
no-category,No Category,shoes,standard,true
good-tee,Twice,tops,luxury,maybe
"""
    result = run("products", text)

    assert result.refused and not result.imported
    assert errors(result) == [
        "line 3, column slug: 'bad slug' is not a code: use letters, digits, hyphens and underscores only",
        "line 4, column category: there is no category (by slug) 'shoes'",
        "line 5, column slug: product good-tee is also on line 2",
        "line 5, column tax_class: there is no tax class (standard, reduced, zero) 'luxury'",
        "line 5, column is_active: 'maybe' is not true or false",
    ]
    assert Product.objects.count() == 0


def test_a_header_without_a_key_column_or_with_an_unknown_one_is_refused_on_line_1(db):
    result = run("prices", "sku,channel,price\nTEE-NAVY-M,web,20.00\n")

    assert result.refused
    assert errors(result) == [
        "line 1, column price: is not a column of prices; the columns are sku, channel, location, amount, currency, "
        "valid_from, valid_until",
        "line 1, column amount: is missing; prices need the columns sku, channel, amount",
    ]


def test_a_new_product_needs_a_name_and_category_but_an_update_may_give_one_column(tops):
    ProductFactory(slug="organic-tee", name="Organic Tee", category=tops, is_active=True)

    result = run("products", "slug,is_active\norganic-tee,false\nnew-tee,true\n")

    assert errors(result) == ["line 3, column name: a new product needs a name; add the column",
                              "line 3, column category: a new product needs a category; add the column"]
    result = run("products", "slug,is_active\norganic-tee,false\n")
    assert (result.updated, result.created) == (1, 0)
    product = Product.objects.get(slug="organic-tee")
    assert (product.is_active, product.name) == (False, "Organic Tee")


def test_good_rows_only_imports_the_good_rows_and_reports_the_skipped_ones(tops):
    text = "slug,name,category\nfirst,First,tops\nsecond,Second,shoes\nthird,Third,tops\n"

    result = run("products", text, good_rows_only=True)

    assert result.imported and not result.refused
    assert (result.created, result.skipped_rows) == (2, 1)
    assert errors(result) == ["line 3, column category: there is no category (by slug) 'shoes'"]
    assert sorted(Product.objects.values_list("slug", flat=True)) == ["first", "third"]


def test_a_dry_run_counts_what_would_change_and_saves_nothing(tops):
    result = run("products", PRODUCTS, dry_run=True)

    assert (result.created, result.imported) == (2, False)
    assert "Dry run, nothing saved" in result.summary()
    assert Product.objects.count() == 0


def test_variants_read_options_and_refuse_a_barcode_another_sku_holds(tops):
    run("products", PRODUCTS)
    VariantFactory(sku="OLD-1", barcode="5012345678900")

    result = run("variants", VARIANTS)
    assert errors(result) == ["line 2, column barcode: 5012345678900 already belongs to SKU OLD-1"]

    Variant.objects.filter(sku="OLD-1").update(barcode=None)
    assert run("variants", VARIANTS).created == 3
    tee = Variant.objects.get(sku="TEE-NAVY-M")
    assert (tee.options, tee.weight_grams, tee.product.slug) == ({"size": "M", "colour": "Navy"}, 180, "organic-tee")
    assert Variant.objects.get(sku="TEE-NAVY-L").barcode is None


# Idempotency ----------------------------------------------------------------------------------


def test_importing_the_same_files_again_changes_nothing(catalogue):
    before = counts()
    assert before["prices"] == 4 and before["range skus"] == 2 and before["movements"] == 2

    for kind, text in (("products", PRODUCTS), ("variants", VARIANTS), ("prices", PRICES), ("ranges", RANGES),
                       ("stock", STOCK)):
        result = run(kind, text)
        assert (result.created, result.updated, result.errors) == (0, 0, []), kind

    assert counts() == before


def test_a_changed_price_row_updates_the_price_it_names_instead_of_adding_one(catalogue, store):
    before = Price.objects.count()

    result = run("prices", "sku,channel,location,amount\nTEE-NAVY-M,till,LDN-OXF,18.00\n")

    assert (result.created, result.updated) == (0, 1)
    assert Price.objects.count() == before
    assert Price.objects.get(variant__sku="TEE-NAVY-M", channel__code="till", location=store).amount == Decimal("18.00")


# Prices that overlap --------------------------------------------------------------------------


def test_a_price_window_overlapping_a_saved_one_is_refused(catalogue):
    result = run("prices", "sku,channel,amount,valid_from,valid_until\n"
                           "TEE-NAVY-L,web,18.00,2025-07-01T00:00:00+01:00,2025-08-01T00:00:00+01:00\n")

    assert errors(result) == [
        "line 2, column valid_from: 2025-07-01 00:00 to 2025-08-01 00:00 overlaps the saved price of 22.00 GBP; "
        "price windows may not overlap"
    ]
    assert Price.objects.filter(variant__sku="TEE-NAVY-L").count() == 1


def test_two_rows_of_one_file_whose_windows_overlap_are_refused_but_touching_windows_are_fine(catalogue):
    header = "sku,channel,amount,valid_from,valid_until\n"
    result = run("prices", header
                 + "TEE-NAVY-L,mobile,10.00,2025-01-01T00:00:00+00:00,2025-02-01T00:00:00+00:00\n"
                 + "TEE-NAVY-L,mobile,11.00,2025-01-15T00:00:00+00:00,2025-03-01T00:00:00+00:00\n")
    assert errors(result) == [
        "line 3, column valid_from: 2025-01-15 00:00 to 2025-03-01 00:00 overlaps the price on line 2; "
        "price windows may not overlap"
    ]

    result = run("prices", header
                 + "TEE-NAVY-L,mobile,10.00,2025-01-01T00:00:00+00:00,2025-02-01T00:00:00+00:00\n"
                 + "TEE-NAVY-L,mobile,11.00,2025-02-01T00:00:00+00:00,\n")
    assert (result.created, result.errors) == (2, [])


def test_ending_a_saved_price_and_starting_the_next_in_one_file_is_accepted(catalogue):
    result = run("prices", "sku,channel,amount,valid_from,valid_until\n"
                           "TEE-NAVY-L,web,22.00,,2025-07-01T00:00:00+01:00\n"
                           "TEE-NAVY-L,web,18.00,2025-07-01T00:00:00+01:00,\n")

    assert (result.created, result.updated, result.errors) == (1, 1, [])


# Stock counts and the ledger ------------------------------------------------------------------


def test_counted_stock_becomes_on_hand_through_count_movements_and_the_ledger_balances(
    tops, store, other_store, capsys
):
    run("products", PRODUCTS)
    run("variants", VARIANTS)
    tee = Variant.objects.get(sku="TEE-NAVY-M")
    stock.stock_receive(location=store, variant=tee, quantity=10)

    result = run("stock", STOCK, reference="import:stock.csv")

    assert (result.updated, result.unchanged) == (2, 1)
    assert StockLevel.objects.get(location=store, variant=tee).on_hand == 7
    assert StockLevel.objects.get(location=store, variant__sku="TEE-NAVY-L").on_hand == 5
    assert not StockLevel.objects.filter(location=other_store).exists()  # counted 0 where none was: no movement
    moves = StockMovement.objects.filter(reason=StockMovement.Reason.COUNT).order_by("variant__sku")
    assert [(m.variant.sku, m.on_hand_delta, m.reference) for m in moves] == [
        ("TEE-NAVY-L", 5, "import:stock.csv"), ("TEE-NAVY-M", -3, "import:stock.csv")]
    call_command("verify_ledger", verbosity=0)
    assert "Ledger OK" in capsys.readouterr().out


def test_a_count_below_units_promised_to_shoppers_is_refused(tops, store, web):
    run("products", PRODUCTS)
    run("variants", VARIANTS)
    tee = Variant.objects.get(sku="TEE-NAVY-M")
    stock.stock_receive(location=store, variant=tee, quantity=10)
    stock.stock_reserve(lines=[stock.StockLine(location=store, variant=tee, quantity=4)], channel=web)

    result = run("stock", "store,sku,counted\nLDN-OXF,TEE-NAVY-M,3\n")

    assert errors(result) == ["line 2, column counted: 3 is below the 4 unit(s) of TEE-NAVY-M at LDN-OXF promised "
                              "to orders, held for checkouts or unavailable"]
    assert StockLevel.objects.get(location=store, variant=tee).on_hand == 10


def test_stock_set_counted_many_refuses_a_count_below_promised_and_changes_nothing(store, variant, web):
    stock.stock_receive(location=store, variant=variant, quantity=5)
    stock.stock_reserve(lines=[stock.StockLine(location=store, variant=variant, quantity=2)], channel=web)
    movements = StockMovement.objects.count()

    from inventory.exceptions import StockConflict

    with pytest.raises(StockConflict, match="TEE-NAVY-M at LDN-OXF: counted 1, but 2 are promised"):
        stock.stock_set_counted_many(lines=[stock.StockLine(location=store, variant=variant, quantity=1)])

    assert StockMovement.objects.count() == movements
    assert StockLevel.objects.get(location=store, variant=variant).on_hand == 5


# Ranges ---------------------------------------------------------------------------------------


def test_a_range_gets_exactly_the_skus_channels_and_stores_of_the_file(catalogue, store, other_store):
    summer = Range.objects.get(code="summer-tees")
    assert sorted(summer.variants.values_list("sku", flat=True)) == ["TEE-NAVY-L", "TEE-NAVY-M"]
    assert sorted(summer.channels.values_list("code", flat=True)) == ["mobile", "web"]
    assert set(summer.locations.all()) == {store, other_store}

    result = run("ranges", "range_code,sku,channels\nsummer-tees,TEE-NAVY-M,web\n")

    assert result.updated == 1
    assert list(summer.variants.values_list("sku", flat=True)) == ["TEE-NAVY-M"]
    assert list(summer.channels.values_list("code", flat=True)) == ["web"]
    assert set(summer.locations.all()) == {store, other_store}  # no stores column: stores left as they were


def test_rows_of_one_range_that_disagree_are_reported(catalogue):
    result = run("ranges", "range_code,name,sku\nsummer-tees,Summer tees,TEE-NAVY-M\nsummer-tees,Summer,TEE-NAVY-L\n")

    assert errors(result) == ["line 3, column name: differs from line 2, the first row of range summer-tees"]


# The command ----------------------------------------------------------------------------------


def test_the_command_prints_each_problem_and_exits_non_zero(tops, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("slug,name,category\nfirst,First,tops\nsecond,Second,shoes\n", encoding="utf-8")
    err = io.StringIO()

    with pytest.raises(CommandError, match="Nothing imported: 1 problem") as refused:
        call_command("import_csv", "products", str(path), stderr=err, verbosity=0)

    assert refused.value.returncode == 1
    assert "line 3, column category: there is no category (by slug) 'shoes'" in err.getvalue()
    assert Product.objects.count() == 0


def test_the_command_imports_the_good_rows_when_asked_and_prints_a_summary(tops, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("\ufeffslug,name,category\nfirst,First,tops\nsecond,Second,shoes\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()

    call_command("import_csv", "products", str(path), "--good-rows-only", stdout=out, stderr=err, verbosity=0)

    assert "1 products created, 0 updated, 0 unchanged; 1 bad row(s) skipped" in out.getvalue()
    assert "line 3, column category" in err.getvalue()
    assert list(Product.objects.values_list("slug", flat=True)) == ["first"]


# Export ---------------------------------------------------------------------------------------


def test_an_export_imported_again_changes_nothing(tops, store, other_store, web, till, tmp_path):
    shirt = VariantFactory(sku="SHIRT-S", product__category=tops, options={"size": "S", "colour": "Oat"}, barcode=None)
    tee = VariantFactory(sku="TEE-M", product__category=tops, product__description='Soft, "heavy"\ncotton')
    PriceFactory(variant=tee, channel=web, amount="20.00")
    PriceFactory(variant=tee, channel=till, location=store, amount="18.50", currency="EUR")
    RangeFactory(code="autumn", variants=[tee, shirt], channels=[web], locations=[store])
    RangeFactory(code="empty-for-now")
    stock.stock_receive(location=store, variant=tee, quantity=4)
    before = counts()

    for kind in ("products", "variants", "prices", "ranges", "stock"):
        path = tmp_path / f"{kind}.csv"
        call_command("export_csv", kind, "-o", str(path), stderr=io.StringIO())
        with path.open(encoding="utf-8-sig", newline="") as handle:
            result = csv_import(kind=kind, file=handle)
        assert (result.created, result.updated, result.errors) == (0, 0, []), kind
        assert result.unchanged > 0, kind

    assert counts() == before
    assert ["whole-catalogue", "Whole catalogue", "*"] == next(r for r in csv_rows(kind="ranges")
                                                               if r[0] == "whole-catalogue")[:3]


def test_an_export_never_hands_a_spreadsheet_a_formula_and_imports_back_unchanged(tops, tmp_path):
    VariantFactory(sku="TEE-M", product__category=tops, product__name='=HYPERLINK("http://evil.example","x")',
                   product__brand="@brand", product__description="-50% for members")
    path = tmp_path / "products.csv"
    call_command("export_csv", "products", "-o", str(path), stderr=io.StringIO())

    with path.open(encoding="utf-8", newline="") as handle:
        [_, row] = list(csv.reader(handle))
    assert (row[1], row[2], row[4]) == ("'=HYPERLINK(\"http://evil.example\",\"x\")", "'@brand", "'-50% for members")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        result = csv_import(kind="products", file=handle)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)
    product = Product.objects.get()
    assert (product.name, product.brand) == ('=HYPERLINK("http://evil.example","x")', "@brand")


# The admin page -------------------------------------------------------------------------------


@pytest.fixture
def merchandiser(db):
    user = UserFactory(username="merch")
    user.user_permissions.add(Permission.objects.get(codename="import_data", content_type__app_label="backoffice"))
    return user


def upload(client, kind: str, text: str, **options):
    data = {"kind": kind, "file": io.BytesIO(text.encode()), **options}
    data["file"].name = f"{kind}.csv"
    return client.post(reverse("backoffice-import"), data)


def test_staff_without_the_import_permission_get_403(client):
    client.force_login(UserFactory(username="clerk"))

    assert client.get(reverse("backoffice-import")).status_code == 403
    assert client.get(reverse("backoffice-export", kwargs={"kind": "products"})).status_code == 403
    assert upload(client, "products", PRODUCTS).status_code == 403


def test_the_page_shows_each_bad_row_and_saves_nothing(client, merchandiser, tops):
    client.force_login(merchandiser)

    response = upload(client, "products", "slug,name,category\nfirst,First,tops\nsecond,Second,shoes\n")

    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing imported: 1 problem" in page
    assert "<td>3</td><td>category</td><td>there is no category (by slug) &#x27;shoes&#x27;</td>" in page
    assert Product.objects.count() == 0


def test_the_page_imports_the_good_rows_when_the_box_is_ticked(client, merchandiser, tops):
    client.force_login(merchandiser)

    response = upload(client, "products", "slug,name,category\nfirst,First,tops\nsecond,Second,shoes\n",
                      good_rows_only="on")

    assert response.status_code == 200
    assert "1 products created, 0 updated, 0 unchanged; 1 bad row(s) skipped" in response.content.decode()
    assert list(Product.objects.values_list("slug", flat=True)) == ["first"]


def test_the_page_offers_each_export_and_the_download_is_csv(client, merchandiser, catalogue):
    client.force_login(merchandiser)

    page = client.get(reverse("backoffice-import")).content.decode()
    for kind in ("products", "variants", "prices", "ranges", "stock"):
        assert reverse("backoffice-export", kwargs={"kind": kind}) in page
    response = client.get(reverse("backoffice-export", kwargs={"kind": "stock"}))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines() == ["\ufeffstore,sku,counted", "LDN-OXF,TEE-NAVY-L,5", "LDN-OXF,TEE-NAVY-M,7"]


def test_the_admin_index_links_to_the_page_for_those_who_may_import(client, merchandiser):
    client.force_login(merchandiser)
    assert reverse("backoffice-import") in client.get(reverse("admin:index")).content.decode()

    client.force_login(UserFactory(username="clerk"))
    assert reverse("backoffice-import") not in client.get(reverse("admin:index")).content.decode()


def test_a_changed_variant_row_updates_that_variant_only(catalogue):
    before = counts()

    result = run("variants", "sku,options,weight_grams\nTEE-NAVY-M,size=M;colour=Ink,185\nTEE-NAVY-L,size=L;colour=Navy,190\n")

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    tee = Variant.objects.get(sku="TEE-NAVY-M")
    assert (tee.options, tee.weight_grams, tee.barcode) == ({"size": "M", "colour": "Ink"}, 185, "5012345678900")
    assert counts() == before
