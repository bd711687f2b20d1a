"""Top-level URLs: the back office, the API and its schema and docs."""
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from customers.views import cart_page
from fulfillment.api import pickup_qr

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("pickup/qr/<str:token>.svg", pickup_qr, name="pickup-qr"),
    path("scan/", include("fulfillment.station_urls")),
    path("cart/", cart_page, name="cart-page"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
