"""The web storefront a shopper sees: server-rendered pages over the same services as the API."""
from django.apps import AppConfig


class StorefrontConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "storefront"
    verbose_name = "Storefront"
