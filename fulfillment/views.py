"""The pickup counter (scan station) and printable pick lists: staff pages for the counter and the stockroom.

The cursor sits in one input; a USB scanner types the code (or the QR's text) and Enter, a phone's camera
reads the QR, or staff type the order number or the customer's name, email or phone; the order shows, one
button hands it over. Both pages need fulfillment.use_scan_station (pickup staff have it, and so do store
staff and managers); a user without it gets 403.
"""
import re
import uuid

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from core.exceptions import DomainError
from inventory.models import Location
from inventory.selectors import locations_for_staff
from orders.services import amount_due

from . import services, steps
from .exceptions import PickupRefused
from .models import Fulfillment
from .selectors import counter_search, counter_waiting, due_soon, fulfillment_queue, pick_list
from .steps import next_steps

RETURN_CODE = re.compile(r"RT[A-Z0-9]{6}")

SCAN_STATION_PERMISSION = "fulfillment.use_scan_station"


def _my_stores(user):
    return locations_for_staff(user).active().exclude(kind=Location.Kind.WAREHOUSE)


def _station(request) -> str:
    return f"{request.user.pk}:{request.META.get('REMOTE_ADDR', '')}"


@staff_member_required
@permission_required(SCAN_STATION_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def scan_station(request):
    """Find a pickup (scanned QR, typed code, order number, customer name, email or phone), check it, hand it
    over. A return code goes to the returns desk."""
    stores = list(_my_stores(request.user).order_by("name"))
    chosen = request.POST.get("store") or request.GET.get("store") or request.session.get("scan_store")
    store = next((s for s in stores if s.code == chosen), stores[0] if len(stores) == 1 else None)
    query = (request.POST.get("code") or request.GET.get("q") or "").strip()
    found, matches, error = None, [], None
    if store is not None:
        request.session["scan_store"] = store.code
    if request.method == "POST" and store is None:
        error = "Choose the store this counter is in."
    elif store is not None and (request.method == "POST" or query or request.GET.get("open")):
        if RETURN_CODE.fullmatch(services.normalise_code(query)):
            return redirect(f"{reverse('return-desk')}?{urlencode({'store': store.code, 'q': query})}")
        try:
            if request.POST.get("action") == "hand_over":
                handed = _hand_over(request, store)
                messages.success(request, f"Order {handed.order.number} handed over. Thank you!")
                return redirect(f"{request.path}?store={store.code}")
            found, matches = _find(request, store, query)
        except DomainError as refusal:
            error = refusal.message
    status = 429 if error and "Too many wrong codes" in error else (409 if error else 200)
    return render(request, "fulfillment/scan_station.html", {
        "stores": stores, "store": store, "found": found, "matches": matches, "error": error, "code": query,
        "lines": [fl.order_line for fl in found.lines.select_related("order_line")] if found else [],
        "to_take": amount_due(order=found.order) if found else None,  # what is owed for the units not cancelled
        "waiting": [(f, due_soon(f)) for f in counter_waiting(location=store)] if store else [],
    }, status=status)


def _find(request, store, query: str):
    """(the pickup to hand over, other matches): a scanned QR or typed code names one; a number, name, email
    or phone may name several (ready ones first). Opening one from the list (?open=id) shows it."""
    opened = request.GET.get("open", "")
    if opened.isdigit():
        return services.pickup_ready_here(fulfillment_id=int(opened), location=store), []
    station = _station(request)
    try:
        return services.pickup_find_at_station(scanned=query, location=store, station=station, count_wrong=False), []
    except PickupRefused as refused:
        if refused.detail.get("reason") != "unknown_code":
            raise
    matches = counter_search(location=store, query=query)
    if not matches:
        services.pickup_wrong_code_count(station=station)  # neither a code nor a name here: maybe a guess
        if len(services.normalise_code(query)) == services.CODE_LENGTH and " " not in query:
            raise PickupRefused("No order has that pickup code. Check the code with the shopper, or type the order "
                                "number or the name on the order.", reason="unknown_code")
        raise PickupRefused(f"No pickup at {store.name} matches “{query}”. Try the pickup code, the order number or "
                            "the name on the order.", reason="unknown_code")
    if len(matches) == 1 and matches[0].status == Fulfillment.Status.READY:
        return matches[0], []
    return None, matches


def _hand_over(request, store):
    """Hand over the pickup the counter opened (found by its code, or by name after checking who it is), or
    the one a code posted with the hand-over names."""
    fulfillment_id = request.POST.get("fulfillment", "")
    if fulfillment_id.isdigit():
        ready = services.pickup_ready_here(fulfillment_id=int(fulfillment_id), location=store)
    else:
        ready = services.pickup_find_at_station(scanned=request.POST.get("code", ""), location=store,
                                                station=_station(request))
    return services.pickup_collect(fulfillment=ready, code=ready.pickup_code, actor=request.user)


PROBLEM_FIELDS = {"reason": "reason", "quantity": "units", "units": "units", "on_shelf": "on_shelf"}


@staff_member_required
@permission_required(SCAN_STATION_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def pick_list_page(request, code: str):
    """The store's units to pick, by department; a line that cannot be sent is reported from its row (a
    refusal shows next to the row's field)."""
    store = _my_stores(request.user).filter(code=code).first()
    if store is None:
        return render(request, "fulfillment/pick_list.html", {"error": f"You do not work at {code}."}, status=404)
    can_step = request.user.has_perm("fulfillment.change_fulfillment")
    problem, status = None, 200
    if request.method == "POST":
        posted = request.POST.get("fulfillment", "")
        fulfillment = Fulfillment.objects.for_staff(request.user).filter(
            location=store, pk=int(posted) if posted.isascii() and posted.isdigit() and len(posted) <= 18 else 0
        ).select_related("order").first()
        try:
            if not can_step:
                raise PickupRefused("Your role cannot report problems with orders.", field="line")
            if fulfillment is None:
                raise PickupRefused("That order is no longer on this store's list.", field="line")
            messages.success(request, f"{fulfillment.order.number}: {steps.problem_report(fulfillment=fulfillment, data=request.POST, actor=request.user)}")
            return redirect(request.path)
        except DomainError as refusal:
            status = 409
            problem = {"fulfillment": request.POST.get("fulfillment"), "line": request.POST.get("line"),
                       "field": PROBLEM_FIELDS.get(refusal.detail.get("field"), "general"), "message": refusal.message}
    queue = list(fulfillment_queue(user=request.user, location=store).filter(status__in=["new", "picking"]))
    return render(request, "fulfillment/pick_list.html", {
        "store": store, "fulfillments": [(f, next_steps(f)) for f in queue], "departments": pick_list(fulfillments=queue),
        "can_step": can_step, "problem": problem, "key": uuid.uuid4().hex}, status=status)
