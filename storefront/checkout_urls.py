"""Checkout, the order page (status, tracking, pickup code and QR), return requests and the receipt."""
from django.urls import path

from .views import checkout, orders, problems

urlpatterns = [
    path("checkout/", checkout.checkout, name="checkout"),
    path("checkout/finish/", checkout.checkout_finish, name="checkout-finish"),
    path("orders/<str:number>/", orders.order_page, name="order"),
    path("orders/<str:number>/receipt/", orders.order_receipt, name="order-receipt"),
    path("orders/choose/<str:token>/", problems.line_problem_page, name="line-problem"),
]
