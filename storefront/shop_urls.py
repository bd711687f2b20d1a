"""Browsing, the product page, the cart and the shopper's account."""
from django.urls import path

urlpatterns = []
