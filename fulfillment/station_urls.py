"""Staff pages: the scan station (with its "Here now" panel and receiving transfers) and printable pick lists."""
from django.urls import path

from . import views

urlpatterns = [
    path("", views.scan_station, name="scan-station"),
    path("here-now/", views.here_now, name="scan-here-now"),
    path("transfer/", views.transfer_receive_page, name="scan-transfer"),
    path("pick-list/<str:code>/", views.pick_list_page, name="pick-list"),
]
