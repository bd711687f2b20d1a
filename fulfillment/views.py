"""The pickup counter (scan station) and printable pick lists: staff pages for the counter and the stockroom.

The cursor sits in one input; a USB scanner types the code (or the QR's text) and Enter, a phone's camera
reads the QR, or staff type the order number or the customer's name, email or phone; the order shows, one
button hands it over. Beside it the counter lists who says they are here now (refreshing itself) and today's
collection windows; a transfer number (T12) opens the transfer to receive it. Every page needs
fulfillment.use_scan_station (pickup staff have it, and so do store staff and managers); a user without it gets
403. Receiving a transfer also needs what receiving one in the back office needs (TRANSFER_PERMISSIONS).
"""
import re
import uuid
from itertools import groupby

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods

from core.exceptions import DomainError
from inventory.models import Location, Transfer
from inventory.selectors import locations_for_staff
from inventory.services import transfer_receive
from orders.services import amount_due

from . import services, steps
from .collection import arrivals_at, pickups_by_window
from .exceptions import PickupRefused
from .models import Fulfillment
from .selectors import (
    TRANSFER_SAID,
    coming_on_transfers,
    counter_said,
    counter_search,
    counter_waiting,
    due_soon,
    fulfillment_queue,
    pick_list,
    pickup_brought_by,
    transfer_label,
    transfer_number,
    transfer_to_receive,
    transfers_said,
    waiting_transfers,
    who_collects,
)
from .steps import next_steps

RETURN_CODE = re.compile(r"RT[A-Z0-9]{6}")

SCAN_STATION_PERMISSION = "fulfillment.use_scan_station"
# What receiving a transfer asks in the back office: working on transfers, and the stock permission its
# "Receive" action needs (inventory.admin.common.STOCK_PERMISSION). Store managers have both.
TRANSFER_PERMISSIONS = ("inventory.change_transfer", "inventory.add_stockmovement")
HERE_NOW_REFRESH_SECONDS = 5
Status = Fulfillment.Status


def _my_stores(user):
    return locations_for_staff(user).active().exclude(kind=Location.Kind.WAREHOUSE)


def _station(request) -> str:
    return f"{request.user.pk}:{request.META.get('REMOTE_ADDR', '')}"


def _station_store(request, stores: list[Location]) -> Location | None:
    """The store this counter is in: the one chosen (remembered for the session), or the user's only one."""
    chosen = request.POST.get("store") or request.GET.get("store") or request.session.get("scan_store")
    store = next((s for s in stores if s.code == chosen), stores[0] if len(stores) == 1 else None)
    if store is not None:
        request.session["scan_store"] = store.code
    return store


def _names_a_transfer(query: str) -> int | None:
    """The transfer a counter's one field names ("T12", "TRANSFER-12"); never a possible pickup code."""
    code = services.normalise_code(query)
    if len(code) == services.CODE_LENGTH and set(code) <= set(services.CODE_ALPHABET):
        return None
    return transfer_number(query, prefixed=True)


