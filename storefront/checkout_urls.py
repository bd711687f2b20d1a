"""Checkout, the order page (status, tracking, pickup code and QR) and return requests."""
from django.urls import path

from .views import checkout, orders

urlpatterns = [
    path("checkout/", checkout.checkout, name="checkout"),
    path("orders/<str:number>/", orders.order_page, name="order"),
]
