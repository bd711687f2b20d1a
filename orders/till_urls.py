"""The till's pages for store staff (HTML): the till, a sale just made, and its 80 mm receipt; the till's
API is in orders/urls.py."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.till_page, name="till"),
    path("sales/<str:number>/", views.till_sale_page, name="till-sale"),
    path("sales/<str:number>/receipt/", views.till_receipt, name="till-receipt"),
]
