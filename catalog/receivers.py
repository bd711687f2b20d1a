"""A picture's files go with its row, however the row goes: deleted on its own (the admin, product_image_delete) or
with its product (a cascade, which calls no service)."""
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import ProductImage
from .services import product_image_files_forget


@receiver(post_delete, sender=ProductImage)
def picture_files_forget(sender, *, instance: ProductImage, **kwargs) -> None:
    product_image_files_forget(image=instance)
