"""The returns desk, mounted at /admin/returns/ before the admin site (see config/urls.py): the admin's
sign-in guards it (staff only), and the view asks for fulfillment.change_return."""
from django.contrib import admin
from django.urls import path

from .desk import return_desk

urlpatterns = [
    path("desk/", admin.site.admin_view(return_desk), name="return-desk"),
]
