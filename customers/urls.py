"""Customer API routes: auth, my profile, consent, addresses, timeline, and the cart."""
from django.urls import path

from . import api

urlpatterns = [
    path("auth/register/", api.RegisterAPI.as_view(), name="auth-register"),
    path("auth/token/", api.SignInAPI.as_view(), name="auth-token"),
    path("auth/session/", api.SessionSignInAPI.as_view(), name="auth-session"),
    path("auth/sign-out/", api.SignOutAPI.as_view(), name="auth-sign-out"),
    path("auth/password-reset/", api.PasswordResetAPI.as_view(), name="auth-password-reset"),
    path("auth/password-reset/confirm/", api.PasswordResetConfirmAPI.as_view(), name="auth-password-reset-confirm"),
    path("me/", api.MeAPI.as_view(), name="me"),
    path("me/consent/", api.ConsentAPI.as_view(), name="me-consent"),
    path("me/addresses/", api.AddressListAPI.as_view(), name="me-addresses"),
    path("me/addresses/<int:pk>/", api.AddressAPI.as_view(), name="me-address"),
    path("me/timeline/", api.TimelineAPI.as_view(), name="me-timeline"),
    path("cart/", api.CartAPI.as_view(), name="cart"),
    path("cart/lines/", api.CartLinesAPI.as_view(), name="cart-lines"),
    path("cart/lines/<int:pk>/", api.CartLineAPI.as_view(), name="cart-line"),
    path("cart/fulfilment/", api.CartFulfilmentAPI.as_view(), name="cart-fulfilment"),
]
