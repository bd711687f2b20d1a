"""core.selects makes the same objects from a hand-written SELECT as the ORM makes from a queryset: every
field's value converted the same (decimals, dates, UUIDs, JSON, booleans), on SQLite and PostgreSQL."""
from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from catalog.models import Channel, Price, Product, Variant
from core.selects import columns, instances
from customers.models import Cart
from tests.factories import PriceFactory, VariantFactory

pytestmark = pytest.mark.django_db


def values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_rows_joined_across_tables_become_the_objects_a_queryset_returns():
    variant = VariantFactory(options={"size": "M", "colour": "Navy"}, weight_grams=250)
    PriceFactory(variant=variant, channel=Channel.objects.get(code="web"), amount=Decimal("19.99"))

    [(price, made_variant, product)] = instances(
        f"SELECT {columns(Price, 'p')}, {columns(Variant, 'v')}, {columns(Product, 'd')} FROM catalog_price p"
        " JOIN catalog_variant v ON v.id = p.variant_id JOIN catalog_product d ON d.id = v.product_id"
        " WHERE v.sku = %s", [variant.sku], Price, Variant, Product)

    orm = Price.objects.select_related("variant__product").get(variant=variant)
    assert values(price) == values(orm) and price.amount == Decimal("19.99")
    assert values(made_variant) == values(orm.variant) and made_variant.options == {"size": "M", "colour": "Navy"}
    assert values(product) == values(orm.variant.product) and product.is_active is True
    assert not price._state.adding and made_variant == orm.variant  # saved objects, equal by pk


def test_an_update_returning_its_row_gives_the_object_with_the_new_values():
    cart = Cart.objects.create(channel=Channel.objects.get(code="web"))
    mobile = Channel.objects.get(code="mobile")

    [(changed,)] = instances(f"UPDATE customers_cart SET channel_id = %s WHERE id = %s RETURNING {columns(Cart)}",
                             [mobile.pk, cart.pk], Cart)

    cart.refresh_from_db()
    assert model_to_dict(changed) == model_to_dict(cart) and changed.token == cart.token
    assert changed.channel_id == mobile.pk and changed.created_at == cart.created_at


def test_no_rows_no_objects():
    assert instances(f"SELECT {columns(Cart, 'c')} FROM customers_cart c WHERE c.id = %s", [0], Cart) == []
