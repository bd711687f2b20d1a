"""Staff pages: the scan station and printable pick lists."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.scan_station, name="scan-station"),
    path("pick-list/<str:code>/", views.pick_list_page, name="pick-list"),
]
