"""The storefront's pages: browsing and the cart (shop_urls), checkout, orders and returns (checkout_urls)."""
from django.urls import include, path

app_name = "storefront"

urlpatterns = [
    path("", include("storefront.shop_urls")),
    path("", include("storefront.checkout_urls")),
]
