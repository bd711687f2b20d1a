"""Back-office pages mounted at /admin/backoffice/ before the admin site (see config/urls.py): the admin's
sign-in guards them (staff only), and each view asks for its own permission."""
from django.contrib import admin
from django.urls import path

from .import_views import export_view, import_view

urlpatterns = [
    path("import/", admin.site.admin_view(import_view), name="backoffice-import"),
    path("export/<slug:kind>.csv", admin.site.admin_view(export_view), name="backoffice-export"),
]
