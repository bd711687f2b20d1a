"""The store home at /admin/store/, and /admin/ itself, which sends store roles there (both mounted before
the admin site in config/urls.py; the admin's sign-in guards them)."""
from django.contrib import admin
from django.urls import path

from .store_home import admin_entry, store_home

urlpatterns = [
    path("store/", admin.site.admin_view(store_home), name="store-home"),
    path("", admin.site.admin_view(admin_entry), name="backoffice-entry"),
]
