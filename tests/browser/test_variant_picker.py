"""The picker in a real browser: choosing a colour, then a size, changes the price, the stock words, what the
other values say and the pictures (to the colour's) without a reload; sizes a colour is not made in are marked;
the basket gets the SKU the choices name; and the picker fits a 1280 px screen and a 390 px phone."""
import io
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.services import product_image_add
from customers.models import CartLine
from tests.storefront.picker_goods import stock_the_picker_shop

from .shop import at, choice


def jpeg(rgb) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (800, 800), rgb).save(out, "JPEG")
    return SimpleUploadedFile("jumper.jpg", out.getvalue())


def label_of(radio):
    return radio.locator("xpath=ancestor::label[1]")


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_choosing_a_colour_then_a_size_updates_price_and_stock_and_adds_that_sku(chromium, live_server, screens,
                                                                               warehouse):
    jumper = stock_the_picker_shop(warehouse=warehouse)["FJ-NAV-M"].product
    for colour, rgb in (("Burgundy", (109, 26, 44)), ("Navy", (31, 47, 77))):
        product_image_add(product=jumper, upload=jpeg(rgb), colour=colour, alt=f"Fisherman Jumper in {colour}")
    shopper = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900}, locale="en-GB")
    shopper.set_default_timeout(15_000)
    page = shopper.new_page()
    loads = []
    page.on("load", lambda _: loads.append(page.url))
    page.goto("/shop/fisherman-jumper/?colour=Burgundy&size=XXL")
    page.evaluate("document.querySelector('[data-picker]').addEventListener('variantchange',"
                  " e => window.seen = (window.seen || []).concat([e.detail.colour + ' ' + e.detail.sku]))")
    assert page.locator("#price").inner_text() == "£49.00" and page.locator("#stock").inner_text() == "In stock"
    assert page.get_by_role("button", name="Show this choice").is_hidden()
    assert page.locator("#gallery img").first.get_attribute("alt") == "Fisherman Jumper in Burgundy"
    screens.take(page, "burgundy XXL at 1280")

    choice(page, "Colour", "Navy").check()
    assert page.locator("#sku-error").inner_text() == (
        "That colour is not made in that size. Choose another colour or size.")
    xxl = choice(page, "Size", "XXL")
    assert "is-unavailable" in label_of(xxl).get_attribute("class")
    assert label_of(xxl).inner_text().endswith("Not made in this colour")
    assert label_of(choice(page, "Size", "XL")).inner_text().endswith("Out of stock")
    assert page.locator("#price").inner_text() == "" and page.locator("#stock").is_hidden()
    screens.take(page, "navy is not made in XXL")

    choice(page, "Size", "M").check()
    assert page.locator("#price").inner_text() == "£54.99"
    assert page.locator("#stock").inner_text() == "Only 3 left"
    assert page.locator("#sku-error").is_hidden()
    assert re.search(r"colour=Navy&size=M$", page.url)
    page.get_by_text("For Navy, M (FJ-NAV-M).").wait_for()  # the stores near you, read again for this choice
    page.get_by_alt_text("Fisherman Jumper in Navy").first.wait_for()  # and the pictures of the colour chosen
    assert page.title() == "Fisherman Jumper (Navy, M) · Hearth & Thread"
    choice(page, "Size", "L").check()
    assert page.locator("#stock").inner_text() == "Out of stock online — in stock at 4 stores"
    choice(page, "Size", "M").check()
    colours = page.evaluate("window.seen")
    assert colours == ["Navy null", "Navy FJ-NAV-M", "Navy FJ-NAV-L", "Navy FJ-NAV-M"]
    assert len(loads) == 1  # every change without a reload
    screens.take(page, "navy M at 1280")

    page.get_by_label("Quantity").fill("2")
    page.get_by_role("button", name="Add to basket").click()
    page.wait_for_url(at("/cart/"))
    assert [(line.variant.sku, line.quantity) for line in CartLine.objects.all()] == [("FJ-NAV-M", 2)]
    screens.take(page, "basket with navy M")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/shop/fisherman-jumper/?colour=Navy&size=M")
    assert fits_the_width(page)
    choice(page, "Colour", "Burgundy").check()
    assert page.locator("#price").inner_text() == "£49.00"
    page.keyboard.press("ArrowRight")  # the keyboard moves along the colours: Navy
    assert choice(page, "Colour", "Navy").is_checked() and page.locator("#price").inner_text() == "£54.99"
    navy = label_of(choice(page, "Colour", "Navy"))
    assert navy.evaluate("label => getComputedStyle(label).outlineStyle") == "solid"  # focus is visible
    assert fits_the_width(page)
    screens.take(page, "navy M at 390 with keyboard focus")
    shopper.close()


def test_without_javascript_show_this_choice_reloads_with_the_variant_and_adds_it(chromium, live_server, screens,
                                                                                  warehouse):
    stock_the_picker_shop(warehouse=warehouse)
    shopper = chromium.new_context(base_url=live_server.url, viewport={"width": 390, "height": 844}, locale="en-GB",
                                   java_script_enabled=False)
    shopper.set_default_timeout(15_000)
    page = shopper.new_page()
    page.goto("/shop/fisherman-jumper/")

    choice(page, "Colour", "Navy").check()
    choice(page, "Size", "L").check()
    page.get_by_role("button", name="Show this choice").click()
    page.wait_for_url(re.compile(r"/shop/fisherman-jumper/\?colour=Navy&size=L$"))
    assert page.locator("#price").inner_text() == "£54.99"
    assert page.locator("#stock").inner_text() == "Out of stock online — in stock at 4 stores"
    assert label_of(choice(page, "Size", "XXL")).inner_text().endswith("Not made in this colour")
    assert fits_the_width(page)
    screens.take(page, "navy L without javascript at 390")

    choice(page, "Size", "S").check()  # not shown yet: the basket still gets what the radios say
    page.get_by_role("button", name="Add to basket").click()
    page.wait_for_url(at("/cart/"))
    assert [line.variant.sku for line in CartLine.objects.all()] == ["FJ-NAV-S"]
    shopper.close()