@staff_member_required
@permission_required(SCAN_STATION_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def scan_station(request):
    """Find a pickup (scanned QR, typed code, order number, customer name, email or phone), check it, hand it
    over. A return code goes to the returns desk, a transfer number to receiving it."""
    stores = list(_my_stores(request.user).order_by("name"))
    store = _station_store(request, stores)
    query = (request.POST.get("code") or request.GET.get("q") or "").strip()
    found, matches, error = None, [], None
    if request.method == "POST" and store is None:
        error = "Choose the store this counter is in."
    elif store is not None and (request.method == "POST" or query or request.GET.get("open")):
        if RETURN_CODE.fullmatch(services.normalise_code(query)):
            return redirect(f"{reverse('return-desk')}?{urlencode({'store': store.code, 'q': query})}")
        if number := _names_a_transfer(query):
            named = {"store": store.code, "number": transfer_label(number)}
            return redirect(f"{reverse('scan-transfer')}?{urlencode(named)}")
        try:
            if request.POST.get("action") == "hand_over":
                handed = _hand_over(request, store)
                messages.success(request, f"Order {handed.order.number} handed over. Thank you!")
                return redirect(f"{request.path}?store={store.code}")
            found, matches = _find(request, store, query)
        except DomainError as refusal:
            error = refusal.message
    status = 429 if error and "Too many wrong codes" in error else (409 if error else 200)
    waiting = counter_waiting(location=store) if store else []
    return render(request, "fulfillment/scan_station.html", {
        "stores": stores, "store": store, "found": _with_who([found])[0] if found else None,
        "matches": _with_who(matches), "error": error, "code": query,
        "lines": [fl.order_line for fl in found.lines.select_related("order_line")] if found else [],
        "to_take": amount_due(order=found.order) if found else None,  # what is owed for the units not cancelled
        "waiting": [(f, due_soon(f)) for f in _with_who(waiting)],
        **(_here_now_context(store) if store else {}),
        "windows": _windows_today(store) if store else [],
    }, status=status)


def _with_who(pickups) -> list[Fulfillment]:
    """The pickups, each with `.who`: the customer, or "Bob Smith collecting for Ada Lovelace"."""
    pickups = list(pickups)
    for pickup in pickups:
        pickup.who = who_collects(pickup.order)
    return pickups


def _here_now_context(store: Location) -> dict:
    """The "Here now" panel: shoppers who said they are here, oldest first, with who collects, where the order
    waits and how long they have waited (whole minutes)."""
    now = timezone.now()
    arrivals = _with_who(arrivals_at(store).select_related("order__customer"))
    for pickup in arrivals:
        pickup.waited = max(0, int((now - pickup.arrived_at).total_seconds() // 60))
    return {"arrivals": arrivals, "now": now, "refresh_every": HERE_NOW_REFRESH_SECONDS}


def _windows_today(store: Location) -> list[dict]:
    """Today's open pickups by the collection window their shopper booked: the window, its pickups (each with
    who collects and its status in words) and how many are ready."""
    pickups = _with_who(pickups_by_window(store, timezone.localdate()).select_related("order__customer"))
    windows = []
    for window, booked in groupby(pickups, key=lambda f: f.order.collect_window):
        booked = list(booked)
        for pickup in booked:
            pickup.said = counter_said(pickup)
        ready = sum(pickup.status == Status.READY for pickup in booked)
        windows.append({"window": window, "pickups": booked, "ready": ready, "to_come": len(booked) - ready})
    return windows


@staff_member_required
@permission_required(SCAN_STATION_PERMISSION, raise_exception=True)
@require_GET
def here_now(request):
    """The counter's "Here now" panel alone, for the page to poll (?store=CODE, a store the user works at)."""
    store = _my_stores(request.user).filter(code=request.GET.get("store", "")).first()
    if store is None:
        response = render(request, "fulfillment/_here_now.html", {"store": None}, status=404)
    else:
        response = render(request, "fulfillment/_here_now.html", {"store": store, **_here_now_context(store)})
    response["Cache-Control"] = "no-store"
    return response


MAX_UNITS = 99999
TRANSFER_PAGE = "fulfillment/transfer_receive.html"


@staff_member_required
@permission_required(SCAN_STATION_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def transfer_receive_page(request):
    """Receive a transfer by its number (T12, or 12) at the store it comes to: its lines, the order it brings
    units for, "Receive" (all as sent, or the units counted per line). Afterwards (?received=id): whether the
    pickup became ready, and where it was shelved. A refusal shows next to its field and changes nothing."""
    stores = list(_my_stores(request.user).order_by("name"))
    store = _station_store(request, stores)
    typed = (request.POST.get("number") or request.GET.get("number") or "").strip()
    context = {"stores": stores, "store": store, "number": typed,
               "can_receive": request.user.has_perms(TRANSFER_PERMISSIONS)}
    if store is None:
        if typed or request.method == "POST":
            return render(request, TRANSFER_PAGE, {**context, "error": "Choose the store this counter is in."},
                          status=409)
        return render(request, TRANSFER_PAGE, context)
    if request.method == "POST" and request.POST.get("action") == "shelve":
        return _shelve(request, store, context)
    if typed:
        return _receive(request, store, typed, context)
    return render(request, TRANSFER_PAGE, {**context, **_received_context(store, request.GET.get("received", ""))})


def _receive(request, store: Location, typed: str, context: dict):
    """Show the transfer `typed` names; on "Receive", receive it (units counted per line) and go to what it did."""
    try:
        transfer = transfer_to_receive(location=store, typed=typed)
    except DomainError as refusal:
        return render(request, TRANSFER_PAGE, {**context, "error": refusal.message}, status=409)
    receiving = request.method == "POST" and request.POST.get("action") == "receive"
    lines = _transfer_lines(transfer)
    for line in lines:  # what the count fields show: the units sent, or what was just typed
        line.counted = request.POST.get(f"received-{line.pk}", line.quantity) if receiving else line.quantity
    pickup = pickup_brought_by(transfer)
    context.update(transfer=transfer, lines=lines, pickup=_with_who([pickup])[0] if pickup else None,
                   number=transfer_label(transfer.pk))
    if not receiving:
        return render(request, TRANSFER_PAGE, context)
    if not context["can_receive"]:
        return render(request, TRANSFER_PAGE, {**context, "error": "Your role cannot receive transfers: ask a store "
                                                                   "manager to receive it. Nothing was changed."},
                      status=403)
    try:
        done = transfer_receive(transfer=transfer, received=_counted(request.POST, lines), actor=request.user)
    except DomainError as refusal:
        line = refusal.detail.get("line")
        wrong = {"line_error": {"line": line, "message": refusal.message}} if line else {"error": refusal.message}
        return render(request, TRANSFER_PAGE, {**context, **wrong}, status=409)
    messages.success(request, f"Transfer {transfer_label(done.pk)} received at {store.name}.")
    return redirect(f"{request.path}?{urlencode({'store': store.code, 'received': done.pk})}")


def _transfer_lines(transfer: Transfer) -> list:
    return list(transfer.lines.select_related("variant__product").order_by("variant__sku"))


def _counted(data, lines) -> dict[int, int]:
    """{variant id: units that arrived} from the posted counts (received-<line id>); a blank count is the
    units sent. Refused, naming the line, when a count is not a whole number 0 or more."""
    counted = {}
    for line in lines:
        value = str(data.get(f"received-{line.pk}") or "").strip()
        if not value:
            counted[line.variant_id] = line.quantity
        elif value.isascii() and value.isdigit() and int(value) <= MAX_UNITS:
            counted[line.variant_id] = int(value)
        else:
            raise PickupRefused(f"{line.variant.sku}: give the units that arrived as a whole number, 0 or more.",
                                field="received", line=line.pk)
    return counted


def _received_context(store: Location, transfer_id: str) -> dict:
    """What became of a transfer received here: its lines, sent and received, and the pickup it brought units
    for: ready (then where is it shelved?) or what it still waits for."""
    if not (transfer_id.isascii() and transfer_id.isdigit() and len(transfer_id) <= 12):
        return {}
    received = (Transfer.objects.filter(pk=int(transfer_id), destination=store, status=Transfer.Status.RECEIVED)
                .select_related("source").first())
    if received is None:
        return {}
    lines = _transfer_lines(received)
    pickup = pickup_brought_by(received)
    return {"received": received, "lines": lines, "pickup": _with_who([pickup])[0] if pickup else None,
            "still_waiting": transfers_said(services.waiting_for(pickup)) if pickup else "",
            "short": [line for line in lines if (line.received_quantity or 0) < line.quantity]}


def _shelve(request, store: Location, context: dict):
    """Put the pickup a received transfer readied on the shelf staff name, and come back to the transfer."""
    posted, transfer_id = request.POST.get("fulfillment", ""), request.POST.get("transfer", "")
    pickup = Fulfillment.objects.filter(
        location=store, method=Fulfillment.Method.PICKUP,
        pk=int(posted) if posted.isascii() and posted.isdigit() and len(posted) <= 18 else 0).first()
    try:
        if pickup is None:
            raise PickupRefused("That order is not collected at this store.", field="shelf")
        shelved = services.fulfillment_shelve(fulfillment=pickup, shelf=request.POST.get("shelf", ""),
                                              actor=request.user)
    except DomainError as refusal:
        return render(request, TRANSFER_PAGE, {**context, **_received_context(store, transfer_id),
                                               "shelf_error": refusal.message, "shelf": request.POST.get("shelf", "")},
                      status=409)
    messages.success(request, f"Order {shelved.order.number} is on shelf {shelved.shelf}." if shelved.shelf
                     else f"Order {shelved.order.number} is not on a shelf.")
    return redirect(f"{request.path}?{urlencode({'store': store.code, 'received': transfer_id})}")


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
    queue = list(fulfillment_queue(user=request.user, location=store).filter(status__in=["new", "picking"])
                 .prefetch_related(Prefetch("transfers", queryset=Transfer.objects.select_related("source"))))
    return render(request, "fulfillment/pick_list.html", {
        "store": store, "departments": pick_list(fulfillments=queue), "coming": coming_on_transfers(fulfillments=queue),
        "fulfillments": [(f, next_steps(f), _waiting_said(f)) for f in _with_who(queue)],
        "can_step": can_step, "problem": problem, "key": uuid.uuid4().hex}, status=status)


def _waiting_said(fulfillment: Fulfillment) -> str:
    """What a pickup on the pick list still waits for: "transfer T12 from Daventry DC (on its way)"."""
    waiting = waiting_transfers(fulfillment)
    if not waiting:
        return ""
    return "; ".join(f"{transfers_said([t])} ({TRANSFER_SAID[t.status]})" for t in waiting)
