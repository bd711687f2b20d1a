"""Catalog and stock API routes: products, where a variant can be found, and the stores."""
from django.urls import path

from . import api

urlpatterns = [
    path("products/", api.ProductListAPI.as_view(), name="products"),
    path("products/<slug:slug>/", api.ProductDetailAPI.as_view(), name="product"),
    path("variants/<str:sku>/availability/", api.VariantAvailabilityAPI.as_view(), name="variant-availability"),
    path("stores/", api.StoreListAPI.as_view(), name="stores"),
    path("stores/<slug:code>/", api.StoreDetailAPI.as_view(), name="store"),
]
