"""Search and sorts as a shopper meets them, on a small known shop: relevance ("jumpers" finds jumpers first, "navy
jumper" finds the navy jumper first, "jeens" finds jeans), brands, categories, codes; the orders a list can be put in
(price on the channel, newest, popular over the last 30 days, name) through the API and the shop's catalogue page; the
search document following the catalogue's changes. Tests marked postgres need PostgreSQL's full-text search; the
others hold on SQLite's simple fallback as well."""
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backoffice.imports import csv_import
from catalog.models import Category, Channel, Product, ProductPriceFrom, Range, Variant
from catalog.search import Sort, product_search, product_sort
from catalog.selectors import product_list, with_price_from
from catalog.services import prices_from_refresh
from orders.models import Order
from orders.popularity import products_popularity_refresh
from tests.factories import CategoryFactory, OrderLineFactory, PriceFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

JUMPER, LAMBSWOOL, CARDIGAN, JEANS, TOTE = (
    "Merino Crew Neck Jumper", "Lambswool V-Neck Jumper", "Cable Knit Cardigan", "Slim Jeans", "Canvas Tote Bag")


def sell(product, *, web_prices, colour, sizes=("M",), mobile_prices=None, sku=None, barcode=None):
    """A variant per size in one colour, priced on the web (and the app) from the lists given, in order."""
    web, mobile = Channel.objects.get(code=Channel.WEB), Channel.objects.get(code=Channel.MOBILE)
    for n, size in enumerate(sizes):
        variant = VariantFactory(product=product, options={"colour": colour, "size": size},
                                 **({"sku": sku} if sku else {}), **({"barcode": barcode} if barcode else {}))
        PriceFactory(variant=variant, channel=web, amount=web_prices[n])
        if mobile_prices:
            PriceFactory(variant=variant, channel=mobile, amount=mobile_prices[n])


@pytest.fixture
def shop(db):
    """Five products: two jumpers (navy, grey marl), a navy cardigan whose description mentions a jumper, jeans, a
    navy tote; in women's knitwear, men's jeans and bags; made a day apart, the tote newest."""
    women, men = CategoryFactory(name="Women", slug="women"), CategoryFactory(name="Men", slug="men")
    knitwear = CategoryFactory(name="Knitwear", slug="women-knitwear", parent=women)
    jeans = CategoryFactory(name="Jeans", slug="men-jeans", parent=men)
    bags = CategoryFactory(name="Bags", slug="bags")
    now = timezone.now()
    made = {}
    for days, (name, brand, category, description) in enumerate([
        (JUMPER, "Nordvik", knitwear, "Spun from soft, non-itchy yarn."),
        (LAMBSWOOL, "Pennine Wool Co.", knitwear, "Knitted in a family-run mill."),
        (CARDIGAN, "Hearth & Thread", knitwear, "Wear it over a jumper on cold days."),
        (JEANS, "Ashby Denim", jeans, "Rigid cotton that softens with wear."),
        (TOTE, "Saltmarsh", bags, "Carries a day's worth."),
    ]):
        made[name] = ProductFactory(name=name, slug=name.lower().replace(" ", "-"), brand=brand, category=category,
                                    description=description, created_at=now - timedelta(days=10 - days))
    sell(made[JUMPER], web_prices=["59.00", "61.00"], mobile_prices=["59.00", "61.00"], colour="Navy",
         sizes=("S", "M"))
    sell(made[LAMBSWOOL], web_prices=["49.00"], mobile_prices=["30.00"], colour="Grey Marl")
    sell(made[CARDIGAN], web_prices=["69.00"], mobile_prices=["69.00"], colour="Navy")
    sell(made[JEANS], web_prices=["45.00"], mobile_prices=["45.00"], colour="Dark Wash")
    sell(made[TOTE], web_prices=["25.00"], mobile_prices=["80.00"], colour="Navy", sku="TOTE-NAVY",
         barcode="5012345678900")
    return made


def found(q: str, *, sort: str = Sort.RELEVANCE, channel_code: str = Channel.WEB) -> list[str]:
    channel = Channel.objects.get(code=channel_code)
    products = product_search(product_list(channel=channel), q=q)
    return list(product_sort(products, sort=sort, channel=channel).values_list("name", flat=True))


# Relevance -------------------------------------------------------------------------------------------------------


def test_jumpers_finds_the_jumpers_first_and_then_what_only_mentions_one(shop):
    names = found("jumpers")

    assert set(names[:2]) == {JUMPER, LAMBSWOOL}
    assert names[2:] == [CARDIGAN]


