"""Product pictures: what an upload must be (JPEG, PNG or WebP; at most 10 MB and 40 megapixels), the JPEG
renditions made from it at the widths the pages need, their names and URLs, and reading a page's pictures.

Files are named by a hash of the original's bytes (products/ab/ab12…f0.jpg, its renditions …-320w.jpg), so a
name never changes content: browsers and CDNs cache them for ever, and the same picture uploaded twice is one
set of files. Renditions are JPEG, not WebP: HTML emails show them too, and Outlook on Windows cannot show WebP.
"""
import hashlib
import warnings
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from io import BytesIO

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

from .models import Product, ProductImage, Variant

ACCEPTED = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
ACCEPTED_KINDS = "JPEG, PNG or WebP"
ACCEPTED_WORDS = f"a {ACCEPTED_KINDS} picture"
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
# 160: basket lines, gallery thumbnails and emails; 320 and 640: tiles (~280 CSS px on a laptop, ~360 on a phone)
# at 1x and 2x; 1024: the product page's main picture (~500 CSS px) on a 2x screen, and the API's largest.
RENDITION_WIDTHS = (160, 320, 640, 1024)
JPEG_QUALITY = 82
DIRECTORY = "products"
HASH_CHARS = 20  # 80 bits of SHA-256: no two different pictures will share a name
BACKGROUND = (255, 255, 255)  # transparent parts of a PNG or WebP: JPEG has no transparency
EXIF_ORIENTATION = 0x0112
SIDEWAYS = (5, 6, 7, 8)  # orientations that turn the picture a quarter: its width is the stored height


@dataclass(frozen=True)
class Picture:
    """An upload that passed the checks: its bytes, its size upright and the hash its files are named by.
    `image` is the picture decoded (upright, RGB; a big JPEG at a fraction of its size, never smaller than the
    largest rendition), made when first asked for."""

    content: bytes
    extension: str
    width: int
    height: int
    digest: str

    @property
    def name(self) -> str:
        return f"{DIRECTORY}/{self.digest[:2]}/{self.digest}.{self.extension}"

    @cached_property
    def image(self) -> Image.Image:
        try:
            return _decode(Image.open(BytesIO(self.content)))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            raise ValidationError("This picture is damaged or cut short; save it again and upload the new file.",
                                  code="damaged") from None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def picture_read(upload, *, storage: Storage | None = None) -> Picture:
    """Check an uploaded file. Refuses, with a message a person can act on, a file that is too big, not a
    picture, a kind other than JPEG, PNG or WebP, too many pixels (a decompression bomb) or damaged. The header
    is read first, so a refusal of size costs nothing; the picture is then decoded in full, unless the very same
    bytes are stored already (checked when they were uploaded first)."""
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_BYTES:
        raise ValidationError(f"This file is {_megabytes(size)}; a picture may be at most {_megabytes(MAX_BYTES)}.",
                              code="too_big")
    upload.seek(0)
    content = upload.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise ValidationError(f"This file is over {_megabytes(MAX_BYTES)}, the most a picture may be.", code="too_big")
    if not content:
        raise ValidationError(f"This file is empty; choose {ACCEPTED_WORDS}.", code="empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            header = Image.open(BytesIO(content))
            kind, (width, height) = header.format, header.size
            if _orientation(header) in SIDEWAYS:
                width, height = height, width
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(f"This picture has far too many pixels; the most is {MAX_PIXELS // 1_000_000} "
                              "megapixels. Make it smaller and upload it again.", code="too_many_pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ValidationError(f"This file is not a picture we can read; choose {ACCEPTED_WORDS}.",
                              code="not_an_image") from None
    if kind not in ACCEPTED:
        raise ValidationError(f"This is a {kind} file; choose {ACCEPTED_WORDS}.", code="wrong_type")
    if width * height > MAX_PIXELS:
        raise ValidationError(
            f"This picture is {width:,} × {height:,} pixels ({width * height / 1_000_000:.0f} megapixels); the most "
            f"is {MAX_PIXELS // 1_000_000} megapixels. Make it smaller and upload it again.", code="too_many_pixels")
    picture = Picture(content, ACCEPTED[kind], width, height, hashlib.sha256(content).hexdigest()[:HASH_CHARS])
    if not (storage or default_storage).exists(picture.name):
        picture.image  # noqa: B018 (decoding is the check that the file is whole)
    return picture


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation of a JPEG or WebP (where cameras and phones write it). A PNG's is not read: Pillow
    would decode the whole file to look for it, and nothing writes one."""
    return image.getexif().get(EXIF_ORIENTATION, 1) if image.format in ("JPEG", "WEBP") else 1


def _decode(image: Image.Image) -> Image.Image:
    """Decode in full (a damaged file fails here), upright as the camera meant it, on white where transparent.
    A big JPEG decodes straight at a fraction of its size (draft): the largest rendition is all anyone needs."""
    if image.format == "JPEG":
        largest = max(RENDITION_WIDTHS)
        image.draft("RGB", (largest, largest))
    image.load()
    upright = ImageOps.exif_transpose(image) if _orientation(image) != 1 else image
    if upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info):
        rgba = upright.convert("RGBA")
        upright = Image.new("RGB", rgba.size, BACKGROUND)
        upright.paste(rgba, mask=rgba.getchannel("A"))
    elif upright.mode != "RGB":
        upright = upright.convert("RGB")
    return upright


# Renditions ------------------------------------------------------------------------------------------------


def rendition_widths(width: int) -> tuple[int, ...]:
    """The widths made for a picture this wide: never larger than the picture itself."""
    return tuple(sorted({min(w, width) for w in RENDITION_WIDTHS})) if width > 0 else ()


def rendition_name(original: str, width: int) -> str:
    return f"{original.rsplit('.', 1)[0]}-{width}w.jpg"


def rendition_height(image: "ProductImage | Picture", width: int) -> int:
    return max(1, round(image.height * width / image.width))


def rendition_names(image: ProductImage) -> dict[int, str]:
    return {w: rendition_name(image.image.name, w) for w in rendition_widths(image.width)}


def _shrink(image: Image.Image, width: int, height: int) -> Image.Image:
    """Lanczos, except for an exact halving (640 to 320 to 160): averaging each 2 × 2 block is as good there
    and ten times quicker."""
    if image.size == (2 * width, 2 * height):
        return image.reduce(2)
    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _jpeg(image: Image.Image) -> bytes:
    """Optimised JPEG; the largest progressive, so it shows whole at once and sharpens as it loads."""
    out = BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=image.width > 640)
    return out.getvalue()


def _write(storage: Storage, name: str, content: bytes) -> bool:
    """Write a file the caller found missing; True when it was. Another upload of the same picture may have
    written it meanwhile (the storage then picks another name): theirs is kept."""
    saved = storage.save(name, ContentFile(content))
    if saved != name:
        storage.delete(saved)
        return False
    return True


def picture_files_write(picture: Picture, *, name: str = "", storage: Storage | None = None) -> list[str]:
    """Store the original (as `name`, by default its hashed name) and make the missing renditions, largest
    first, each shrunk from the one before (quicker than from the original, and as sharp). Returns the names
    written, so a caller can take them back."""
    storage = storage or default_storage
    name = name or picture.name
    written = []
    if not storage.exists(name) and _write(storage, name, picture.content):
        written.append(name)
    widths = sorted(rendition_widths(picture.width), reverse=True)
    missing = {w for w in widths if not storage.exists(rendition_name(name, w))}
    source = picture.image if missing else None
    for width in widths:
        if not missing:
            break
        if source.width != width:
            source = _shrink(source, width, rendition_height(picture, width))
        if width in missing and _write(storage, rendition_name(name, width), _jpeg(source)):
            written.append(rendition_name(name, width))
        missing.discard(width)
    return written


def renditions_missing(image: ProductImage, *, storage: Storage | None = None) -> list[str]:
    storage = storage or default_storage
    return [name for name in rendition_names(image).values() if not storage.exists(name)]


def picture_files(image: ProductImage) -> list[str]:
    """Every file of a picture: the original and its renditions."""
    return [image.image.name, *rendition_names(image).values()]


# Reading ---------------------------------------------------------------------------------------------------


def variant_colours(product_id: int) -> list[str]:
    """The colours a product's variants come in (their options' "colour"), in SKU order."""
    colours = Variant.objects.filter(product_id=product_id).values_list("options__colour", flat=True)
    return list(dict.fromkeys(c for c in colours if isinstance(c, str) and c))


def product_images_attach(products) -> list[Product]:
    """Set `product.pictures` (its ProductImages in order) on every product of a page, in one query."""
    products = list(products)
    if not products:
        return products
    by_product = defaultdict(list)
    for image in ProductImage.objects.filter(product__in=[p.pk for p in products]).order_by(
            "product_id", "position", "id"):
        by_product[image.product_id].append(image)
    for product in products:
        product.pictures = by_product[product.pk]
        for image in product.pictures:
            image.product = product  # the alt text falls back to the product's name: no query for it
    return products


def product_pictures(product: Product) -> list[ProductImage]:
    """The product's pictures in order: attached ones, else read now (and kept on the product)."""
    if not hasattr(product, "pictures"):
        product_images_attach([product])
    return product.pictures


