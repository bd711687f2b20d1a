"""The API under /api/v1/: each app contributes its own urls module."""
from django.urls import include, path

urlpatterns = [
    path("", include("inventory.urls")),
    path("", include("customers.urls")),
    path("", include("orders.urls")),
    path("", include("fulfillment.urls")),
]
