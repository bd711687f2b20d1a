"""Product pictures in templates: `{{ product_or_variant|picture_url:320 }}` (a rendition's URL, "" without a
picture: emails use it) and `{% picture thing sizes="…" %}` (a responsive, lazy <img>, or a neat placeholder).
Both use pictures attached by catalog.images.product_images_attach, else read the product's once."""
from django import template

from ..images import picture_of, pictures_for, rendition_height, rendition_url, rendition_widths, srcset

register = template.Library()

DEFAULT_WIDTH = 640  # src for the rare browser without srcset: sharp enough on a tile or a product page


@register.filter
def picture_url(thing, width=320) -> str:
    """The URL of the picture of a Product, a Variant (its colour's, else the product's) or a ProductImage, at
    least `width` pixels wide where it has one; "" when there is no picture."""
    image = picture_of(thing)
    return rendition_url(image, int(width)) if image is not None else ""


@register.inclusion_tag("storefront/_picture.html")
def picture(thing, sizes: str = "100vw", loading: str = "lazy", colour: str = "", link: bool = False,
            decorative: bool = False) -> dict:
    """<img src srcset sizes width height alt loading decoding> for a Product (for `colour` when given), a
    Variant or a ProductImage; a placeholder with the product's initial when it has no picture. `link` wraps
    the picture in a link to its largest rendition (the product page's gallery, without JavaScript);
    `decorative` leaves the alt text empty where the product's name is written next to it."""
    image = picture_of(thing, colour or None)
    if image is None:
        return {"image": None, "initial": (getattr(getattr(thing, "product", thing), "name", "") or "?")[:1].upper()}
    largest = rendition_widths(image.width)[-1]
    return {
        "image": image, "src": rendition_url(image, DEFAULT_WIDTH), "srcset": srcset(image), "sizes": sizes,
        "width": largest, "height": rendition_height(image, largest), "alt": "" if decorative else image.alt_text,
        "loading": loading, "full": rendition_url(image, largest) if link else "",
    }


@register.simple_tag
def gallery_pictures(product, colour: str = "") -> list:
    """The pictures the product page shows for a colour (catalog.images.pictures_for)."""
    return pictures_for(product, colour or None)
