"""The scan station and printable pick lists: staff pages for the pickup counter and the stockroom.

The cursor sits in one input; a USB scanner types the code (or the QR's text) and Enter, the order
shows, one button hands it over. Both pages need the fulfillment.use_scan_station permission (pickup
staff have it, and so do store staff and managers); a user without it gets 403.
"""
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.exceptions import DomainError
from inventory.models import Location
from inventory.selectors import locations_for_staff

from . import services
from .selectors import fulfillment_queue, pick_list

SCAN_STATION_PERMISSION = "fulfillment.use_scan_station"


def _my_stores(user):
    return locations_for_staff(user).active().exclude(kind=Location.Kind.WAREHOUSE)


def _station(request) -> str:
    return f"{request.user.pk}:{request.META.get('REMOTE_ADDR', '')}"


@staff_member_required
@permission_required(SCAN_STATION_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def scan_station(request):
    stores = list(_my_stores(request.user).order_by("name"))
    chosen = request.POST.get("store") or request.GET.get("store") or request.session.get("scan_store")
    store = next((s for s in stores if s.code == chosen), stores[0] if len(stores) == 1 else None)
    found, error, code = None, None, request.POST.get("code", "").strip()
    if request.method == "POST" and store is not None:
        request.session["scan_store"] = store.code
        try:
            found = services.pickup_find_at_station(scanned=code, location=store, station=_station(request))
            if request.POST.get("action") == "hand_over":
                services.pickup_collect(fulfillment=found, code=code, actor=request.user)
                messages.success(request, f"Order {found.order.number} handed over. Thank you!")
                return redirect(f"{request.path}?store={store.code}")
        except DomainError as refusal:
            error, found = refusal.message, None
    elif request.method == "POST":
        error = "Choose the store this counter is in."
    status = 429 if error and "Too many wrong codes" in error else (409 if error else 200)
    return render(request, "fulfillment/scan_station.html", {
        "stores": stores, "store": store, "found": found, "error": error, "code": code if error else "",
        "lines": [fl.order_line for fl in found.lines.select_related("order_line")] if found else [],
    }, status=status)


@staff_member_required
@permission_required(SCAN_STATION_PERMISSION, raise_exception=True)
def pick_list_page(request, code: str):
    store = _my_stores(request.user).filter(code=code).first()
    if store is None:
        return render(request, "fulfillment/pick_list.html", {"error": f"You do not work at {code}."}, status=404)
    queue = list(fulfillment_queue(user=request.user, location=store).filter(status__in=["new", "picking"]))
    return render(request, "fulfillment/pick_list.html", {"store": store, "fulfillments": queue,
                                                          "departments": pick_list(fulfillments=queue)})
