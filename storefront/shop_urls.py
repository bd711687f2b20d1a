"""Browsing, the product page, the cart and the shopper's account."""
from django.urls import path

from .views import account, cart, shop

urlpatterns = [
    path("", shop.home, name="home"),
    path("shop/", shop.catalog, name="catalog"),
    path("shop/<slug:slug>/", shop.product, name="product"),
    path("stores/", shop.stores, name="stores"),
    path("stores/choose/", shop.store_choose, name="store-choose"),
    path("cart/", cart.cart_page, name="cart"),
    path("account/", account.account, name="account"),
    path("account/sign-in/", account.sign_in_page, name="sign-in"),
    path("account/register/", account.register_page, name="register"),
    path("account/sign-out/", account.sign_out, name="sign-out"),
    path("account/details/", account.details, name="details"),
    path("account/password/", account.password_change, name="password-change"),
    path("account/forgot-password/", account.password_reset, name="password-reset"),
    path("account/reset/<str:uid>/<str:token>/", account.password_reset_confirm, name="password-reset-confirm"),
    path("account/claim/<str:token>/", account.claim_orders, name="claim-orders"),
    path("account/addresses/", account.addresses, name="addresses"),
    path("account/addresses/<int:pk>/", account.address_edit, name="address"),
    path("account/consent/", account.consent, name="consent"),
]