def test_a_word_finds_every_product_with_it_in_the_name_brand_or_description(shop):
    assert set(found("jumper")) == {JUMPER, LAMBSWOOL, CARDIGAN}
    assert found("nordvik") == [JUMPER]
    assert found("denim") == [JEANS]
    assert found("yarn") == [JUMPER]
    assert found("chandelier") == []


def test_a_colour_and_a_kind_find_that_colours_products_only(shop):
    names = found("navy jumper")  # the colour is in the variants' options, on PostgreSQL and SQLite alike

    assert JUMPER in names and LAMBSWOOL not in names and TOTE not in names


def test_a_misspelt_word_finds_the_word_meant_on_either_database(shop):
    assert found("jeens") == [JEANS]
    assert found("otte") == [TOTE]  # two letters swapped
    assert found("navy cardigna") == [CARDIGAN]
    assert found("xyzzy") == []


def test_every_word_must_match(shop):
    assert found("merino jeans") == []


@pytest.mark.postgres
def test_navy_jumper_finds_the_navy_jumper_before_other_jumpers_and_other_navy_things(shop):
    names = found("navy jumper")

    assert names[0] == JUMPER
    assert LAMBSWOOL not in names[:1] and TOTE not in names[:1]
    assert set(names) <= {JUMPER, CARDIGAN}  # the cardigan is navy and mentions a jumper, so it comes after


@pytest.mark.postgres
def test_a_misspelt_word_finds_what_the_catalogue_spells_nearest(shop):
    assert found("jeens") == [JEANS]
    assert found("navy jumpr") == [JUMPER, CARDIGAN]
    assert found("cardigna") == [CARDIGAN]
    assert found("xyzzy") == []


@pytest.mark.postgres
def test_two_letters_swapped_find_the_word_meant(shop):
    assert found("otte") == [TOTE]  # too few trigrams in common with "tote" to be found as alike
    assert found("navy jmuper") == [JUMPER, CARDIGAN]
    assert found("cardigan otte") == []  # every word must still match


@pytest.mark.postgres
def test_word_forms_categories_and_the_start_of_the_last_word_match(shop):
    assert found("cardigans") == [CARDIGAN]
    assert set(found("knitwear")) == {JUMPER, LAMBSWOOL, CARDIGAN}
    assert set(found("womens jumper")) == {JUMPER, LAMBSWOOL, CARDIGAN}
    assert found("mens jeans") == [JEANS]
    assert found("cardi") == [CARDIGAN]
    assert found("grey marl") == [LAMBSWOOL]


def test_an_sku_or_barcode_or_the_start_of_one_finds_its_product_in_any_case(shop):
    assert found("TOTE-NAVY") == [TOTE]
    assert found("tote-navy") == [TOTE]
    assert found("5012345678900") == [TOTE]
    assert found("50123456") == [TOTE]


# Sorts -----------------------------------------------------------------------------------------------------------


def test_price_sorts_go_by_each_products_lowest_price_on_the_channel(shop):
    assert found("", sort=Sort.PRICE_LOW) == [TOTE, JEANS, LAMBSWOOL, JUMPER, CARDIGAN]
    assert found("", sort=Sort.PRICE_HIGH) == [CARDIGAN, JUMPER, LAMBSWOOL, JEANS, TOTE]
    assert found("", sort=Sort.PRICE_LOW, channel_code=Channel.MOBILE) == [LAMBSWOOL, JEANS, JUMPER, CARDIGAN, TOTE]
    assert found("jumper", sort=Sort.PRICE_LOW) == [LAMBSWOOL, JUMPER, CARDIGAN]


def test_a_sale_in_force_sorts_by_the_sale_price_and_one_not_yet_begun_does_not(shop):
    web = Channel.objects.get(code=Channel.WEB)
    now = timezone.now()
    cardigan = Variant.objects.get(product=shop[CARDIGAN])
    cardigan.prices.update(valid_until=now - timedelta(hours=1))
    PriceFactory(variant=cardigan, channel=web, amount="19.00", valid_from=now - timedelta(hours=1),
                 valid_until=now + timedelta(days=1))
    lambswool = Variant.objects.get(product=shop[LAMBSWOOL])
    lambswool.prices.filter(channel=web).update(valid_until=now + timedelta(days=1))
    PriceFactory(variant=lambswool, channel=web, amount="9.00", valid_from=now + timedelta(days=1))

    assert found("", sort=Sort.PRICE_LOW)[:2] == [CARDIGAN, TOTE]


