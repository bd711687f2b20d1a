"""Orders API routes: checkout, my orders (and claiming my guest orders), vouchers, the till, the Stripe webhook."""
from django.urls import path

from . import api

urlpatterns = [
    path("checkout/", api.CheckoutAPI.as_view(), name="checkout"),
    path("checkout/quote/", api.CheckoutQuoteAPI.as_view(), name="checkout-quote"),
    path("checkout/finish/", api.CheckoutFinishAPI.as_view(), name="checkout-finish"),
    path("cart/quote/", api.CartQuoteAPI.as_view(), name="cart-quote"),
    path("cart/pickup-stores/", api.CartPickupStoresAPI.as_view(), name="cart-pickup-stores"),
    path("orders/", api.OrderListAPI.as_view(), name="orders"),
    path("me/orders/claim/", api.OrderClaimAPI.as_view(), name="orders-claim"),
    path("orders/<str:number>/", api.OrderDetailAPI.as_view(), name="order"),
    path("orders/<str:number>/collector/", api.OrderCollectorAPI.as_view(), name="order-collector"),
    path("orders/<str:number>/cancel/", api.OrderCancelAPI.as_view(), name="order-cancel"),
    path("vouchers/check/", api.VoucherCheckAPI.as_view(), name="voucher-check"),
    path("staff/till/quote/", api.TillQuoteAPI.as_view(), name="till-quote"),
    path("staff/till/sales/", api.TillSaleAPI.as_view(), name="till-sale"),
    path("stripe/webhook/", api.StripeWebhookAPI.as_view(), name="stripe-webhook"),
]
