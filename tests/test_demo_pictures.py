"""The demo's pictures: every kind of product it sells is drawn as itself (not a plain swatch), in each of its
colours, attached like an upload, and loading again adds none."""
from dataclasses import replace

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from catalog.images import rendition_name
from catalog.models import ProductImage
from demo import pictures
from demo.assortment import CATEGORY_PLANS
from demo.catalog import build_catalog, upsert_categories, upsert_products, upsert_variants


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_every_kind_of_product_the_demo_sells_has_a_drawing_of_its_own():
    undrawn = sorted({kind for plan in CATEGORY_PLANS for kind in plan.kinds
                      if pictures.shape_of(f"{plan.styles[0]} {kind}") is pictures.swatch})

    assert undrawn == []
    assert pictures.shape_of("Organic Cotton Polo Shirt") is pictures.polo  # the longest name that fits wins


@pytest.mark.django_db
def test_each_product_gets_a_picture_in_each_colour_and_loading_again_adds_none():
    full = build_catalog()
    keep = [p for p in full.products if p.slug.endswith(("wtp-0001", "wtp-0002", "hbd-0001"))]
    slugs = {p.slug for p in keep}
    small = replace(full, products=keep, category_of={s: c for s, c in full.category_of.items() if s in slugs},
                    variants=[v for v in full.variants if full.product_of[v.sku] in slugs])
    upsert_variants(small, upsert_products(small, upsert_categories()))
    done = []

    added = pictures.upsert_pictures(small, category_done=done.append)

    colours = pictures.product_colours(small)
    shown = {(i.product.slug, i.colour) for i in ProductImage.objects.select_related("product")}
    assert added == len(shown) == sum(len(c) for c in colours.values())
    assert shown == {(slug, colour) for slug, found in colours.items() for colour in found}
    bedding = next(slug for slug in slugs if slug.endswith("hbd-0001"))
    assert colours[bedding] == [""]  # sold in one colour: its picture is of any colour
    assert done == CATEGORY_PLANS
    tee = ProductImage.objects.filter(product__slug__endswith="wtp-0001").first()
    with default_storage.open(rendition_name(tee.image.name, 160)) as file:
        centre = Image.open(file).convert("RGB").getpixel((70, 100))  # on the body, off any seam
    assert all(abs(a - b) < 16 for a, b in zip(centre, pictures.RGB[tee.colour])), (centre, tee.colour)
    assert pictures.upsert_pictures(small) == 0
