"""Shared steps for the storefront's browser journeys: a small stocked shop, and what a shopper does
on the product, basket and checkout pages."""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from catalog.models import Channel
from inventory import services as stock
from tests.factories import CategoryFactory, PriceFactory, ProductFactory, VariantFactory

GOOD_CARD = "4242 4242 4242 4242"
# The local Stripe double declines charges on 4000 0000 0000 0341 ("attaches, but charges fail");
# it accepts 4000 0000 0000 0002, which real Stripe declines (see the report on issue #8).
DECLINED_CARD = "4000 0000 0000 0341"


def stock_the_shop(*, store, warehouse=None):
    """Organic Tee (M and L, 20.00) and Harbour Hoodie (45.00) on every channel; 5 tees (M) and 2 hoodies
    at the store, and 10 of each at the warehouse when there is one."""
    tops = CategoryFactory(name="Tops", slug="tops")
    tee = ProductFactory(name="Organic Tee", slug="organic-tee", brand="Northwind", category=tops,
                         description="Soft organic cotton, cut for every day.")
    hoodie = ProductFactory(name="Harbour Hoodie", slug="harbour-hoodie", brand="Fjordline", category=tops)
    tee_m = VariantFactory(product=tee, sku="TEE-NAVY-M", options={"size": "M", "colour": "Navy"})
    tee_l = VariantFactory(product=tee, sku="TEE-NAVY-L", options={"size": "L", "colour": "Navy"})
    hood = VariantFactory(product=hoodie, sku="HOOD-GREY-L", options={"size": "L", "colour": "Grey"})
    for variant, amount in ((tee_m, "20.00"), (tee_l, "20.00"), (hood, "45.00")):
        for channel in Channel.objects.all():
            PriceFactory(variant=variant, channel=channel, amount=amount)
    stock.stock_receive(location=store, variant=tee_m, quantity=5)
    stock.stock_receive(location=store, variant=hood, quantity=2)
    if warehouse is not None:
        for variant in (tee_m, tee_l, hood):
            stock.stock_receive(location=warehouse, variant=variant, quantity=10)
    return tee_m, tee_l, hood


def store_staff(*, store, username="counter", password="counter-pass-1"):
    """A member of the store's staff who may move its fulfilments on in the admin and use the scan station
    (the permissions the "Store staff" role gives; roles are rows a live-server test's flush removes)."""
    user = get_user_model().objects.create_user(username, password=password, is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="fulfillment",
        codename__in=["view_fulfillment", "change_fulfillment", "use_scan_station"]))
    store.staff.add(user)
    return user, password


def add_to_basket(page, screens, *, product: str, size: str, quantity: int = 1):
    page.get_by_role("link", name="Shop", exact=True).click()
    page.get_by_role("link", name=product).first.click()
    choice = page.get_by_role("radio", name=f"Size {size}")
    if not choice.is_checked():  # picking another size reloads the page with that size's stock
        choice.check()
        page.wait_for_url(f"**sku=*{size}*")
    page.get_by_label("Quantity").fill(str(quantity))
    screens.take(page, f"product page {product} {size}")
    page.get_by_role("button", name="Add to basket").click()
    page.wait_for_url("**/cart/")


def fill_card(page, number: str):
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry date (MM/YY)").fill("12/34")
    page.get_by_label("Security code (CVC)").fill("123")
