"""Fulfilment API routes: the staff queue and steps, the pickup counter, returns."""
from django.urls import path

from . import api

urlpatterns = [
    path("staff/fulfillments/", api.QueueAPI.as_view(), name="staff-queue"),
    *[
        path(f"staff/fulfillments/<int:pk>/{step}/", api.StepAPI.as_view(step=step), name=f"staff-{step}")
        for step in ("pick", "ship", "ready", "delivered")
    ],
    path("staff/fulfillments/<int:pk>/pack/", api.PackAPI.as_view(), name="staff-pack"),
    path("staff/fulfillments/<int:pk>/problems/", api.ProblemAPI.as_view(), name="staff-problem"),
    path("staff/pickups/lookup/", api.PickupLookupAPI.as_view(), name="staff-pickup-lookup"),
    path("staff/pickups/collect/", api.PickupCollectAPI.as_view(), name="staff-pickup-collect"),
    path("staff/returns/receive/", api.ReturnReceiveAPI.as_view(), name="staff-return-receive"),
    path("orders/<str:number>/returns/", api.ReturnRequestAPI.as_view(), name="order-returns"),
    path("orders/<str:number>/here/", api.ImHereAPI.as_view(), name="order-here"),
    path("orders/<str:number>/fulfillments/", api.MyFulfillmentsAPI.as_view(), name="order-fulfillments"),
]