def test_newest_first_by_when_the_product_was_made(shop):
    assert found("", sort=Sort.NEWEST) == [TOTE, JEANS, CARDIGAN, LAMBSWOOL, JUMPER]


def test_without_a_search_a_list_is_by_name_and_relevance_falls_back_to_it(shop):
    by_name = [CARDIGAN, TOTE, LAMBSWOOL, JUMPER, JEANS]
    assert found("", sort=Sort.NAME) == by_name
    assert found("", sort=Sort.RELEVANCE) == by_name


def sold(product, quantity, *, days_ago, status=Order.Status.FULFILLED, cancelled=0):
    line = OrderLineFactory(variant=product.variants.first(), quantity=quantity, quantity_cancelled=cancelled,
                            order__status=status, order__placed_at=timezone.now() - timedelta(days=days_ago))
    return line


def test_popular_is_units_sold_over_the_last_30_days_not_older_nor_cancelled(shop):
    sold(shop[TOTE], 5, days_ago=1)
    sold(shop[JUMPER], 2, days_ago=10)
    sold(shop[JUMPER], 1, days_ago=29)
    sold(shop[JEANS], 10, days_ago=31)
    sold(shop[LAMBSWOOL], 8, days_ago=2, status=Order.Status.CANCELLED)
    sold(shop[CARDIGAN], 4, days_ago=3, cancelled=2)

    assert products_popularity_refresh() == 3
    assert products_popularity_refresh() == 0  # nothing changed: nothing written

    assert dict(Product.objects.values_list("name", "units_sold_30d")) == {
        TOTE: 5, JUMPER: 3, CARDIGAN: 2, JEANS: 0, LAMBSWOOL: 0}
    assert found("", sort=Sort.POPULAR) == [TOTE, JUMPER, CARDIGAN, LAMBSWOOL, JEANS]
    assert found("jumper", sort=Sort.POPULAR) == [JUMPER, CARDIGAN, LAMBSWOOL]


def test_sales_falling_out_of_the_30_days_stop_counting(shop):
    sold(shop[TOTE], 5, days_ago=25)
    products_popularity_refresh()

    assert products_popularity_refresh(now=timezone.now() + timedelta(days=6)) == 1
    assert Product.objects.get(pk=shop[TOTE].pk).units_sold_30d == 0


# The kept lowest prices (PostgreSQL) ----------------------------------------------------------------------------


@pytest.mark.postgres
def test_price_sorts_use_the_kept_prices_and_a_price_changed_since_is_seen_at_once(shop):
    assert prices_from_refresh() == 15  # five products on three channels
    assert prices_from_refresh() == 0
    assert ProductPriceFrom.objects.get(product=shop[JUMPER], channel__code=Channel.WEB).amount == Decimal("59.00")

    Variant.objects.get(product=shop[CARDIGAN]).prices.filter(channel__code=Channel.WEB).update(amount="5.00")
    assert found("", sort=Sort.PRICE_LOW)[0] == CARDIGAN
    VariantFactory(product=shop[JEANS], options={"colour": "Black", "size": "M"})  # no price: changes nothing
    Variant.objects.filter(product=shop[TOTE]).update(is_active=False)
    assert found("", sort=Sort.PRICE_LOW)[-1] == TOTE  # nothing left to sell: last

    assert not ProductPriceFrom.objects.filter(product__in=[shop[CARDIGAN], shop[JEANS], shop[TOTE]]).exists()
    assert prices_from_refresh() == 9
    assert found("", sort=Sort.PRICE_LOW) == [CARDIGAN, JEANS, LAMBSWOOL, JUMPER, TOTE]


@pytest.mark.postgres
def test_a_kept_price_is_not_used_after_a_sale_it_did_not_know_of_begins(shop):
    web = Channel.objects.get(code=Channel.WEB)
    now = timezone.now()
    lambswool = Variant.objects.get(product=shop[LAMBSWOOL])
    lambswool.prices.filter(channel=web).update(valid_until=now + timedelta(hours=1))
    PriceFactory(variant=lambswool, channel=web, amount="9.00", valid_from=now + timedelta(hours=1))
    prices_from_refresh(now=now)

    def lowest(at):
        priced = with_price_from(product_list(channel=web, at=at), channel=web, at=at)
        return list(priced.order_by("price_from", "name").values_list("name", "price_from"))[0]

    assert lowest(now) == (TOTE, Decimal("25.00"))
    assert lowest(now + timedelta(hours=2)) == (LAMBSWOOL, Decimal("9.00"))
    assert ProductPriceFrom.objects.get(product=shop[LAMBSWOOL], channel=web).fresh_until == now + timedelta(hours=1)


