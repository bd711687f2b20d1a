"""factory-boy factories for records that are not stock. Stock is only ever created through
inventory.services (a factory for StockLevel would be a second door)."""
import factory
from django.contrib.auth import get_user_model

from catalog.models import Category, Channel, Price, Product, Variant
from inventory import services as stock
from inventory.models import Location


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = "Tops"
    slug = factory.LazyAttribute(lambda c: c.name.lower())


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Organic Tee {n}")
    slug = factory.Sequence(lambda n: f"organic-tee-{n}")
    brand = "Northwind"
    category = factory.SubFactory(CategoryFactory)


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    barcode = factory.Sequence(lambda n: f"500{n:010d}")
    options = factory.LazyFunction(lambda: {"size": "M", "colour": "Navy"})


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Price

    variant = factory.SubFactory(VariantFactory)
    channel = factory.LazyFunction(lambda: Channel.objects.get(code=Channel.WEB))
    amount = "19.99"
    currency = "GBP"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"LOC-{n:03d}")
    name = factory.LazyAttribute(lambda l: f"Store {l.code}")
    kind = Location.Kind.STORE
    city = "London"
    latitude = 51.5
    longitude = -0.12
    offers_pickup = True
    ships_orders = True


def card(stripe_client, number: str = "4242424242424242") -> str:
    """What the card form gives the page: a PaymentMethod id."""
    return stripe_client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
    }).id


class RangeFactory(factory.django.DjangoModelFactory):
    """An assortment; pass variants=[...], channels=[...], locations=[...] to fill it."""

    class Meta:
        model = "catalog.Range"
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"range-{n}")
    name = factory.LazyAttribute(lambda r: r.code.replace("-", " ").capitalize())

    @factory.post_generation
    def variants(self, create, extracted, **kwargs):
        if create and extracted:
            self.variants.set(extracted)

    @factory.post_generation
    def channels(self, create, extracted, **kwargs):
        if create and extracted:
            self.channels.set(extracted)

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.set(extracted)


# Orders, fulfilments and returns as rows (back-office and analytics tests) -------------------------
# These write no stock: a test that needs stock to move goes through checkout or the services instead.

from decimal import Decimal  # noqa: E402

from fulfillment.models import Fulfillment, Return, ReturnLine  # noqa: E402
from orders.models import Order, OrderLine  # noqa: E402


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"T{n:07d}")
    channel = factory.LazyFunction(lambda: Channel.objects.get(code=Channel.WEB))
    fulfilment = Order.Fulfilment.DELIVERY
    email = "shopper@example.com"
    currency = "GBP"
    subtotal_amount = Decimal("0")
    total_amount = Decimal("0")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    location = factory.SubFactory(LocationFactory)
    sku = factory.LazyAttribute(lambda line: line.variant.sku)
    name = "Organic Tee"
    unit_price_amount = Decimal("20.00")
    currency = "GBP"
    quantity = 1


class FulfillmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Fulfillment

    order = factory.SubFactory(OrderFactory)
    location = factory.SubFactory(LocationFactory)
    method = Fulfillment.Method.PICKUP


class ReturnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Return

    order = factory.SubFactory(OrderFactory)
    code = factory.Sequence(lambda n: f"RT{n:06d}")
    channel = factory.LazyFunction(lambda: Channel.objects.get(code=Channel.WEB))


class ReturnLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReturnLine

    return_request = factory.SubFactory(ReturnFactory)
    order_line = factory.SubFactory(OrderLineFactory)
    quantity = 1


def stock_the_shop(*, store, warehouse=None):
    """The small shop the storefront's page and browser tests use: Organic Tee (M and L, 20.00) and Harbour Hoodie (45.00) on every channel; 5 tees (M) and 2 hoodies
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
