"""The till page for store staff (HTML); the till's API is in orders/urls.py."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.till_page, name="till"),
]