@pytest.mark.postgres
def test_a_range_change_forgets_every_kept_price(shop):
    prices_from_refresh()
    Category.objects.filter(slug="bags").update(name="Bags & Purses")  # not a price: kept
    assert ProductPriceFrom.objects.count() == 15

    Range.objects.update(ends_at=timezone.now() + timedelta(days=365))
    assert ProductPriceFrom.objects.count() == 0


@pytest.mark.postgres
def test_the_shop_lists_only_what_can_be_bought_from_the_kept_prices_and_sees_changes_since_at_once(shop):
    web = Channel.objects.get(code=Channel.WEB)
    scarf = ProductFactory(name="Plain Scarf", category=Category.objects.get(slug="bags"))
    unpriced = VariantFactory(product=scarf, options={"colour": "Red"})

    def in_shop() -> set[str]:
        return set(product_list(channel=web, sold_only=True).values_list("name", flat=True))

    prices_from_refresh()
    assert ProductPriceFrom.objects.get(product=scarf, channel=web).amount is None
    assert in_shop() == {JUMPER, LAMBSWOOL, CARDIGAN, JEANS, TOTE}

    # The kept row is what answers: one saying (wrongly) that nothing is sold hides the product
    ProductPriceFrom.objects.filter(product=shop[JEANS], channel=web).update(amount=None)
    assert JEANS not in in_shop()

    Variant.objects.filter(product=shop[TOTE]).update(is_active=False)  # the triggers forget these rows
    PriceFactory(variant=unpriced, channel=web, amount="12.00")
    assert in_shop() == {JUMPER, LAMBSWOOL, CARDIGAN, "Plain Scarf"}


def test_a_category_lists_what_is_beneath_it_including_a_sub_category_added_since(shop, client):
    assert api_names(client, category="women") == [CARDIGAN, LAMBSWOOL, JUMPER]

    socks = CategoryFactory(name="Socks", slug="women-socks", parent=Category.objects.get(slug="women-knitwear"))
    sell(ProductFactory(name="Bed Socks", category=socks), web_prices=["9.00"], colour="Navy")

    assert api_names(client, category="women") == ["Bed Socks", CARDIGAN, LAMBSWOOL, JUMPER]
    assert api_names(client, category="women-socks") == ["Bed Socks"]
    assert api_names(client, category="no-such-thing") == []


# The search document follows the catalogue (PostgreSQL) --------------------------------------------------------


@pytest.mark.postgres
def test_the_document_follows_a_rename_a_new_colour_and_a_variant_withdrawn(shop):
    jumper = shop[JUMPER]
    jumper.name = "Merino Crew Neck Sweater"
    jumper.save()
    assert found("sweater") == ["Merino Crew Neck Sweater"]
    assert "Merino Crew Neck Sweater" not in found("jumper")

    green = VariantFactory(product=jumper, options={"colour": "Forest Green", "size": "L"})
    assert found("green") == ["Merino Crew Neck Sweater"]
    green.is_active = False
    green.save()
    assert found("green") == []


@pytest.mark.postgres
def test_the_document_follows_a_category_renamed_or_moved(shop):
    knitwear = Category.objects.get(slug="women-knitwear")
    knitwear.name = "Knits"
    knitwear.save()
    assert set(found("knits")) == {JUMPER, LAMBSWOOL, CARDIGAN}
    assert found("knitwear") == []

    Category.objects.filter(slug="women").update(name="Ladies")
    assert set(found("ladies")) == {JUMPER, LAMBSWOOL, CARDIGAN}


@pytest.mark.postgres
def test_bulk_writes_and_csv_imports_make_documents_too(shop):
    bags = Category.objects.get(slug="bags")
    Product.objects.bulk_create([Product(name="Woven Crossbody Bag", slug="woven-crossbody", category=bags)])
    Variant.objects.bulk_create([Variant(product=Product.objects.get(slug="woven-crossbody"), sku="XB-OLV",
                                         options={"colour": "Olive"})])
    csv_import(kind="products", file=io.StringIO("slug,name,brand,category\nsuede-purse,Suede Purse,Copperleaf,bags\n"))
    csv_import(kind="variants", file=io.StringIO("sku,product_slug,options\nPURSE-RUST,suede-purse,colour=Rust\n"))

    def everywhere(q):
        return list(product_search(Product.objects.all(), q=q).values_list("name", flat=True))

    assert everywhere("olive crossbody") == ["Woven Crossbody Bag"]
    assert everywhere("rust copperleaf purse") == ["Suede Purse"]


