"""Catalog API routes (products, variants, stores)."""
urlpatterns: list = []