def pictures_for(product: Product, colour: str | None = None) -> list[ProductImage]:
    """The pictures to show for a colour: that colour's and those of any colour, in order; every picture when
    none fits (a picture of the product in another colour beats none)."""
    pictures = product_pictures(product)
    if colour:
        fitting = [p for p in pictures if not p.colour or p.shows_colour(colour)]
        if any(p.shows_colour(colour) for p in fitting):
            return fitting
    return pictures


def picture_for(product: Product, colour: str | None = None) -> ProductImage | None:
    """The picture that stands for the product: the colour's first, else the first of any colour, else its
    first picture at all; None when it has none."""
    pictures = product_pictures(product)
    if colour:
        chosen = next((p for p in pictures if p.shows_colour(colour)), None)
        if chosen is not None:
            return chosen
        return next((p for p in pictures if not p.colour), pictures[0] if pictures else None)
    return pictures[0] if pictures else None


def picture_of(thing, colour: str | None = None) -> ProductImage | None:
    """The picture of a Product (for `colour` when given), a Variant (its colour's) or a ProductImage itself;
    None when there is none."""
    if isinstance(thing, ProductImage):
        return thing
    if isinstance(thing, Variant):
        return picture_for(thing.product, (thing.options or {}).get("colour"))
    if isinstance(thing, Product):
        return picture_for(thing, colour)
    return None


def rendition_url(image: ProductImage, width: int) -> str:
    """The URL of the smallest rendition at least `width` wide (the largest there is, for a small picture)."""
    widths = rendition_widths(image.width)
    if not widths:
        return ""
    fit = next((w for w in widths if w >= width), widths[-1])
    return default_storage.url(rendition_name(image.image.name, fit))


def rendition_url_by_width(image: ProductImage) -> dict[int, str]:
    return {w: default_storage.url(name) for w, name in rendition_names(image).items()}


def srcset(image: ProductImage) -> str:
    return ", ".join(f"{url} {w}w" for w, url in rendition_url_by_width(image).items())
