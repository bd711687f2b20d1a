"""Top-level URLs: the back office, the API and its schema and docs, the scan station, the storefront, and
uploaded pictures when they are local files."""
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.media import serve_media
from fulfillment.api import pickup_qr
from storefront.views.cart import cart_page

urlpatterns = [
    # Back-office pages live under /admin/ (same sign-in, same look) and must come before the admin site.
    path("admin/backoffice/", include("backoffice.import_urls")),
    path("admin/analytics/", include("backoffice.analytics_urls")),
    path("admin/returns/", include("fulfillment.desk_urls")),
    path("admin/", include("backoffice.store_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api")),
    path("pickup/qr/<str:token>.svg", pickup_qr, name="pickup-qr"),
    path("scan/", include("fulfillment.station_urls")),
    path("till/", include("orders.till_urls")),
    path("cart/", cart_page, name="cart-page"),  # reminder emails link to /cart/?resume=<signed>
    path("", include("storefront.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

if settings.MEDIA_STORAGE == "local" and settings.MEDIA_URL.startswith("/"):
    # Served by the app, DEBUG or not; a CDN or proxy in front keeps them (their names change with content).
    urlpatterns.insert(0, re_path(rf"^{settings.MEDIA_URL.strip('/')}/(?P<name>.+)$", serve_media, name="media"))

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
