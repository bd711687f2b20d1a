"""Signals the catalog sends so higher apps can react without the catalog importing them."""
from django.dispatch import Signal

# Sent with request=<DRF or Django request>, product=<Product>, channel=<Channel>
# when a shopper opens a product page.
product_viewed = Signal()
