"""The analytics page, mounted at /admin/analytics/ before the admin site (see config/urls.py): the admin's
sign-in guards it (staff only), and the view asks for backoffice.view_analytics."""
from django.contrib import admin
from django.urls import path

from .analytics_views import analytics_view

urlpatterns = [
    path("", admin.site.admin_view(analytics_view), name="backoffice-analytics"),
]
