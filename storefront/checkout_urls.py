"""Checkout, the order page (status, tracking, pickup code and QR) and return requests."""
from django.urls import path

urlpatterns = []