# Through the API -------------------------------------------------------------------------------------------------


def api_names(client, **params) -> list[str]:
    response = client.get("/api/v1/products/", params)
    assert response.status_code == 200, response.content
    return [p["name"] for p in response.json()["results"]]


def test_the_api_sorts_by_the_sort_parameter_and_searches_most_relevant_first(client, shop):
    assert api_names(client, sort="price_asc") == [TOTE, JEANS, LAMBSWOOL, JUMPER, CARDIGAN]
    assert api_names(client, sort="price_desc", search="jumper") == [CARDIGAN, JUMPER, LAMBSWOOL]
    assert api_names(client, sort="newest", category="women-knitwear") == [CARDIGAN, LAMBSWOOL, JUMPER]
    assert api_names(client, search="jumpers")[2] == CARDIGAN
    assert api_names(client) == [CARDIGAN, TOTE, LAMBSWOOL, JUMPER, JEANS]
    response = client.get("/api/v1/products/", {"sort": "price_asc"}, HTTP_X_CHANNEL="mobile")
    assert [p["name"] for p in response.json()["results"]][:2] == [LAMBSWOOL, JEANS]


def test_the_api_refuses_an_unknown_sort_saying_which_are_known(client, shop):
    response = client.get("/api/v1/products/", {"sort": "cheapest"})

    assert response.status_code == 400
    message = " ".join(response.json()["detail"]["fields"]["sort"])
    assert "cheapest" in message and "valid choice" in message


def test_the_schema_lists_every_sort(client):
    schema = client.get("/api/schema/?format=json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}

    assert parameters["sort"]["schema"]["enum"] == ["name", "newest", "popular", "price_asc", "price_desc",
                                                    "relevance"]


def test_a_searched_and_price_sorted_page_costs_the_same_queries_at_any_size(client, shop):
    def queries(page_size):
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/v1/products/", {"search": "navy", "sort": "price_asc",
                                                        "page_size": page_size})
        assert response.status_code == 200
        return len(captured)

    queries(1)  # the first request also loads the reference tables it keeps (channels)
    assert queries(1) == queries(3)


# The shop's pages ------------------------------------------------------------------------------------------------


def tiles(html: str) -> list[str]:
    """Product names in the order the page's tiles show them."""
    return sorted((name for name in (JUMPER, LAMBSWOOL, CARDIGAN, JEANS, TOTE) if name in html), key=html.index)


def test_the_catalogue_page_sorts_by_the_chosen_order_and_keeps_the_search(client, shop):
    html = client.get("/shop/", {"q": "jumper", "category": "women-knitwear", "sort": "price_desc"}).content.decode()

    assert '<label for="sort">Sort by</label>' in html
    assert '<option value="price_desc" selected>Price: high to low</option>' in html
    assert '<input type="hidden" name="q" value="jumper">' in html
    assert '<input type="hidden" name="category" value="women-knitwear">' in html
    assert tiles(html) == [CARDIGAN, JUMPER, LAMBSWOOL]


def test_the_catalogue_offers_relevance_only_to_a_search_and_defaults_to_it(client, shop):
    searching = client.get("/shop/", {"q": "jumpers"}).content.decode()
    browsing = client.get("/shop/", {"sort": "relevance"}).content.decode()

    assert '<option value="relevance" selected>Relevance</option>' in searching
    assert tiles(searching)[2] == CARDIGAN
    assert 'value="relevance"' not in browsing
    assert '<option value="name" selected>Name: A to Z</option>' in browsing
    assert tiles(browsing) == [CARDIGAN, TOTE, LAMBSWOOL, JUMPER, JEANS]


def test_the_home_page_shows_what_sold_most_first(client, shop):
    sold(shop[JEANS], 3, days_ago=2)
    sold(shop[LAMBSWOOL], 1, days_ago=2)
    products_popularity_refresh()

    html = client.get("/").content.decode()
    popular = html[html.index("Popular right now"):]

    assert tiles(popular) == [JEANS, LAMBSWOOL, CARDIGAN, TOTE, JUMPER]
