"""`manage.py make_renditions`: make the renditions product pictures lack (after the widths changed, or files
copied without them), from each picture's original, with progress. Safe to run any time: it writes only what is
missing."""
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from tqdm import tqdm

from catalog.images import RENDITION_WIDTHS
from catalog.models import ProductImage
from catalog.services import product_image_renditions_make


class Command(BaseCommand):
    help = f"Make the missing renditions ({', '.join(map(str, RENDITION_WIDTHS))} px wide) of every product picture."

    def handle(self, *args, **options):
        images = ProductImage.objects.order_by("pk")
        originals, written, failed = set(), 0, []
        with tqdm(total=images.count(), unit="picture", file=options.get("stderr") or sys.stderr,
                  disable=options["verbosity"] < 1) as progress:
            for image in images.iterator(chunk_size=500):
                progress.update()
                if image.image.name in originals:  # pictures share files when they are the same picture
                    continue
                originals.add(image.image.name)
                try:
                    written += len(product_image_renditions_make(image=image))
                except FileNotFoundError:
                    failed.append(f"picture {image.pk} of product {image.product_id}: its original "
                                  f"{image.image.name} is missing; upload it again.")
                except (OSError, ValidationError) as problem:
                    failed.append(f"picture {image.pk} of product {image.product_id} ({image.image.name}): "
                                  f"{' '.join(getattr(problem, 'messages', [str(problem)]))}")
        for line in failed:
            self.stderr.write(f"Could not make the renditions of {line}")
        self.stdout.write(self.style.SUCCESS(
            f"{written} rendition(s) made for {len(originals)} picture file(s); {len(failed)} could not be read."))
