"""Product pictures as a merchandiser and a shopper meet them: an upload makes its renditions once, a bad upload
is refused with its reason and leaves nothing behind, a colour shows its own pictures, the files are served to
be cached for ever, and the pages and the API show them without a query per product."""
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from PIL import Image

from catalog import images
from catalog.images import picture_for, pictures_for, product_images_attach
from catalog.models import Channel, ProductImage
from catalog.services import product_image_add, product_image_delete
from inventory.models import Location
from tests.factories import LocationFactory, PriceFactory, ProductFactory, VariantFactory, stock_the_shop

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    """Each test stores its files in a folder of its own, so what it finds there is what it wrote."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def picture(width=1200, height=900, *, kind="JPEG", name="photo.jpg", colour=(31, 45, 84), mode="RGB",
            **save) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new(mode, (width, height), colour).save(out, kind, **save)
    return SimpleUploadedFile(name, out.getvalue())


def stored_files(media: Path) -> list[str]:
    return sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()) if media.exists() else []


def sizes_of(image: ProductImage) -> dict[int, tuple[int, int]]:
    found = {}
    for width, name in images.rendition_names(image).items():
        with default_storage.open(name) as file:
            found[width] = Image.open(file).size
    return found


def refusal(error: ValidationError) -> str:
    return " ".join(error.message_dict["image"])


# Uploads and renditions -------------------------------------------------------------------------------------


def test_an_upload_makes_every_rendition_once_named_by_its_content(media):
    product = ProductFactory(name="Organic Tee")

    image = product_image_add(product=product, upload=picture(1200, 900), alt="The tee, folded")

    assert (image.width, image.height, image.position, image.alt_text) == (1200, 900, 0, "The tee, folded")
    assert sizes_of(image) == {160: (160, 120), 320: (320, 240), 640: (640, 480), 1024: (1024, 768)}
    digest = re.fullmatch(r"products/[0-9a-f]{2}/([0-9a-f]{20})\.jpg", image.image.name).group(1)
    assert len(stored_files(media)) == 5 and all(digest in name for name in stored_files(media))
    assert all(Image.open(media / name).format == "JPEG" for name in images.rendition_names(image).values())


def test_a_small_picture_is_never_enlarged(media):
    image = product_image_add(product=ProductFactory(), upload=picture(300, 200, kind="PNG", name="small.png"))

    assert sizes_of(image) == {160: (160, 107), 300: (300, 200)}


def test_a_transparent_png_is_shown_on_white_and_a_phone_photo_upright(media):
    product = ProductFactory()
    clear = product_image_add(product=product, upload=picture(400, 400, kind="PNG", mode="RGBA", colour=(0, 0, 0, 0)))
    exif = Image.Exif()
    exif[images.EXIF_ORIENTATION] = 6  # the phone was held upright: stored landscape, shown portrait
    upright = product_image_add(product=product, upload=picture(1200, 900, exif=exif))

    with default_storage.open(images.rendition_name(clear.image.name, 160)) as file:
        assert Image.open(file).getpixel((80, 80)) == (255, 255, 255)
    assert (upright.width, upright.height, upright.position) == (900, 1200, 1)
    assert sizes_of(upright)[320] == (320, 427)


def test_the_same_picture_twice_is_one_set_of_files_kept_until_its_last_use_goes(
        media, django_capture_on_commit_callbacks):
    first = product_image_add(product=ProductFactory(), upload=picture())
    second = product_image_add(product=ProductFactory(), upload=picture())
    files = stored_files(media)

    with django_capture_on_commit_callbacks(execute=True):
        product_image_delete(image=first)
    assert first.image.name == second.image.name and stored_files(media) == files

    with django_capture_on_commit_callbacks(execute=True):
        product_image_delete(image=second)
    assert stored_files(media) == [] and not ProductImage.objects.exists()


def test_deleting_a_product_takes_its_pictures_files_with_it(media, django_capture_on_commit_callbacks):
    kept = product_image_add(product=ProductFactory(), upload=picture(colour=(1, 2, 3)))
    files_kept = stored_files(media)
    product = ProductFactory()
    product_image_add(product=product, upload=picture(colour=(200, 100, 50)))
    assert len(stored_files(media)) > len(files_kept)

    with django_capture_on_commit_callbacks(execute=True):
        product.delete()

    assert stored_files(media) == files_kept and list(ProductImage.objects.all()) == [kept]


@pytest.mark.parametrize("upload, says", [
    (SimpleUploadedFile("notes.jpg", b"Order more navy tees on Monday.\n" * 20), "not a picture we can read"),
    (picture(kind="GIF", name="spinner.gif"), "This is a GIF file; choose a JPEG, PNG or WebP picture."),
    (picture(kind="BMP", name="scan.bmp"), "This is a BMP file"),
    (picture(8000, 6000, kind="PNG", mode="1", colour=1, name="huge.png"),
     "This picture is 8,000 × 6,000 pixels (48 megapixels); the most is 40 megapixels."),
    (SimpleUploadedFile("heavy.jpg", picture().read() + b"\0" * images.MAX_BYTES),
     "This file is 10.0 MB; a picture may be at most 10.0 MB."),
    (SimpleUploadedFile("cut.jpg", picture(kind="JPEG", colour=(200, 30, 30), quality=95).read()[:1500]),
     "This picture is damaged or cut short"),
    (SimpleUploadedFile("empty.jpg", b""), "This file is empty"),
])
def test_a_bad_upload_is_refused_with_its_reason_and_nothing_is_saved(media, upload, says):
    with pytest.raises(ValidationError) as refused:
        product_image_add(product=ProductFactory(), upload=upload)

    assert says in refusal(refused.value)
    assert not ProductImage.objects.exists() and stored_files(media) == []


def test_a_decompression_bomb_is_refused_before_it_is_decoded(media):
    bomb = picture(20_000, 20_000, kind="PNG", mode="1", colour=0, name="bomb.png")  # 400 megapixels, 60 kB

    with pytest.raises(ValidationError) as refused:
        product_image_add(product=ProductFactory(), upload=bomb)

    assert "far too many pixels" in refusal(refused.value) and stored_files(media) == []


def test_a_save_that_fails_takes_back_the_files_it_wrote(media, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(ProductImage, "save", broken)

    with pytest.raises(RuntimeError):
        product_image_add(product=ProductFactory(), upload=picture())

    assert stored_files(media) == []


def test_missing_renditions_are_made_again_from_the_original(media):
    image = product_image_add(product=ProductFactory(), upload=picture())
    lost = images.rendition_name(image.image.name, 320)
    (media / lost).unlink()
    gone = ProductImage.objects.create(product=image.product, image="products/00/gone.jpg", width=800, height=800)
    out, err = io.StringIO(), io.StringIO()

    call_command("make_renditions", stdout=out, stderr=err)

    assert (media / lost).exists() and "1 rendition(s) made for 2 picture file(s)" in out.getvalue()
    assert f"picture {gone.pk} of product {image.product_id}: its original products/00/gone.jpg is missing" in (
        err.getvalue())


# Choosing a picture -----------------------------------------------------------------------------------------


@pytest.fixture
def dressed(db):
    """A tee with a picture of any colour first, then a navy one, then two black ones."""
    product = ProductFactory(name="Organic Tee")
    for position, colour in enumerate(("", "Navy", "Black", "Black")):
        ProductImage.objects.create(product=product, image=f"products/aa/{position:020d}.jpg", position=position,
                                    colour=colour, width=800, height=1000)
    return product


def test_a_colour_shows_its_own_picture_first_then_those_of_any_colour(dressed, django_assert_num_queries):
    product_images_attach([dressed])

    with django_assert_num_queries(0):
        assert picture_for(dressed).colour == ""
        assert picture_for(dressed, "navy").colour == "Navy"  # as a variant's options spell it, or not
        assert picture_for(dressed, "Red").colour == ""  # no red picture: the one of any colour
        assert [p.colour for p in pictures_for(dressed, "Black")] == ["", "Black", "Black"]
        assert [p.colour for p in pictures_for(dressed, "Red")] == ["", "Navy", "Black", "Black"]


def test_picture_url_gives_a_variants_colour_at_the_width_asked_or_nothing(dressed):
    black = VariantFactory(product=dressed, options={"size": "M", "colour": "Black"})
    plain = VariantFactory(options={"size": "M"})
    template = Template("{% load pictures %}{{ variant|picture_url:320 }}|{{ other|picture_url:320 }}")

    rendered = template.render(Context({"variant": black, "other": plain}))

    assert rendered == "/media/products/aa/00000000000000000002-320w.jpg|"


# Serving the files ------------------------------------------------------------------------------------------


def test_renditions_are_served_to_be_cached_for_ever_and_anything_else_is_not_found(client, settings, media):
    settings.DEBUG = False
    image = product_image_add(product=ProductFactory(), upload=picture())
    url = images.rendition_url(image, 320)

    served = client.get(url)

    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    assert served["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Image.open(io.BytesIO(b"".join(served.streaming_content))).size == (320, 240)
    (media / "notes.txt").write_text("not hashed")
    assert client.get("/media/notes.txt")["Cache-Control"] == "public, max-age=3600"
    for missing in ("/media/products/aa/nothing-320w.jpg", "/media/products/", "/media/products/../../manage.py",
                    "/media/%2e%2e/config/settings.py"):
        assert client.get(missing).status_code == 404, missing


def test_media_storage_s3_keeps_pictures_in_a_bucket_that_pages_may_show(tmp_path):
    """MEDIA_STORAGE=s3 (an S3-compatible store behind a CDN): files go to the bucket with year-long caching, plain
    URLs on the CDN's domain, which the pages' content security policy lets images come from; no local view."""
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ} | {
        "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "0", "SECRET_KEY": "s3-settings-test-key",
        "DATABASE_URL": "sqlite:///:memory:", "MEDIA_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "shop-pictures",
        "AWS_S3_ENDPOINT_URL": "https://minio.shop.example", "AWS_S3_CUSTOM_DOMAIN": "pictures.shop.example"}
    script = ("import json, django; django.setup(); from django.conf import settings; from django.urls import reverse, "
              "NoReverseMatch\ntry: reverse('media', args=['x'])\nexcept NoReverseMatch: served = False\n"
              "else: served = True\nprint(json.dumps({'default': settings.STORAGES['default'], 'img': "
              "settings.CONTENT_SECURITY_POLICY['img-src'], 'served': served}))")
    run = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[2], env=env,
                         capture_output=True, text=True, timeout=120)

    found = json.loads(run.stdout or "null") or run.stderr
    assert found["default"]["BACKEND"] == "storages.backends.s3.S3Storage", found
    assert found["default"]["OPTIONS"] | {"bucket_name": "shop-pictures", "custom_domain": "pictures.shop.example",
                                          "endpoint_url": "https://minio.shop.example", "querystring_auth": False,
                                          "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
                                          } == found["default"]["OPTIONS"]
    assert "https://pictures.shop.example" in found["img"] and found["served"] is False


# The admin --------------------------------------------------------------------------------------------------


def product_form(product, **image_fields) -> dict:
    return {
        "name": product.name, "slug": product.slug, "description": "", "brand": product.brand,
        "category": product.category_id, "tax_class": product.tax_class, "is_active": "on",
        "variants-TOTAL_FORMS": "0", "variants-INITIAL_FORMS": "0",
        "images-TOTAL_FORMS": "1", "images-INITIAL_FORMS": "0",
        **{f"images-0-{name}": value for name, value in image_fields.items()},
        "_continue": "Save and continue editing",
    }


def test_a_merchandiser_uploads_a_picture_in_the_products_admin_page(admin_client, media):
    product = VariantFactory(options={"size": "M", "colour": "Navy"}).product

    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/",
                                 product_form(product, image=picture(), alt="Navy tee, front", colour="navy",
                                              position=""))

    assert response.status_code == 302, response.content.decode()[:3000]
    image = product.images.get()
    assert (image.alt, image.colour) == ("Navy tee, front", "navy") and picture_for(product, "Navy") == image
    assert set(sizes_of(image)) == {160, 320, 640, 1024}
    page = admin_client.get(f"/admin/catalog/product/{product.pk}/change/").content.decode()
    assert images.rendition_url(image, 160) in page  # the preview
    assert 'enctype="multipart/form-data"' in page  # the next upload is sent too, with a stored row first


def test_the_admin_changes_a_pictures_words_and_deletes_it_with_its_files(
        admin_client, media, django_capture_on_commit_callbacks):
    product = VariantFactory(options={"size": "M", "colour": "Navy"}).product
    image = product_image_add(product=product, upload=picture(), alt="Tee")
    url = f"/admin/catalog/product/{product.pk}/change/"
    stored = {"images-INITIAL_FORMS": "1", "images-0-id": image.pk, "images-0-product": product.pk}

    admin_client.post(url, {**product_form(product, alt="Navy tee, back", colour="Navy", position="3"), **stored})
    image.refresh_from_db()
    assert (image.alt, image.colour, image.position, stored_files(media) != []) == ("Navy tee, back", "Navy", 3, True)

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(url, {**product_form(product, alt="Navy tee, back", DELETE="on"), **stored})
    assert not ProductImage.objects.exists() and stored_files(media) == []


@pytest.mark.parametrize("fields, says", [
    ({"image": picture(kind="GIF", name="spinner.gif")}, "This is a GIF file; choose a JPEG, PNG or WebP picture."),
    ({"image": picture(), "colour": "Pink"}, "No variant of this product is Pink; its colours are Navy."),
    ({"alt": "Navy tee"}, "Choose a picture to upload."),
])
def test_the_admin_refuses_a_bad_picture_on_its_row_and_saves_nothing(admin_client, media, fields, says):
    product = VariantFactory(options={"size": "M", "colour": "Navy"}).product

    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", product_form(product, **fields))

    assert response.status_code == 200 and says in response.content.decode()
    assert not ProductImage.objects.exists() and stored_files(media) == []


# Pages and the API ------------------------------------------------------------------------------------------


def sold_online(count: int, *, web, pictured: bool = True) -> list:
    products = []
    for _ in range(count):
        product = PriceFactory(channel=web, variant__options={"size": "M", "colour": "Navy"}).variant.product
        if pictured:
            product_image_add(product=product, upload=picture(), colour="Navy")
        products.append(product)
    return products


@pytest.fixture
def web(db):
    return Channel.objects.get(code=Channel.WEB)


def test_the_catalogue_page_costs_the_same_queries_for_2_or_24_pictured_products(client, web):
    counts = {}
    for total, more in ((2, 2), (24, 22)):
        sold_online(more, web=web)
        client.get("/shop/")  # the process's reference tables (channels) are read once
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/shop/").content.decode()
        assert page.count('<img class="picture"') == total
        counts[total] = len(queries)

    assert counts[2] == counts[24], counts


def test_tiles_show_a_responsive_lazy_picture_or_a_neat_placeholder(client, web):
    pictured, = sold_online(1, web=web)
    bare, = sold_online(1, web=web, pictured=False)
    image = pictured.images.get()

    page = client.get("/shop/").content.decode()

    tile = re.search(r'<img class="picture"[^>]*>', page).group(0)
    assert f'src="{images.rendition_url(image, 640)}"' in tile and 'loading="lazy"' in tile
    assert f'srcset="{images.srcset(image)}"' in tile and 'width="1024" height="768"' in tile
    assert f'alt="{pictured.name}"' in tile
    assert f'<span class="picture picture-none" aria-hidden="true">{bare.name[0]}</span>' in page
    assert f'srcset="{images.srcset(image)}"' in client.get("/").content.decode()  # the home page's tiles too


def test_the_product_page_shows_the_chosen_colours_pictures_with_links_to_each(client, web):
    product = PriceFactory(channel=web, variant__options={"size": "M", "colour": "Navy"}).variant.product
    PriceFactory(channel=web, variant=VariantFactory(product=product, options={"size": "M", "colour": "Black"}))
    navy = [product_image_add(product=product, upload=picture(colour=(31, 45, 84 + n)), colour="Navy")
            for n in range(2)]
    black = product_image_add(product=product, upload=picture(colour=(0, 0, 0)), colour="Black")

    black_sku, navy_sku = (product.variants.get(options__colour=c).sku for c in ("Black", "Navy"))
    page = client.get(f"/shop/{product.slug}/", {"sku": black_sku}).content.decode()
    navy_page = client.get(f"/shop/{product.slug}/", {"sku": navy_sku}).content.decode()

    assert images.rendition_url(black, 640) in page and images.rendition_url(navy[0], 160) not in page
    gallery = navy_page[navy_page.index('id="gallery"'):navy_page.index('<h1 id="product-title"')]
    assert all(f'href="{images.rendition_url(n, 1024)}"' in gallery for n in navy)
    assert 'loading="eager"' in gallery and black.image.name.removesuffix(".jpg") not in gallery


def test_the_basket_shows_each_lines_picture_in_its_colour(client, store):
    tee_m, _, hoodie = stock_the_shop(store=store, warehouse=LocationFactory(code="WH-1", kind=Location.Kind.WAREHOUSE))
    navy = product_image_add(product=tee_m.product, upload=picture(), colour="Navy")
    product_image_add(product=tee_m.product, upload=picture(colour=(200, 0, 0)), colour="Red")
    for variant in (tee_m, hoodie):
        client.post(f"/shop/{variant.product.slug}/", {"sku": variant.sku, "quantity": 1})

    basket = client.get("/cart/").content.decode()

    assert basket.count('<img class="picture"') == 1 and images.srcset(navy) in basket
    assert '<span class="picture picture-none" aria-hidden="true">H</span>' in basket  # the hoodie has none



def test_the_basket_reads_its_pictures_in_one_query_however_many_lines(client, store):
    tee_m, tee_l, hoodie = stock_the_shop(store=store, warehouse=LocationFactory(code="WH-1", kind=Location.Kind.WAREHOUSE))
    for product in (tee_m.product, hoodie.product):
        product_image_add(product=product, upload=picture(), colour="Navy")
    counts = {}
    for variant in (tee_m, tee_l, hoodie):
        client.post(f"/shop/{variant.product.slug}/", {"sku": variant.sku, "quantity": 1})
        client.get("/cart/")
        with CaptureQueriesContext(connection) as queries:
            basket = client.get("/cart/").content.decode()
        counts[variant.sku] = len(queries)

    assert basket.count('<img class="picture"') == 3
    assert len(set(counts.values())) == 1, counts

def test_the_api_gives_absolute_picture_urls_at_every_width(client, web):
    product, = sold_online(1, web=web)
    image = product.images.get()

    listed = client.get("/api/v1/products/").json()["results"][0]["images"]
    detail = client.get(f"/api/v1/products/{product.slug}/").json()["images"]

    assert listed == detail == [{
        "url": f"http://testserver{images.rendition_url(image, 1024)}",
        "thumbnails": {str(w): f"http://testserver{images.rendition_url(image, w)}" for w in (160, 320, 640, 1024)},
        "alt": product.name, "colour": "Navy", "width": 1024, "height": 768,
    }]


def test_the_api_product_list_costs_the_same_queries_for_2_or_20_pictured_products(client, web):
    sold_online(20, web=web)
    client.get("/api/v1/products/")
    counts = {}
    for size in (2, 20):
        with CaptureQueriesContext(connection) as queries:
            results = client.get("/api/v1/products/", {"page_size": size}).json()["results"]
        assert len(results) == size and all(len(p["images"]) == 1 for p in results)
        counts[size] = len(queries)

    assert counts[2] == counts[20], counts
